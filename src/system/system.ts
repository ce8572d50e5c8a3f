import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Config, Role } from '../config';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { createMetrics } from '../observability/metrics';
import type { Metrics } from '../observability/metrics';
import { RedisKeys } from '../redis/keys';
import { createApp } from '../api/app';
import type { ApiDeps } from '../api/deps';
import { createBullBoardMiddleware } from '../api/bull-board';
import { createRateLimiters } from '../api/middleware/rate-limit';
import { resolveAdminKey } from '../security/admin-key';
import { OPERATOR_QUERY_MAX_ROWS, runOperatorQuery } from '../warehouse/operator-query';
import { loadTemplateRegistry } from '../pipelines/template-registry';
import { createRunLogWriter } from '../pipelines/run-log-writer';
import type { RunLogWriter } from '../pipelines/run-log-writer';
import { createMaintenanceQueue, syncMaintenanceSchedulers } from '../queues/maintenance';
import { RunLogOutbox } from '../queues/run-log-outbox';
import type { PipelineRunJob, RunStatus } from '../queues/pipeline-runs';
import { Admission } from '../tenants/admission';
import { authenticate } from '../tenants/api-key-service';
import { AuthCache } from '../tenants/auth-cache';
import { createAuthChanges, subscribeAuthChanges } from '../tenants/auth-invalidation';
import type { AuthChangesSubscription } from '../tenants/auth-invalidation';
import { bootstrapCentral } from '../tenants/bootstrap';
import type { OnboardingFaults } from '../tenants/onboarding';
import { loadPlans } from '../tenants/plans';
import { TeamAndProviders } from '../tenants/team-and-providers';
import { RecentTouches } from '../tenants/recent-touches';
import type { Seats } from './seats';
import type { TenantDeps } from '../tenants/tenant-deps';
import { createMaintenanceWorker } from '../workers/maintenance-worker';
import type { MaintenanceWorker } from '../workers/maintenance-worker';
import { PipelineWorker } from '../workers/pipeline-worker';
import { createClients } from './clients';
import type { ClientOverrides, Clients } from './clients';
import { buildRunServices } from './run-services';
import type { RunServices } from './run-services';
import { migrateLegacyRedisKeys } from './migrate-redis-keys';
import { buildSchedulerServices } from './scheduler-services';
import type { SchedulerServices } from './scheduler-services';
import { tenantApi } from './tenant-services';

export interface SystemOptions extends ClientOverrides {
  logger: Logger;
  clock?: Clock;
  version?: string;
  /** Test hooks for onboarding steps. */
  onboardingFaults?: OnboardingFaults;
  /** Flush interval of the warehouse log writer. */
  logFlushIntervalMs?: number;
}

/** One process's graph of clients and services; roles are started on it. */
export interface System {
  config: Config;
  clients: Clients;
  keys: RedisKeys;
  metrics: Metrics;
  adminApiKey: string;
  apiDeps: ApiDeps;
  runs: RunServices;
  scheduler: SchedulerServices;
  logWriter: RunLogWriter;
  outbox: RunLogOutbox;
  tenantDeps: TenantDeps;
  /** Starts the given role(s) in this process. */
  start(role: Role): Promise<void>;
  /** The HTTP server once the api role runs. */
  server(): http.Server | null;
  /** Graceful stop: stop accepting, finish or hand back in-flight runs, flush logs, close connections. */
  close(): Promise<void>;
}

export async function createSystem(config: Config, options: SystemOptions): Promise<System> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const keys = new RedisKeys(config.redis.keyPrefix);
  const metrics = createMetrics({ defaultMetrics: true });
  const admin = resolveAdminKey(config.auth.adminApiKey, config.auth.adminKeyPath);
  if (admin.generatedAt) logger.warn({ path: admin.generatedAt }, 'generated an admin key (ADMIN_API_KEY unset); read it from this file');
  const plans = loadPlans(config.configsDir);
  const templates = loadTemplateRegistry(config.configsDir);
  const clients = await createClients(config, logger, options);
  const { redis, warehouse } = clients;
  await migrateLegacyRedisKeys(redis, keys, logger);
  const tableScope = { kind: warehouse.kind, platformProjectId: config.warehouse.gcpProjectId };
  // The API's memory of recently authenticated keys, live only while the changes channel is subscribed (api role).
  const authCache = new AuthCache({ ttlMs: config.auth.cacheTtlMs });
  const authChanges = createAuthChanges({ redis, keys, cache: authCache, logger });
  const tenantDeps: TenantDeps = { warehouse, tableScope, redis, keys, keyManager: clients.keyManager, plans, clock, logger, authChanges };
  const admission = new Admission({ redis, keys, clock });
  const teamProviders = new TeamAndProviders({ redis, keys, clock });
  const recent = new RecentTouches();
  const seats: Seats = {
    provider: (tenantId, provider) => recent.touch(`p|${tenantId}|${provider}`, clock.now().getTime(), () => teamProviders.touchProvider(tenantId, provider)),
    member: (tenantId, userId) => recent.touch(`u|${tenantId}|${userId}`, clock.now().getTime(), () => teamProviders.touchTeamMember(tenantId, userId)),
    forgetProvider: (tenantId, provider) => recent.forget(`p|${tenantId}|${provider}`),
  };
  const outbox = new RunLogOutbox(redis, keys, logger);
  const logWriter = createRunLogWriter({
    warehouse,
    logger,
    clock,
    flushIntervalMs: options.logFlushIntervalMs ?? 500,
    onTerminalRunsWritten: (finished) => outbox.confirm(finished),
  });

  // The scheduler needs the trigger routine; the runs need the scheduler's after-run hook. Tie the knot lazily.
  let scheduler: SchedulerServices | undefined;
  const runs = buildRunServices({
    config, redis, bull: clients.bull, keys, warehouse, clock, logger, metrics, templates, plans, admission, seats, logWriter, outbox, tenantDeps,
    onRunFinished: (job: PipelineRunJob, status: RunStatus, durationMs: number | null) => scheduler?.onRunFinished(job, status, durationMs) ?? Promise.resolve(),
  });
  scheduler = buildSchedulerServices({
    redis, keys, warehouse, clock, logger, templates, seats, admission,
    runStore: runs.runStore, finaliser: runs.finaliser, queue: runs.queue, trigger: runs.trigger,
    reconcileLogs: (now) => outbox.reconcile({ runStore: runs.runStore, logWriter }, now),
  });
  const maintenanceQueue = createMaintenanceQueue(clients.bull, keys);
  const limiters = createRateLimiters({ redis, keys, limits: config.rateLimits, clock });

  let shuttingDown = false;
  const apiDeps: ApiDeps = {
    version: options.version ?? '0.1.0',
    logger,
    metrics,
    clock,
    metricsRequireAdmin: config.metricsAuth === 'admin',
    trustProxy: config.trustProxy,
    auth: {
      authenticate: (key) => authenticate(tenantDeps, key, authCache),
      adminApiKey: admin.key,
      disableAuth: config.auth.disableAuth,
      authFailures: limiters.authFailures,
      touchTeamMember: seats.member,
    },
    rateLimits: { perIp: limiters.perIp, perAdmin: limiters.perAdmin, perTenant: limiters.perTenant, perTenantRun: limiters.perTenantRun },
    readiness: async () => {
      const [redisOk, warehouseOk] = await Promise.all([
        redis.ping().then(() => true, () => false),
        warehouse.ping().then(() => true, () => false),
      ]);
      return { redis: redisOk, warehouse: warehouseOk };
    },
    isShuttingDown: () => shuttingDown,
    beforeMetrics: async () => {
      for (const q of [runs.queue, maintenanceQueue]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children');
        for (const [state, n] of Object.entries(counts)) metrics.queueDepth.set({ queue: q.name, state }, n);
      }
    },
    tenants: tenantApi(tenantDeps, seats, options.onboardingFaults),
    pipelines: {
      trigger: runs.trigger,
      listTemplates: () => templates.list().map((t) => ({ ...t, path: `/api/v1/pipelines/run/{tenant_id}/${t.provider}/${t.domain}/${t.name}` })),
      validate: (tenantId, provider, domain, name, params) => runs.validate(tenantId, provider, domain, name, params),
      getRun: (tenantId, runId) => runs.runService.getRun(tenantId, runId),
      listRuns: (tenantId, filters) => runs.runService.listRuns(tenantId, filters),
      cancelRun: (tenantId, runId) => runs.runService.cancelRun(tenantId, runId),
    },
    scheduler: scheduler.api,
    warehouseQuery: async (sql) => ({ ...(await runOperatorQuery(warehouse, sql, { maxRows: OPERATOR_QUERY_MAX_ROWS, ...config.adminQuery })) }),
    bullBoard: createBullBoardMiddleware({ queues: [runs.queue, maintenanceQueue], adminApiKey: admin.key, authFailures: limiters.authFailures, perIp: limiters.perIp, perAdmin: limiters.perAdmin }),
  };

  let server: http.Server | null = null;
  let pipelineWorker: PipelineWorker | null = null;
  let maintenanceWorker: MaintenanceWorker | null = null;
  let authSubscription: AuthChangesSubscription | null = null;
  const schedulerRef = scheduler;

  return {
    config, clients, keys, metrics, adminApiKey: admin.key, apiDeps, runs, scheduler: schedulerRef, logWriter, outbox, tenantDeps,
    server: () => server,
    async start(role) {
      if (role === 'all' || role === 'api') {
        await bootstrapCentral({ warehouse });
        authSubscription = await subscribeAuthChanges({ subscriber: clients.subscriber, keys, cache: authCache, logger });
        const app = createApp(apiDeps);
        server = http.createServer(app.callback());
        server.keepAliveTimeout = 65_000;
        await new Promise<void>((resolve) => server?.listen(config.port, config.host, resolve));
        logger.info({ port: (server.address() as AddressInfo).port }, 'api listening');
      }
      if (role === 'all' || role === 'worker') {
        pipelineWorker = new PipelineWorker({
          connection: clients.bull, subscriber: clients.subscriber, keys, runStore: runs.runStore, logger, clock,
          concurrency: config.worker.concurrency, lockDurationMs: config.worker.lockDurationMs, finaliser: runs.finaliser, execute: runs.execute,
        });
        await pipelineWorker.waitUntilReady();
        logger.info({ concurrency: config.worker.concurrency }, 'pipeline worker started');
      }
      if (role === 'all' || role === 'scheduler') {
        await syncMaintenanceSchedulers(maintenanceQueue, config.scheduler.mode);
        maintenanceWorker = createMaintenanceWorker({ connection: clients.bull, keys, routines: schedulerRef.routines, clock, logger });
        logger.info({ mode: config.scheduler.mode }, 'scheduler started');
      }
    },
    async close() {
      shuttingDown = true;
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
        });
      }
      await pipelineWorker?.close(config.shutdownTimeoutMs);
      await maintenanceWorker?.close();
      await logWriter.close();
      authSubscription?.close();
      await Promise.allSettled([runs.queue.close(), maintenanceQueue.close()]);
      await clients.close();
    },
  };
}
