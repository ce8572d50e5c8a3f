import type { ScheduleConfig } from './types';
import { MISFIRE_POLICIES, OVERLAP_POLICIES } from './types';

/**
 * A schedule config in its Redis hash: every value a string, booleans as '1'/'0', parameters as
 * JSON, nulls as absent fields. The tick reads thousands of these per call, so decoding is plain.
 */
export function encodeConfig(config: ScheduleConfig): Record<string, string> {
  const out: Record<string, string> = {
    config_id: config.config_id,
    tenant_id: config.tenant_id,
    provider: config.provider,
    domain: config.domain,
    pipeline_template: config.pipeline_template,
    schedule_cron: config.schedule_cron,
    timezone: config.timezone,
    is_active: config.is_active ? '1' : '0',
    parameters: JSON.stringify(config.parameters),
    overlap_policy: config.overlap_policy,
    misfire_policy: config.misfire_policy,
    created_at: config.created_at,
    updated_at: config.updated_at,
  };
  if (config.last_run_time) out.last_run_time = config.last_run_time;
  if (config.last_run_status) out.last_run_status = config.last_run_status;
  if (config.last_run_id) out.last_run_id = config.last_run_id;
  return out;
}

/** Null when the hash is empty or not a config (deleted meanwhile, or foreign data). */
export function decodeConfig(hash: Record<string, string> | null | undefined): ScheduleConfig | null {
  if (!hash || !hash.config_id || !hash.tenant_id || !hash.schedule_cron) return null;
  const overlap = OVERLAP_POLICIES.find((p) => p === hash.overlap_policy) ?? 'skip';
  const misfire = MISFIRE_POLICIES.find((p) => p === hash.misfire_policy) ?? 'run_once';
  return {
    config_id: hash.config_id,
    tenant_id: hash.tenant_id,
    provider: hash.provider ?? '',
    domain: hash.domain ?? '',
    pipeline_template: hash.pipeline_template ?? '',
    schedule_cron: hash.schedule_cron,
    timezone: hash.timezone ?? 'UTC',
    is_active: hash.is_active === '1',
    parameters: parseParameters(hash.parameters),
    overlap_policy: overlap,
    misfire_policy: misfire,
    last_run_time: hash.last_run_time ?? null,
    last_run_status: hash.last_run_status ?? null,
    last_run_id: hash.last_run_id ?? null,
    created_at: hash.created_at ?? '',
    updated_at: hash.updated_at ?? '',
  };
}

function parseParameters(raw: string | undefined): Record<string, unknown> {
  if (!raw) return {};
  try {
    const value: unknown = JSON.parse(raw);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
