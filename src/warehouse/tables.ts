import type { ColumnSchema, TableSpec } from './types';

/**
 * Table layout of SPEC §4. State that changes over time is stored as append-only `<name>_events`
 * rows (full snapshots) and read through a view `<name>` keeping the latest row per key, because
 * BigQuery cannot UPDATE rows still in its streaming buffer. Writers never UPDATE on the hot path.
 */
export interface StateTable {
  /** The name users query (a view). The rows live in `${name}_events`. */
  name: string;
  columns: ColumnSchema[];
  key: string[];
  partitionBy?: { column: string };
  clusterBy?: string[];
  /** A BOOL column whose latest value true hides the key from the view (deletion). */
  tombstone?: string;
  /** Columns added after the table first shipped; ensureStateTable adds them to an events table created before. */
  addedColumns?: ColumnSchema[];
}

/** Columns every events table carries: when the snapshot was written, and an ordinal that breaks ties. */
export const EVENT_COLUMNS: ColumnSchema[] = [
  { name: 'event_time', type: 'TIMESTAMP', mode: 'REQUIRED' },
  { name: 'event_seq', type: 'INT64', mode: 'REQUIRED' },
];

const col = (name: string, type: ColumnSchema['type'], mode?: ColumnSchema['mode']): ColumnSchema =>
  mode ? { name, type, mode } : { name, type };

export const eventsTableName = (t: StateTable): string => `${t.name}_events`;

export const eventsTableSpec = (t: StateTable): TableSpec => ({
  columns: [...t.columns, ...EVENT_COLUMNS],
  ...(t.partitionBy ? { partitionBy: t.partitionBy } : {}),
  clusterBy: t.clusterBy ?? t.key.slice(0, 4),
});

/** SQL of the latest-row view, valid on both warehouses. */
export function latestViewSql(dataset: string, t: StateTable): string {
  const cols = t.columns.map((c) => c.name).join(', ');
  const latest =
    `SELECT ${cols} FROM \`${dataset}.${eventsTableName(t)}\` WHERE TRUE ` +
    `QUALIFY ROW_NUMBER() OVER (PARTITION BY ${t.key.join(', ')} ORDER BY event_seq DESC, event_time DESC) = 1`;
  return t.tombstone ? `SELECT ${cols} FROM (${latest}) WHERE ${t.tombstone} IS NOT TRUE` : latest;
}

// --- dataset `tenants` --------------------------------------------------------------------------

export const CENTRAL_DATASET = 'tenants';
export const CUSTOMERS_DATASET = 'customers';

export const tenantProfiles: StateTable = {
  name: 'tenant_profiles',
  key: ['tenant_id'],
  columns: [
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('company_name', 'STRING'),
    col('admin_email', 'STRING'),
    col('status', 'STRING'),
    col('subscription_plan', 'STRING'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

export const tenantApiKeys: StateTable = {
  name: 'tenant_api_keys',
  key: ['key_id'],
  clusterBy: ['tenant_id', 'key_id'],
  columns: [
    col('key_id', 'STRING', 'REQUIRED'),
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('key_hash', 'STRING'),
    col('encrypted_key', 'BYTES'),
    col('key_prefix', 'STRING'),
    col('is_active', 'BOOL'),
    col('expires_at', 'TIMESTAMP'),
    col('created_at', 'TIMESTAMP'),
    col('revoked_at', 'TIMESTAMP'),
    col('last_used_at', 'TIMESTAMP'),
  ],
};

export const tenantSubscriptions: StateTable = {
  name: 'tenant_subscriptions',
  key: ['tenant_id'],
  columns: [
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('plan_name', 'STRING'),
    col('status', 'STRING'),
    col('daily_limit', 'INT64'),
    col('monthly_limit', 'INT64'),
    col('concurrent_limit', 'INT64'),
    col('team_limit', 'INT64'),
    col('provider_limit', 'INT64'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

export const tenantUsageQuotas: StateTable = {
  name: 'tenant_usage_quotas',
  key: ['tenant_id', 'usage_date'],
  partitionBy: { column: 'usage_date' },
  clusterBy: ['tenant_id'],
  columns: [
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('usage_date', 'DATE', 'REQUIRED'),
    col('pipelines_run_today', 'INT64'),
    col('pipelines_succeeded_today', 'INT64'),
    col('pipelines_failed_today', 'INT64'),
    col('pipelines_run_month', 'INT64'),
    col('concurrent_pipelines_running', 'INT64'),
    col('daily_limit', 'INT64'),
    col('monthly_limit', 'INT64'),
    col('concurrent_limit', 'INT64'),
    col('last_updated', 'TIMESTAMP'),
  ],
};

/** Provider settings and encrypted credentials (never returned by the API). */
export const tenantProviders: StateTable = {
  name: 'tenant_providers',
  key: ['tenant_id', 'provider'],
  tombstone: 'is_deleted',
  columns: [
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('provider', 'STRING', 'REQUIRED'),
    col('settings', 'JSON'),
    col('encrypted_credentials', 'BYTES'),
    col('is_deleted', 'BOOL'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

// --- dataset `customers` ------------------------------------------------------------------------

export const customerPipelineConfigs: StateTable = {
  name: 'customer_pipeline_configs',
  key: ['config_id'],
  tombstone: 'is_deleted',
  clusterBy: ['tenant_id', 'config_id'],
  columns: [
    col('config_id', 'STRING', 'REQUIRED'),
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('provider', 'STRING'),
    col('domain', 'STRING'),
    col('pipeline_template', 'STRING'),
    col('schedule_cron', 'STRING'),
    col('timezone', 'STRING'),
    col('is_active', 'BOOL'),
    col('parameters', 'JSON'),
    col('overlap_policy', 'STRING'),
    col('misfire_policy', 'STRING'),
    col('next_run_time', 'TIMESTAMP'),
    col('last_run_time', 'TIMESTAMP'),
    col('last_run_status', 'STRING'),
    col('is_deleted', 'BOOL'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

export const pipelineExecutionQueue: StateTable = {
  name: 'pipeline_execution_queue',
  key: ['queue_id'],
  clusterBy: ['tenant_id', 'state'],
  columns: [
    col('queue_id', 'STRING', 'REQUIRED'),
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('config_id', 'STRING'),
    col('pipeline_id', 'STRING'),
    col('scheduled_time', 'TIMESTAMP'),
    col('state', 'STRING'),
    col('pipeline_logging_id', 'STRING'),
    col('enqueued_at', 'TIMESTAMP'),
    col('started_at', 'TIMESTAMP'),
  ],
};

export const scheduledPipelineRuns: StateTable = {
  name: 'scheduled_pipeline_runs',
  key: ['config_id', 'scheduled_time'],
  partitionBy: { column: 'scheduled_time' },
  clusterBy: ['tenant_id', 'config_id'],
  columns: [
    col('config_id', 'STRING', 'REQUIRED'),
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('scheduled_time', 'TIMESTAMP', 'REQUIRED'),
    col('state', 'STRING'),
    col('pipeline_logging_id', 'STRING'),
    col('reason', 'STRING'),
    col('recorded_at', 'TIMESTAMP'),
  ],
};

/** Backfills (issue 15): one snapshot per change; `dates` maps each date to its state and run id. */
export const customerBackfills: StateTable = {
  name: 'backfills',
  key: ['backfill_id'],
  clusterBy: ['tenant_id', 'backfill_id'],
  columns: [
    col('backfill_id', 'STRING', 'REQUIRED'),
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('pipeline_id', 'STRING'),
    col('parameters', 'JSON'),
    col('start_date', 'DATE'),
    col('end_date', 'DATE'),
    col('max_parallel', 'INT64'),
    col('skip_completed', 'BOOL'),
    col('status', 'STRING'),
    col('counts', 'JSON'),
    col('dates', 'JSON'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

/** Admin fan-outs (issue 15): one snapshot per change; `tenants` maps each tenant to its outcome. */
export const customerFanouts: StateTable = {
  name: 'fanouts',
  key: ['fanout_id'],
  columns: [
    col('fanout_id', 'STRING', 'REQUIRED'),
    col('template', 'STRING'),
    col('selector', 'JSON'),
    col('parameters', 'JSON'),
    col('window_key', 'STRING'),
    col('spread_seconds', 'INT64'),
    col('counts', 'JSON'),
    col('tenants', 'JSON'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};
/** Cost guardrails (README "Cost guardrails"): added after tenants existed, so ensureStateTable adds them to old tables. */
const STEP_COST_COLUMNS: ColumnSchema[] = [col('bytes_billed', 'INT64'), col('estimated_cost_usd', 'FLOAT64')];
const COST_COLUMNS: ColumnSchema[] = [col('bytes_processed', 'INT64'), ...STEP_COST_COLUMNS];

// --- per-tenant dataset -------------------------------------------------------------------------

export const pipelineRuns: StateTable = {
  name: 'x_meta_pipeline_runs',
  key: ['pipeline_logging_id'],
  partitionBy: { column: 'event_time' },
  clusterBy: ['pipeline_id', 'pipeline_logging_id'],
  columns: [
    col('pipeline_logging_id', 'STRING', 'REQUIRED'),
    col('pipeline_id', 'STRING'),
    col('tenant_id', 'STRING'),
    col('user_id', 'STRING'),
    col('trigger_type', 'STRING'),
    col('status', 'STRING'),
    col('start_time', 'TIMESTAMP'),
    col('end_time', 'TIMESTAMP'),
    col('duration_ms', 'INT64'),
    col('parameters', 'JSON'),
    col('error_message', 'STRING'),
    col('worker_instance', 'STRING'),
    col('steps_total', 'INT64'),
    col('steps_done', 'INT64'),
    col('created_at', 'TIMESTAMP'),
    ...COST_COLUMNS,
  ],
  addedColumns: COST_COLUMNS,
};

export const stepLogs: StateTable = {
  name: 'x_meta_step_logs',
  key: ['pipeline_logging_id', 'step_name'],
  partitionBy: { column: 'event_time' },
  clusterBy: ['pipeline_logging_id'],
  columns: [
    col('pipeline_logging_id', 'STRING', 'REQUIRED'),
    col('step_name', 'STRING', 'REQUIRED'),
    col('step_type', 'STRING'),
    col('step_index', 'INT64'),
    col('status', 'STRING'),
    col('start_time', 'TIMESTAMP'),
    col('end_time', 'TIMESTAMP'),
    col('duration_ms', 'INT64'),
    col('rows_processed', 'INT64'),
    col('bytes_processed', 'INT64'),
    col('error_message', 'STRING'),
    col('attempt', 'INT64'),
    ...STEP_COST_COLUMNS,
  ],
  addedColumns: STEP_COST_COLUMNS,
};

/**
 * Data-quality results, one row per (run, step, check). Kept as events + latest view like the run logs, so
 * an execution re-delivered after a crash replaces its checks' rows instead of adding a second set.
 */
export const dqResults: StateTable = {
  name: 'x_meta_dq_results',
  key: ['pipeline_logging_id', 'step_name', 'check_name'],
  partitionBy: { column: 'event_time' },
  clusterBy: ['pipeline_logging_id', 'target_table'],
  columns: [
    col('pipeline_logging_id', 'STRING', 'REQUIRED'),
    col('step_name', 'STRING'),
    col('target_table', 'STRING'),
    col('check_name', 'STRING'),
    col('check_type', 'STRING'),
    col('severity', 'STRING'),
    col('passed', 'BOOL'),
    col('observed', 'JSON'),
    col('executed_at', 'TIMESTAMP', 'REQUIRED'),
    col('overall_status', 'STRING'),
  ],
};

/**
 * Offboarding progress (src/offboarding/), one row per tenant: the steps done, what was exported and deleted.
 * In the central dataset because offboarding deletes the tenant's dataset and every Redis key of it.
 */
export const tenantOffboardings: StateTable = {
  name: 'tenant_offboardings',
  key: ['tenant_id'],
  columns: [
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('offboard_id', 'STRING', 'REQUIRED'),
    col('status', 'STRING'),
    col('export_location', 'STRING'),
    col('progress', 'JSON'),
    col('started_at', 'TIMESTAMP'),
    col('completed_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

/** Webhook endpoints of a tenant (issue 13.1); signing secrets are encrypted with the key manager, never returned. */
export const tenantWebhooks: StateTable = {
  name: 'tenant_webhooks',
  key: ['tenant_id', 'webhook_id'],
  tombstone: 'is_deleted',
  columns: [
    col('tenant_id', 'STRING', 'REQUIRED'),
    col('webhook_id', 'STRING', 'REQUIRED'),
    col('url', 'STRING'),
    col('events', 'JSON'),
    col('is_active', 'BOOL'),
    col('disabled_reason', 'STRING'),
    col('encrypted_secret', 'BYTES'),
    col('previous_encrypted_secret', 'BYTES'),
    col('previous_secret_expires_at', 'TIMESTAMP'),
    col('is_deleted', 'BOOL'),
    col('created_at', 'TIMESTAMP'),
    col('updated_at', 'TIMESTAMP'),
  ],
};

export const CENTRAL_STATE_TABLES: StateTable[] = [tenantProfiles, tenantApiKeys, tenantSubscriptions, tenantUsageQuotas, tenantProviders, tenantOffboardings, tenantWebhooks];
export const CUSTOMER_STATE_TABLES: StateTable[] = [customerPipelineConfigs, pipelineExecutionQueue, scheduledPipelineRuns, customerBackfills, customerFanouts];
export const TENANT_STATE_TABLES: StateTable[] = [pipelineRuns, stepLogs, dqResults];
/** The names onboarding reports in `tables_created`, as the guide shows them. */
export const TENANT_META_TABLE_NAMES = ['x_meta_pipeline_runs', 'x_meta_step_logs', 'x_meta_dq_results'] as const;

// --- audit log (issue 13.3) ---------------------------------------------------------------------

/**
 * `tenants.audit_log`: append-only, one row per audited action (src/audit/). A log, not state, so no
 * events table + latest-row view: rows are never superseded. `audit_id` is the insert id, so a retried
 * append is de-duplicated by BigQuery and by the reader (a flush retried after a crash may repeat rows).
 */
export const AUDIT_LOG_TABLE = 'audit_log';
export const auditLogSpec: TableSpec = {
  columns: [
    col('audit_id', 'STRING', 'REQUIRED'),
    col('event_time', 'TIMESTAMP', 'REQUIRED'),
    col('actor', 'STRING', 'REQUIRED'),
    col('key_id', 'STRING'),
    col('user_id', 'STRING'),
    col('request_id', 'STRING'),
    col('tenant_id', 'STRING'),
    col('action', 'STRING', 'REQUIRED'),
    col('target', 'STRING'),
    col('outcome', 'STRING', 'REQUIRED'),
    col('outcome_code', 'STRING'),
    col('http_status', 'INT64'),
    col('source_ip', 'STRING'),
    col('details', 'JSON'),
  ],
  partitionBy: { column: 'event_time' },
  clusterBy: ['tenant_id', 'action'],
};
