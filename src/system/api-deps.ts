import type { Queue } from 'bullmq';
import type { Config } from '../config';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../observability/metrics';
import type { ReadinessChecks } from '../observability/readiness';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { ApiDeps } from '../api/deps';
import { createBullBoardMiddleware } from '../api/bull-board';
import { createRateLimiters } from '../api/middleware/rate-limit';
import { OPERATOR_QUERY_MAX_ROWS, runOperatorQuery } from '../warehouse/operator-query';
import type { Warehouse } from '../warehouse/types';
import type { TemplateRegistry } from '../pipelines/template-registry';
import { authenticate } from '../tenants/api-key-service';
import type { AuthCache } from '../tenants/auth-cache';
import type { OnboardingFaults } from '../tenants/onboarding';
import type { Seats } from '../tenants/seats';
import type { TenantDeps } from '../tenants/tenant-deps';
import { tenantOperations } from '../tenants/tenant-operations';
import type { AuditLog } from '../audit/audit-log';
import { listAudit } from '../audit/audit-query';
import type { RunServices } from './run-services';
import type { SchedulerServices } from './scheduler-services';
import type { Offboard } from './offboarding-services';
import type { BatchServices } from './batch-services';
import type { WebhookServices } from './webhook-services';

export interface ApiWiring {
  config: Config;
  version: string;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  adminApiKey: string;
  templates: TemplateRegistry;
  tenantDeps: TenantDeps;
  /** This API process's memory of recently authenticated keys (kept fresh by the auth-changes channel). */
  authCache: AuthCache;
  seats: Seats;
  runs: RunServices;
  scheduler: SchedulerServices;
  batches: BatchServices;
  maintenanceQueue: Queue;
  webhooks: WebhookServices;
  onboardingFaults?: OnboardingFaults;
  auditLog: AuditLog;
  /** POST /admin/tenants/{id}/offboard (src/system/offboarding-services.ts). */
  offboard: Offboard;
  readiness(): Promise<ReadinessChecks>;
  isShuttingDown(): boolean;
}

/** Wires the HTTP layer's dependencies: built only by a process that serves the API (and by tests that read the route table). */
export function buildApiDeps(w: ApiWiring): ApiDeps {
  const { config, metrics, runs } = w;
  const limiters = createRateLimiters({ redis: w.redis, keys: w.keys, limits: config.rateLimits, clock: w.clock });
  return {
    version: w.version,
    logger: w.logger,
    metrics,
    clock: w.clock,
    metricsRequireAdmin: config.metricsAuth === 'admin',
    // ROLE=api: the warehouse itself bounds every call by this (src/system/clients.ts), no per-request scope.
    warehouseTimeoutMs: config.role === 'api' ? null : config.apiWarehouseTimeoutMs,
    trustProxy: config.trustProxy,
    proxyHops: config.proxyHops,
    auth: {
      authenticate: (key, warehouseAllowed) => authenticate(w.tenantDeps, key, w.authCache, warehouseAllowed),
      adminApiKey: w.adminApiKey,
      disableAuth: config.auth.disableAuth,
      authFailures: limiters.authFailures,
      touchTeamMember: w.seats.member,
    },
    rateLimits: { perIp: limiters.perIp, perAdmin: limiters.perAdmin, perTenant: limiters.perTenant, perTenantRun: limiters.perTenantRun },
    readiness: w.readiness,
    isShuttingDown: w.isShuttingDown,
    beforeMetrics: async () => {
      for (const q of [runs.queue, w.maintenanceQueue, w.batches.queue, w.webhooks.queue()] as Queue[]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children');
        for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue: q.name, state }, n);
      }
      metrics.auditPending.set(await w.auditLog.pending());
    },
    tenants: tenantOperations(w.tenantDeps, w.seats, w.onboardingFaults),
    pipelines: {
      trigger: runs.trigger,
      listTemplates: () => w.templates.list().map((t) => ({ ...t, path: `/api/v1/pipelines/run/{tenant_id}/${t.provider}/${t.domain}/${t.name}` })),
      validate: (tenantId, provider, domain, name, params) => runs.validate(tenantId, provider, domain, name, params),
      getRun: (tenantId, runId) => runs.runService.getRun(tenantId, runId),
      listRuns: (tenantId, filters) => runs.runService.listRuns(tenantId, filters),
      cancelRun: (tenantId, runId, userId) => runs.runService.cancelRun(tenantId, runId, userId ? () => w.seats.member(tenantId, userId) : undefined),
    },
    scheduler: w.scheduler.api,
    offboard: w.offboard,
    batches: { backfills: w.batches.backfills, fanouts: w.batches.fanouts },
    webhooks: w.webhooks.operations,
    warehouseQuery: (sql) => runOperatorQuery(w.warehouse, sql, { maxRows: OPERATOR_QUERY_MAX_ROWS, ...config.adminQuery }),
    audit: { record: (entry) => w.auditLog.record(entry), list: (filters) => listAudit(w.warehouse, filters) },
    bullBoard: createBullBoardMiddleware({
      queues: [runs.queue, w.maintenanceQueue, w.batches.queue, w.webhooks.queue()],
      adminApiKey: w.adminApiKey,
      authFailures: limiters.authFailures,
      perIp: limiters.perIp,
      perAdmin: limiters.perAdmin,
      audit: w.auditLog,
    }),
  };
}
