import type Joi from 'joi';
import type { Middleware } from 'koa';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../observability/metrics';
import type { TriggerRun } from '../queues/pipeline-runs';
import type { RunListFilters } from '../queues/run-service';
import type { AuthDeps } from './middleware/auth';
import type { ApiState } from './types';

type Json = Record<string, unknown>;
type Now = (now: Date) => Promise<Json>;

/**
 * What the HTTP layer needs from the rest of the system. Routes only translate HTTP to these calls;
 * main.ts wires the real services in, tests may wire pieces of their own.
 */
export interface ApiDeps {
  version: string;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  metricsRequireAdmin: boolean;
  /** Client IPs (rate limits, failed-auth limits) come from X-Forwarded-For only when true. */
  trustProxy: boolean;
  auth: AuthDeps;
  rateLimits: { perIp: Middleware<ApiState>; perAdmin: Middleware<ApiState>; perTenant: Middleware<ApiState>; perTenantRun: Middleware<ApiState> };
  readiness(): Promise<Record<string, boolean>>;
  isShuttingDown(): boolean;
  /** Refreshes gauges (queue depth) right before /metrics is scraped. */
  beforeMetrics?(): Promise<void>;
  tenants: {
    onboardSchema: Joi.ObjectSchema;
    updateSchema: Joi.ObjectSchema;
    providerSchema: Joi.ObjectSchema;
    onboard(body: Json): Promise<Json>;
    dryRun(body: Json): Promise<Json>;
    get(tenantId: string): Promise<Json>;
    quota(tenantId: string): Promise<Json>;
    update(tenantId: string, patch: Json): Promise<Json>;
    issueKey(tenantId: string): Promise<Json>;
    revokeKey(keyId: string): Promise<Json>;
    rotateKey(tenantId: string, currentKeyId: string, graceSeconds: number): Promise<Json>;
    putProvider(tenantId: string, provider: string, body: Json): Promise<Json>;
    getProvider(tenantId: string, provider: string): Promise<Json>;
    deleteProvider(tenantId: string, provider: string): Promise<void>;
    bootstrap(): Promise<Json>;
    loadSampleData?(tenantId: string, options: Json): Promise<Json>;
  };
  pipelines: {
    trigger: TriggerRun;
    listTemplates(): Json[];
    validate(tenantId: string, provider: string, domain: string, templateName: string, parameters: Json): Promise<Json>;
    getRun(tenantId: string, runId: string): Promise<Json>;
    listRuns(tenantId: string, filters: RunListFilters): Promise<Json>;
    cancelRun(tenantId: string, runId: string): Promise<Json>;
  };
  scheduler: {
    createSchema: Joi.ObjectSchema;
    patchSchema: Joi.ObjectSchema;
    create(tenantId: string, body: Json): Promise<Json>;
    list(tenantId: string): Promise<Json[]>;
    get(tenantId: string, configId: string): Promise<Json>;
    patch(tenantId: string, configId: string, body: Json): Promise<Json>;
    remove(tenantId: string, configId: string): Promise<void>;
    trigger: Now;
    processQueue: Now;
    resetDailyQuotas: Now;
    cleanupOrphans: Now;
    status: Now;
  };
  /** Runs one read-only query (the guide's SQL) against the warehouse; admin only. */
  warehouseQuery(sql: string): Promise<Json>;
  /** Bull Board, mounted at /admin/queues behind HTTP basic auth. */
  bullBoard?: Middleware;
}
