import type { Middleware } from 'koa';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../observability/metrics';
import type { TriggerRun } from '../queues/pipeline-runs';
import type { Run } from '../pipelines/run';
import type { TemplateSummary } from '../pipelines/types';
import type { RunValidation } from '../pipelines/validate-run';
import type { CancelAnswer, RunListFilters, RunPage } from '../queues/run-service';
import type { SchedulerOperations } from '../scheduler/scheduler-operations';
import type { TenantOperations } from '../tenants/tenant-operations';
import type { WebhookOperations } from '../webhooks/webhook-operations';
import type { SandboxResult } from '../warehouse/types';
import type { AuditRecorder } from '../audit/actions';
import type { AuditFilters, AuditPage } from '../audit/audit-query';
import type { OffboardResult } from '../offboarding/types';
import type { BackfillService } from '../batches/backfill-service';
import type { FanoutService } from '../batches/fanout-service';
import type { AuthDeps } from './middleware/auth';
import type { ApiState } from './types';

/** A template as the listing shows it: its declaration and the path that runs it. */
export type TemplateListing = TemplateSummary & { path: string };

/** What the HTTP layer does with pipelines and runs. */
export interface PipelineOperations {
  trigger: TriggerRun;
  listTemplates(): TemplateListing[];
  validate(tenantId: string, provider: string, domain: string, templateName: string, parameters: Record<string, unknown>): Promise<RunValidation>;
  getRun(tenantId: string, runId: string): Promise<Run>;
  listRuns(tenantId: string, filters: RunListFilters): Promise<RunPage>;
  /** `userId` (X-User-ID) takes a team seat once the run is found and still live. */
  cancelRun(tenantId: string, runId: string, userId?: string): Promise<CancelAnswer>;
}

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
  /**
   * Each warehouse call a request makes takes at most this long, then 503 (API_WAREHOUSE_TIMEOUT_MS; default 30 s),
   * by a scope each request enters; null: no scope, the process's warehouse bounds every call by it (ROLE=api).
   */
  warehouseTimeoutMs?: number | null;
  /** Client IPs (rate limits, failed-auth limits) come from X-Forwarded-For only when true. */
  trustProxy: boolean;
  /** With trustProxy: the X-Forwarded-For entries (from the right) the trusted proxies appended (PROXY_HOPS). */
  proxyHops: number;
  auth: AuthDeps;
  rateLimits: { perIp: Middleware<ApiState>; perAdmin: Middleware<ApiState>; perTenant: Middleware<ApiState>; perTenantRun: Middleware<ApiState> };
  readiness(): Promise<Record<string, boolean>>;
  isShuttingDown(): boolean;
  /** Refreshes gauges (queue depth) right before /metrics is scraped. */
  beforeMetrics?(): Promise<void>;
  tenants: TenantOperations;
  pipelines: PipelineOperations;
  scheduler: SchedulerOperations;
  /** Offboards a tenant (suspend, cancel, export, delete, tombstone); idempotent and resumable. Absent: no route. */
  offboard?(tenantId: string, body: unknown): Promise<OffboardResult>;
  /** Backfills (tenant) and fan-outs (admin), issue 15; routes are listed only when given. */
  batches?: { backfills: Pick<BackfillService, 'create' | 'get' | 'cancel'>; fanouts: Pick<FanoutService, 'create' | 'get' | 'cancel'> };
  /** Tenant webhook endpoints and deliveries (issue 13.1); absent in tests that wire only other pieces. */
  webhooks?: WebhookOperations;
  /** Runs one read-only query (the guide's SQL) against the warehouse; admin only. */
  warehouseQuery(sql: string): Promise<SandboxResult>;
  /** The audit log: audited routes write it, the audit routes read it (tenants.audit_log). */
  audit: AuditRecorder & { list(filters: AuditFilters): Promise<AuditPage> };
  /** Bull Board, mounted at /admin/queues behind HTTP basic auth. */
  bullBoard?: Middleware;
}
