import type { Clock } from '../shared/clock';
import { notFound } from '../shared/errors';
import { templateNotFound } from '../pipelines/template-registry';
import { newId, UUID_PATTERN } from '../shared/ids';
import { decodeConfig, encodeConfig } from './config-hash';
import { dueMember } from './due-index';
import { nextFireTime, nextFireTimes } from './cron';
import { writeConfigRow } from './rows';
import { createScheduleSchema, patchScheduleSchema, validateScheduleBody } from './schedule-schemas';
import type { CreateScheduleInput, PatchScheduleInput } from './schedule-schemas';
import type { ScheduleConfig, ScheduleView, SchedulerBaseDeps } from './types';

/**
 * Schedule configs of a tenant. Redis holds what the tick needs (config hash, the tenant's set,
 * the due index: `<tenant>:<config id>` → next fire ms, active configs only); the warehouse holds
 * the history (`customers.customer_pipeline_configs`, deletion = tombstone row).
 *
 * The config hash and the tenant's set share the tenant's cluster slot; the due index is global (one
 * sorted set the tick reads by score), so no single command can change both. Invariant: a schedule
 * is in the due index only while its hash exists — the index is written last on create and removed
 * first on delete. A crash between the two steps leaves either a hash that never fires (create) or a
 * hash no longer due (delete, removed again on retry); the tick treats a due member whose hash is
 * missing as deleted and drops it, so readers tolerate either gap.
 */
export interface ScheduleStoreDeps extends SchedulerBaseDeps {
  clock: Clock;
  templateExists(provider: string, domain: string, name: string): boolean;
  /** Throws AppError 422 when the parameters do not fit the template's declarations. */
  validateParameters?(provider: string, domain: string, name: string, parameters: Record<string, unknown>): void;
  /** Counts the provider toward the plan's limit; throws AppError 403 PROVIDER_LIMIT_REACHED. */
  touchProvider(tenantId: string, provider: string): Promise<void>;
}

const NEXT_TIMES_SHOWN = 5;

export async function createSchedule(deps: ScheduleStoreDeps, tenantId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<ScheduleView> {
  const input = validateScheduleBody<CreateScheduleInput>(createScheduleSchema, body);
  checkTemplate(deps, input.provider, input.domain, input.pipeline_template, input.parameters);
  await takeSeat?.();
  await deps.touchProvider(tenantId, input.provider);
  const now = deps.clock.now();
  const config: ScheduleConfig = {
    config_id: newId(),
    tenant_id: tenantId,
    ...input,
    last_run_time: null,
    last_run_status: null,
    last_run_id: null,
    created_at: now.toISOString(),
    updated_at: now.toISOString(),
  };
  const next = config.is_active ? nextFireTime(config.schedule_cron, config.timezone, now) : null;
  const { keys } = deps;
  await deps.redis.multi().hset(keys.schedule(tenantId, config.config_id), encodeConfig(config)).sadd(keys.tenantSchedules(tenantId), config.config_id).exec();
  if (next) await deps.redis.zadd(keys.scheduleDue(), next.getTime(), dueMember({ tenantId, configId: config.config_id }));
  try {
    await writeConfigRow(deps.warehouse, config, { nextRunTime: next, deleted: false, now });
  } catch (err) {
    // The warehouse is the record: a config it does not hold must not fire.
    await forget(deps, config);
    throw err;
  }
  return toView(config, next);
}

export async function listSchedules(deps: ScheduleStoreDeps, tenantId: string): Promise<ScheduleView[]> {
  const { redis, keys } = deps;
  const ids = await redis.smembers(keys.tenantSchedules(tenantId));
  if (ids.length === 0) return [];
  // The hashes (tenant slot) and the due index (global) are separate calls; auto-pipelining sends them together.
  const [hashes, scores] = await Promise.all([
    Promise.all(ids.map((id) => redis.hgetall(keys.schedule(tenantId, id)))),
    redis.zmscore(keys.scheduleDue(), ...ids.map((configId) => dueMember({ tenantId, configId }))),
  ]);
  const views: ScheduleView[] = [];
  ids.forEach((_, i) => {
    const config = decodeConfig(hashes[i]);
    if (config && config.tenant_id === tenantId) views.push(toView(config, scoreToDate(scores[i])));
  });
  return views.sort((a, b) => a.created_at.localeCompare(b.created_at) || a.config_id.localeCompare(b.config_id));
}

export async function getSchedule(deps: ScheduleStoreDeps, tenantId: string, configId: string): Promise<ScheduleView> {
  const config = await loadOwned(deps, tenantId, configId);
  const score = await deps.redis.zscore(deps.keys.scheduleDue(), dueMember({ tenantId, configId }));
  return toView(config, scoreToDate(score));
}

export async function patchSchedule(deps: ScheduleStoreDeps, tenantId: string, configId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<ScheduleView> {
  const patch = validateScheduleBody<PatchScheduleInput>(patchScheduleSchema, body);
  const existing = await loadOwned(deps, tenantId, configId);
  const now = deps.clock.now();
  const updated: ScheduleConfig = { ...existing, ...patch, updated_at: now.toISOString() };
  const templateChanged = (['provider', 'domain', 'pipeline_template', 'parameters'] as const).some((f) => patch[f] !== undefined);
  if (templateChanged) checkTemplate(deps, updated.provider, updated.domain, updated.pipeline_template, updated.parameters);
  await takeSeat?.();
  if (updated.provider !== existing.provider) await deps.touchProvider(tenantId, updated.provider);

  const { keys } = deps;
  const timingChanged = (['schedule_cron', 'timezone', 'is_active'] as const).some((f) => patch[f] !== undefined && patch[f] !== existing[f]);
  const member = dueMember({ tenantId, configId });
  let next = scoreToDate(await deps.redis.zscore(keys.scheduleDue(), member));
  // Hash first, then the index (another slot): a tick in between fires the old time with the new config.
  await deps.redis.hset(keys.schedule(tenantId, configId), encodeConfig(updated));
  if (timingChanged) {
    next = updated.is_active ? nextFireTime(updated.schedule_cron, updated.timezone, now) : null;
    if (next) await deps.redis.zadd(keys.scheduleDue(), next.getTime(), member);
    else await deps.redis.zrem(keys.scheduleDue(), member);
  }
  await writeConfigRow(deps.warehouse, updated, { nextRunTime: next, deleted: false, now });
  return toView(updated, next);
}

export async function deleteSchedule(deps: ScheduleStoreDeps, tenantId: string, configId: string, takeSeat?: () => Promise<void>): Promise<void> {
  const config = await loadOwned(deps, tenantId, configId);
  await takeSeat?.();
  await forget(deps, config);
  const now = deps.clock.now();
  await writeConfigRow(deps.warehouse, { ...config, updated_at: now.toISOString() }, { nextRunTime: null, deleted: true, now });
}

/** The config as the API shows it, with the next fire times computed from the due index. */
export function toView(config: ScheduleConfig, next: Date | null): ScheduleView {
  const { last_run_id: _omit, ...fields } = config;
  const times = next ? [next, ...nextFireTimes(config.schedule_cron, config.timezone, next, NEXT_TIMES_SHOWN - 1)] : [];
  return { ...fields, next_run_time: next ? next.toISOString() : null, next_run_times: times.map((d) => d.toISOString()) };
}

async function loadOwned(deps: ScheduleStoreDeps, tenantId: string, configId: string): Promise<ScheduleConfig> {
  // Another tenant's config answers exactly like a missing one: its existence is not revealed.
  const missing = notFound('SCHEDULE_NOT_FOUND', `Schedule not found: ${configId}`);
  if (!UUID_PATTERN.test(configId)) throw missing;
  const config = decodeConfig(await deps.redis.hgetall(deps.keys.schedule(tenantId, configId)));
  if (!config || config.tenant_id !== tenantId) throw missing;
  return config;
}

function checkTemplate(deps: ScheduleStoreDeps, provider: string, domain: string, name: string, parameters: Record<string, unknown>): void {
  if (!deps.templateExists(provider, domain, name)) {
    throw templateNotFound(provider, domain, name);
  }
  deps.validateParameters?.(provider, domain, name, parameters);
}

/** The index goes first (see the invariant at the top), then the tenant's keys in one MULTI. */
async function forget(deps: ScheduleStoreDeps, config: ScheduleConfig): Promise<void> {
  const { keys } = deps;
  const tenantId = config.tenant_id;
  await deps.redis.zrem(keys.scheduleDue(), dueMember({ tenantId, configId: config.config_id }));
  await deps.redis.multi().del(keys.schedule(tenantId, config.config_id)).srem(keys.tenantSchedules(tenantId), config.config_id).exec();
}

const scoreToDate = (score: string | null | undefined): Date | null => (score === null || score === undefined ? null : new Date(Number(score)));
