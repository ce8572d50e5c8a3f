import type { TenantDeps } from '../tenants/tenant-deps';

/**
 * Offboarding a tenant (issue 13.2): an ordered list of named steps, each recorded as done in the tenant's
 * row of `tenants.tenant_offboardings` once it finished, so a second call after a crash skips what is done.
 * A step may run again when the process died after its work and before its record: every step is idempotent.
 */
export interface OffboardRequest {
  dry_run: boolean;
  /** BigQuery only: `gs://bucket[/path]` the extract jobs write under (default OFFBOARD_EXPORT_URI). */
  export_uri?: string;
}

export interface ExportedTable {
  table: string;
  rows: number;
  /** File path (embedded) or gs:// URI (BigQuery). */
  destination: string;
}

/** What one step's run contributed: a line for the answer, tables exported, things deleted (counts by kind; see also `record`). */
export interface StepOutput {
  detail: string;
  exported?: ExportedTable[];
  deleted?: Record<string, number>;
}

/** What one step is given. `exportLocation` is fixed when the offboarding starts and kept for every resume. */
export interface OffboardContext {
  tenantId: string;
  offboardId: string;
  exportLocation: string;
  deps: OffboardDeps;
  /**
   * Adds deletion counts to the progress row at once. For a step that deletes in parts: a part done before a
   * crash is counted then, and finds nothing left when the step runs again, so totals stay right.
   */
  record(deleted: Record<string, number>): Promise<void>;
}

export interface OffboardStep {
  name: string;
  /** Does the step's work; idempotent (see above). */
  run(ctx: OffboardContext): Promise<StepOutput>;
  /** Dry run: says what `run` would do, reading only. */
  plan(ctx: OffboardContext): Promise<string>;
}

/** The run machinery offboarding reuses (wired in src/system/offboarding-services.ts). */
export interface OffboardRuns {
  /** Ids of the tenant's runs that are not terminal yet (PENDING or RUNNING). */
  liveRunIds(tenantId: string): Promise<string[]>;
  /** The normal cancel (RunService.cancelRun): waiting job removed, running one aborted; rows written CANCELLED. */
  cancel(tenantId: string, runId: string): Promise<string>;
  /** Waiting runs of the tenant still in the deferred queue: removed, count returned. */
  dropDeferred(tenantId: string): Promise<number>;
  /**
   * Waits (bounded) until the final warehouse rows of these runs are written, wherever their worker runs: this
   * process's log writer is flushed, other processes' writes are seen through the run-log outbox. Returns how
   * many are still unconfirmed.
   */
  settleLogs(tenantId: string, runIds: string[]): Promise<number>;
  /** The tenant's jobs BullMQ still retains (finished ones), removed; count returned. */
  removeQueueJobs(tenantId: string): Promise<number>;
}

/** The schedule operations offboarding reuses (the scheduler's own store, so the due index stays consistent). */
export interface OffboardSchedules {
  list(tenantId: string): Promise<Array<{ config_id: string; is_active: boolean }>>;
  disable(tenantId: string, configId: string): Promise<void>;
  remove(tenantId: string, configId: string): Promise<void>;
}

/** Test hooks: `afterStep` runs after a step's work and before it is recorded (a crash at the worst moment). */
export interface OffboardingFaults {
  afterStep?(name: string): void | Promise<void>;
}

export interface OffboardDeps {
  tenant: TenantDeps;
  runs: OffboardRuns;
  schedules: OffboardSchedules;
  /** Embedded: the directory exports go under (OFFBOARD_EXPORT_DIR). */
  exportDir: string;
  /** BigQuery: default gs:// URI (OFFBOARD_EXPORT_URI). */
  exportUri?: string;
  /** The steps, in order (default: defaultOffboardSteps()). */
  steps?: OffboardStep[];
  /** The tenant's webhook endpoints (issue 13.1); the webhook steps do nothing without it. */
  webhooks?: OffboardWebhooks;
  /** The tenant's backfills (issue 15); cancel_backfills does nothing without it. */
  backfills?: OffboardBackfills;
  faults?: OffboardingFaults;
}

export interface OffboardWebhooks {
  /** Ids of the tenant's endpoints that are active now. */
  activeIds(tenantId: string): Promise<string[]>;
  /** Disables every endpoint (idempotent); the ids it disabled. */
  disableAll(tenantId: string): Promise<string[]>;
  /** Deletes the endpoints' warehouse rows and every webhook key of the tenant (idempotent). */
  deleteAll(tenantId: string): Promise<{ redisKeysDeleted: number }>;
}

export interface OffboardBackfills {
  /** Ids of the tenant's ACTIVE backfills. */
  activeIds(tenantId: string): Promise<string[]>;
  /** The normal DELETE of a backfill: dates not started are cancelled (idempotent). */
  cancel(tenantId: string, backfillId: string): Promise<void>;
}

export type StepOutcome = 'done' | 'done_earlier' | 'would_run';

export interface StepReport {
  name: string;
  outcome: StepOutcome;
  detail: string;
}

/** The answer of POST /admin/tenants/{id}/offboard. */
export interface OffboardResult {
  tenant_id: string;
  offboard_id: string | null;
  status: 'COMPLETED' | 'DRY_RUN';
  dry_run: boolean;
  export_location: string;
  started_at: string | null;
  completed_at: string | null;
  steps: StepReport[];
  exported: ExportedTable[];
  deleted: Record<string, number>;
}
