import Joi from 'joi';
import { STEP_STATUSES } from '../pipelines/types';
import { RUN_STATUSES } from '../queues/pipeline-runs';

/**
 * Joi schemas of the 2xx bodies, one per answer shape. They document responses in /openapi.json and a test
 * checks real answers against them (test/api/openapi-responses.test.ts), so an undocumented field fails.
 */
const iso = Joi.string().isoDate();
const isoOrNull = iso.allow(null);
const count = Joi.number().integer().min(0);
const nullableCount = count.allow(null);
const parameterValue = Joi.alternatives(Joi.string(), Joi.number(), Joi.boolean()).allow(null);
const parameters = Joi.object().pattern(Joi.string(), parameterValue);
const runStatus = Joi.string().valid(...RUN_STATUSES);

export const triggerAnswer = Joi.object({
  pipeline_logging_id: Joi.string().required(),
  pipeline_id: Joi.string().required(),
  tenant_id: Joi.string().required(),
  status: runStatus.required(),
});

export const validationAnswer = Joi.object({
  pipeline_id: Joi.string().required(),
  parameters: parameters.required(),
  valid: Joi.boolean().required(),
  problems: Joi.array().items(Joi.object({ step: Joi.string(), message: Joi.string().required() })).required(),
  steps: Joi.array().items(Joi.object({ id: Joi.string().required(), type: Joi.string().required(), sql: Joi.string(), estimated_bytes: Joi.number().allow(null) })).required(),
  estimated_bytes: Joi.number().min(0).allow(null).required(),
  fits_budget: Joi.boolean().allow(null).required(),
  max_bytes_billed_per_query: Joi.number().min(0).allow(null).required(),
  daily_bytes_budget: Joi.number().min(0).allow(null).required(),
  remaining_bytes_today: Joi.number().min(0).allow(null).required(),
});

const templateParameter = Joi.object({
  name: Joi.string().required(),
  type: Joi.string().required(),
  required: Joi.boolean().required(),
  default: parameterValue,
  values: Joi.array().items(Joi.alternatives(Joi.string(), Joi.number())),
  description: Joi.string(),
});

export const templatesAnswer = Joi.object({
  templates: Joi.array().items(Joi.object({
    provider: Joi.string().required(),
    domain: Joi.string().required(),
    name: Joi.string().required(),
    description: Joi.string().allow('').required(),
    version: Joi.string().required(),
    parameters: Joi.array().items(templateParameter).required(),
    path: Joi.string().required(),
  })).required(),
});

const stepBody = Joi.object({
  id: Joi.string().required(),
  type: Joi.string().required(),
  status: Joi.string().valid(...STEP_STATUSES).required(),
  attempt: count.required(),
  start_time: isoOrNull.required(),
  end_time: isoOrNull.required(),
  duration_ms: nullableCount.required(),
  rows_processed: nullableCount.required(),
  bytes_processed: nullableCount.required(),
  bytes_billed: nullableCount.required(),
  estimated_cost_usd: Joi.number().min(0).allow(null).required(),
  error_message: Joi.string().allow(null).required(),
});

const runSummaryFields = {
  pipeline_logging_id: Joi.string().required(),
  pipeline_id: Joi.string().required(),
  tenant_id: Joi.string().required(),
  user_id: Joi.string().allow(null).required(),
  trigger_type: Joi.string().valid('api', 'scheduler', 'backfill', 'fanout').required(),
  status: runStatus.required(),
  parameters: parameters.required(),
  created_at: iso.required(),
  start_time: isoOrNull.required(),
  end_time: isoOrNull.required(),
  duration_ms: nullableCount.required(),
  progress: Joi.object({ steps_done: count.required(), steps_total: count.required(), percent: Joi.number().min(0).max(100).required() }).required(),
  error_message: Joi.string().allow(null).required(),
};

export const runAnswer = Joi.object({ ...runSummaryFields, steps: Joi.array().items(stepBody).required() });
export const runPageAnswer = Joi.object({ runs: Joi.array().items(Joi.object(runSummaryFields)).required(), next_cursor: Joi.string().allow(null).required() });
export const cancelAnswer = Joi.object({ pipeline_logging_id: Joi.string().required(), status: Joi.string().valid(...RUN_STATUSES, 'CANCELLING').required() });

const subscription = Joi.object({
  plan_name: Joi.string().required(),
  status: Joi.string().required(),
  daily_limit: count.required(),
  monthly_limit: count.required(),
  concurrent_limit: count.required(),
  team_limit: count.required(),
  provider_limit: count.required(),
  created_at: iso.required(),
  updated_at: iso.required(),
});

export const tenantAnswer = Joi.object({
  tenant_id: Joi.string().required(),
  company_name: Joi.string().required(),
  admin_email: Joi.string().required(),
  status: Joi.string().required(),
  subscription_plan: Joi.string().required(),
  created_at: iso.required(),
  updated_at: iso.required(),
  subscription: subscription.allow(null).required(),
});

export const onboardAnswer = Joi.object({
  tenant_id: Joi.string().required(),
  api_key: Joi.string().allow(null).required(),
  subscription_plan: Joi.string().required(),
  dataset_created: Joi.boolean().required(),
  tables_created: Joi.array().items(Joi.string()).required(),
  message: Joi.string().required(),
});

export const dryRunAnswer = Joi.object({
  ready_for_onboarding: Joi.boolean().required(),
  checks: Joi.array().items(Joi.object({ name: Joi.string().required(), passed: Joi.boolean().required(), message: Joi.string().allow('').required() })).required(),
});

export const quotaAnswer = Joi.object({
  tenant_id: Joi.string().required(),
  plan: Joi.string().required(),
  usage_date: Joi.string().required(),
  pipelines_run_today: count.required(),
  daily_limit: count.required(),
  remaining_today: count.required(),
  pipelines_run_month: count.required(),
  monthly_limit: count.required(),
  remaining_month: count.required(),
  concurrent_pipelines_running: count.required(),
  concurrent_limit: count.required(),
  team_members: count.required(),
  team_limit: count.required(),
  providers_used: count.required(),
  provider_limit: count.required(),
  resets_at: iso.required(),
  bytes_billed_today: count.required(),
  daily_bytes_budget: count.required(),
  remaining_bytes_today: count.required(),
});

const keyFields = { tenant_id: Joi.string().required(), key_id: Joi.string().required(), api_key: Joi.string().required(), key_prefix: Joi.string().required(), created_at: iso.required() };
export const issuedKeyAnswer = Joi.object(keyFields);
export const rotatedKeyAnswer = Joi.object({ ...keyFields, previous_key_id: Joi.string().required(), previous_key_expires_at: iso.required() });
export const revokedKeyAnswer = Joi.object({ key_id: Joi.string().required(), tenant_id: Joi.string().required(), revoked_at: iso.required() });

export const providerAnswer = Joi.object({
  tenant_id: Joi.string().required(),
  provider: Joi.string().required(),
  settings: Joi.object().unknown(true).required(),
  has_credentials: Joi.boolean().required(),
  created_at: iso.required(),
  updated_at: iso.required(),
});

export const bootstrapAnswer = Joi.object({ datasets_created: Joi.array().items(Joi.string()).required(), tables_created: Joi.array().items(Joi.string()).required() });
export const sampleDataAnswer = Joi.object({ table: Joi.string().required(), rows: count.required(), from_date: Joi.string().required(), to_date: Joi.string().required() });
export const queryAnswer = Joi.object({ rows: Joi.array().items(Joi.object().unknown(true)).required(), truncated: Joi.boolean().required() });

export const scheduleAnswer = Joi.object({
  config_id: Joi.string().required(),
  tenant_id: Joi.string().required(),
  provider: Joi.string().required(),
  domain: Joi.string().required(),
  pipeline_template: Joi.string().required(),
  schedule_cron: Joi.string().required(),
  timezone: Joi.string().required(),
  is_active: Joi.boolean().required(),
  parameters: parameters.required(),
  overlap_policy: Joi.string().required(),
  misfire_policy: Joi.string().required(),
  last_run_time: isoOrNull.required(),
  last_run_status: Joi.string().allow(null).required(),
  created_at: iso.required(),
  updated_at: iso.required(),
  next_run_time: isoOrNull.required(),
  next_run_times: Joi.array().items(iso).required(),
});
export const scheduleListAnswer = Joi.object({ pipelines: Joi.array().items(scheduleAnswer).required() });

const counts = (...names: string[]): Joi.ObjectSchema => Joi.object(Object.fromEntries(names.map((n) => [n, count.required()])));
export const tickAnswer = counts('due', 'triggered', 'skipped', 'queued', 'skipped_quota', 'misfired', 'failed');
export const deferredAnswer = counts('waiting_before', 'started', 'still_waiting', 'skipped_quota', 'failed', 'cancelled');
export const orphanAnswer = counts('tenants_checked', 'orphaned', 'failed', 'slots_released', 'never_queued');
export const dayCloseAnswer = Joi.object({
  closed_day: Joi.string().required(),
  already_closed: Joi.boolean().required(),
  tenants: count.required(),
  today: Joi.string().required(),
  today_reset: Joi.boolean().valid(false).required(),
  message: Joi.string().required(),
});
export const schedulerStatusAnswer = Joi.object({
  total_active_pipelines: count.required(),
  pipelines_due_now: count.required(),
  pipelines_queued: count.required(),
  pipelines_running: count.required(),
  pipelines_completed_today: count.required(),
  pipelines_failed_today: count.required(),
  avg_execution_time_seconds: Joi.number().min(0).required(),
});

export const healthAnswer = Joi.object({ status: Joi.string().valid('ok').required(), version: Joi.string().required() });
export const liveAnswer = Joi.object({ status: Joi.string().valid('alive').required() });
export const readyAnswer = Joi.object({ status: Joi.string().valid('ready', 'not_ready', 'shutting_down').required(), checks: Joi.object().pattern(Joi.string(), Joi.boolean()) });

// --- audit log (issue 13.3) ---------------------------------------------------------------------
const nullableText = Joi.string().allow(null).required();
export const auditPageAnswer = Joi.object({
  entries: Joi.array().items(Joi.object({
    audit_id: Joi.string().required(), event_time: iso.required(), actor: Joi.string().required(), key_id: nullableText, user_id: nullableText,
    request_id: nullableText, tenant_id: nullableText, action: Joi.string().required(), target: nullableText, outcome: Joi.string().valid('success', 'failure').required(),
    outcome_code: nullableText, http_status: Joi.number().integer().allow(null).required(), source_ip: nullableText, details: Joi.object().unknown(true).allow(null).required(),
  })).required(),
  next_cursor: Joi.string().allow(null).required(),
});

// --- offboarding (issue 13.2) -------------------------------------------------------------------
export const offboardAnswer = Joi.object({
  tenant_id: Joi.string().required(),
  offboard_id: Joi.string().allow(null).required(),
  status: Joi.string().valid('COMPLETED', 'DRY_RUN').required(),
  dry_run: Joi.boolean().required(),
  export_location: Joi.string().required().description('Directory (embedded) or gs:// URI (BigQuery) the Parquet files are under'),
  started_at: isoOrNull.required(),
  completed_at: isoOrNull.required(),
  steps: Joi.array().items(Joi.object({
    name: Joi.string().required(),
    outcome: Joi.string().valid('done', 'done_earlier', 'would_run').required(),
    detail: Joi.string().required(),
  })).required(),
  exported: Joi.array().items(Joi.object({ table: Joi.string().required(), rows: count.required(), destination: Joi.string().required() })).required(),
  deleted: Joi.object().pattern(Joi.string(), count).required().example({ api_keys: 2, schedules: 1, dataset_tables: 7, redis_keys: 14 }),
});

// --- webhooks (issue 13.1) -------------------------------------------------------------------------
const webhookFields = {
  webhook_id: Joi.string().required(),
  tenant_id: Joi.string().required(),
  url: Joi.string().required(),
  events: Joi.array().items(Joi.string()).required(),
  is_active: Joi.boolean().required(),
  disabled_reason: Joi.string().allow(null).required(),
  previous_secret_expires_at: isoOrNull.required(),
  created_at: iso.required(),
  updated_at: iso.required(),
};
export const webhookAnswer = Joi.object(webhookFields);
export const webhookWithSecretAnswer = Joi.object({ ...webhookFields, secret: Joi.string().pattern(/^whsec_/).required().description('Shown once') });
export const webhookListAnswer = Joi.object({ webhooks: Joi.array().items(webhookAnswer).required() });
export const webhookDeliveriesAnswer = Joi.object({
  deliveries: Joi.array().items(Joi.object({
    delivery_id: Joi.string().required(),
    event_type: Joi.string().required(),
    attempt: count.required(),
    attempted_at: iso.required(),
    status_code: Joi.number().integer().allow(null).required(),
    error: Joi.string().allow(null).required(),
    success: Joi.boolean().required(),
    duration_ms: count.required(),
    next_retry_at: isoOrNull.required(),
  })).required(),
  next_cursor: Joi.string().allow(null).required(),
});
export const webhookRedeliveryAnswer = Joi.object({
  delivery_id: Joi.string().required(),
  webhook_id: Joi.string().required(),
  event_type: Joi.string().required(),
  queued: Joi.boolean().required(),
});
