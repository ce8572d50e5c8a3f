import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { isAppError } from '../shared/errors';
import { pipelineIdOf } from '../shared/ids';
import { isTerminalStatus } from '../queues/pipeline-runs';
import type { RunStatus, TriggerRun } from '../queues/pipeline-runs';
import { mapWithConcurrency } from './concurrency';
import { settleConfigs } from './settle';
import { writeFireRows, writeQueueRows } from './rows';
import type { FireRow, QueueRow } from './rows';
import type { SchedulerBaseDeps } from './types';

/**
 * The execution queue for fires that could not start when they fired: the tenant was at its
 * concurrent limit, or (overlap policy `queue`) the config's previous run was still going.
 * Entries keep their run id, so retrying is idempotent; they are retried in enqueue order.
 *
 * Three keys: the global queue and the entries hash (one cluster slot, changed together in one
 * MULTI) and each tenant's queue (its own slot). Invariant: an id is in a tenant's queue only while
 * its entry exists — the entry is written before the tenant queue on add and deleted before it on
 * removal. A reader that meets an id without an entry drops it as an orphan, which is exactly the
 * state between the two steps (or after a crash between them), so readers tolerate the gap.
 */
export interface DeferredEntry {
  run_id: string;
  tenant_id: string;
  config_id: string | null;
  provider: string;
  domain: string;
  template_name: string;
  parameters: Record<string, unknown>;
  scheduled_time: string | null;
  enqueued_at: string;
  /** The run this entry waits for (overlap policy `queue`); null when it only waits for a slot. */
  after_run_id: string | null;
}

export interface DeferredDeps extends SchedulerBaseDeps {
  trigger: TriggerRun;
  getRunStatus(tenantId: string, runId: string): Promise<RunStatus | null>;
  /** Tenants processed at once (entries of one tenant are always processed in order). */
  concurrency?: number;
}

export interface DeferredSummary {
  waiting_before: number;
  started: number;
  still_waiting: number;
  skipped_quota: number;
  failed: number;
  /** Fires of schedules deleted or paused while they waited: dropped without a run (queue row CANCELLED). */
  cancelled: number;
}

const MAX_ENTRIES_PER_CALL = 10_000;

/** Adds entries (global queue and entries first, then the tenants' queues); NX keeps an entry's place when re-added. */
export async function addDeferred(redis: RedisClient, keys: RedisKeys, entries: DeferredEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const score = (e: DeferredEntry): number => Date.parse(e.enqueued_at);
  const tx = redis.multi();
  for (const e of entries) tx.zadd(keys.deferredQueue(), 'NX', score(e), e.run_id).hset(keys.deferredEntries(), e.run_id, JSON.stringify(e));
  await tx.exec();
  await Promise.all(entries.map((e) => redis.zadd(keys.tenantDeferred(e.tenant_id), 'NX', score(e), e.run_id)));
}

/** Removes settled entries: the global queue and entries in one MULTI first, then the tenants' queues. */
async function removeDeferred(redis: RedisClient, keys: RedisKeys, entries: DeferredEntry[]): Promise<void> {
  if (entries.length === 0) return;
  const tx = redis.multi();
  for (const e of entries) tx.zrem(keys.deferredQueue(), e.run_id).hdel(keys.deferredEntries(), e.run_id);
  await tx.exec();
  await Promise.all(entries.map((e) => redis.zrem(keys.tenantDeferred(e.tenant_id), e.run_id)));
}

/** Offboarding: drops every waiting entry of one tenant (they would never start: it is suspended); returns how many. */
export async function dropTenantDeferred(redis: RedisClient, keys: RedisKeys, tenantId: string): Promise<number> {
  const ids = await redis.zrange(keys.tenantDeferred(tenantId), 0, -1);
  await removeDeferred(redis, keys, ids.map((run_id) => ({ run_id, tenant_id: tenantId }) as DeferredEntry));
  return ids.length;
}

export const queueRowOf = (entry: DeferredEntry, state: QueueRow['state'], startedAt: Date | null): QueueRow => ({
  queue_id: entry.run_id,
  tenant_id: entry.tenant_id,
  config_id: entry.config_id,
  pipeline_id: pipelineIdOf(entry.tenant_id, entry.provider, entry.domain, entry.template_name),
  scheduled_time: entry.scheduled_time ? new Date(entry.scheduled_time) : null,
  state,
  pipeline_logging_id: entry.run_id,
  enqueued_at: new Date(entry.enqueued_at),
  started_at: startedAt,
});

/**
 * Retries waiting entries (all tenants, or one: the worker calls it for a tenant right after one
 * of its runs ends, so a deferred run starts as soon as a slot frees). Started → removed, queue
 * row STARTED, fire row TRIGGERED; still at the concurrent limit → stays (and the tenant's later
 * entries are not tried); daily/monthly quota → removed, SKIPPED_QUOTA; other refusals → FAILED; its
 * schedule deleted or paused meanwhile → removed, queue row CANCELLED, fire row SKIPPED. A fire queued
 * behind the config's previous run (overlap `queue`) waits while that run is going or itself still queued.
 */
export async function processDeferredQueue(deps: DeferredDeps, now: Date, options: { tenantId?: string } = {}): Promise<DeferredSummary> {
  const { redis, keys } = deps;
  const source = options.tenantId === undefined ? keys.deferredQueue() : keys.tenantDeferred(options.tenantId);
  const ids = await redis.zrange(source, 0, MAX_ENTRIES_PER_CALL - 1);
  const summary: DeferredSummary = { waiting_before: ids.length, started: 0, still_waiting: 0, skipped_quota: 0, failed: 0, cancelled: 0 };
  if (ids.length === 0) return summary;
  const raw = await redis.hmget(keys.deferredEntries(), ...ids);
  const byTenant = new Map<string, DeferredEntry[]>();
  const orphans: string[] = [];
  ids.forEach((id, i) => {
    const entry = parseEntry(raw[i]);
    if (!entry) return void orphans.push(id);
    const list = byTenant.get(entry.tenant_id) ?? [];
    list.push(entry);
    byTenant.set(entry.tenant_id, list);
  });
  if (orphans.length > 0) await redis.zrem(source, ...orphans);

  const fireRows: FireRow[] = [];
  const queueRows: QueueRow[] = [];
  const settled: DeferredEntry[] = [];
  const settle = (entry: DeferredEntry, queueState: QueueRow['state'], fireState: FireRow['state'], reason: string | null): void => {
    settled.push(entry);
    queueRows.push(queueRowOf(entry, queueState, queueState === 'STARTED' ? now : null));
    if (entry.config_id && entry.scheduled_time) {
      fireRows.push({
        config_id: entry.config_id,
        tenant_id: entry.tenant_id,
        scheduled_time: new Date(entry.scheduled_time),
        state: fireState,
        pipeline_logging_id: queueState === 'STARTED' ? entry.run_id : null,
        reason,
      });
    }
  };

  await mapWithConcurrency([...byTenant.values()], deps.concurrency ?? 20, async (entries) => {
    for (const [index, entry] of entries.entries()) {
      const gone = await scheduleGone(deps, entry);
      if (gone) {
        summary.cancelled += 1;
        settle(entry, 'CANCELLED', 'SKIPPED', gone);
        continue;
      }
      if (entry.after_run_id && (await unfinishedStatus(deps, entry.tenant_id, entry.after_run_id))) {
        summary.still_waiting += 1;
        continue;
      }
      try {
        await deps.trigger({
          tenantId: entry.tenant_id,
          provider: entry.provider,
          domain: entry.domain,
          templateName: entry.template_name,
          parameters: entry.parameters,
          userId: null,
          triggerType: 'scheduler',
          runId: entry.run_id,
          ...(entry.config_id ? { configId: entry.config_id } : {}),
          ...(entry.scheduled_time ? { scheduledTime: entry.scheduled_time } : {}),
        });
        summary.started += 1;
        settle(entry, 'STARTED', 'TRIGGERED', 'started from the execution queue');
      } catch (err) {
        const code = isAppError(err) ? err.code : null;
        if (code === 'DAILY_QUOTA_EXCEEDED' || code === 'MONTHLY_QUOTA_EXCEEDED') {
          summary.skipped_quota += 1;
          settle(entry, 'SKIPPED_QUOTA', 'SKIPPED_QUOTA', code);
        } else if (code !== null && code !== 'CONCURRENT_LIMIT_REACHED' && code !== 'DEPENDENCY_UNAVAILABLE') {
          summary.failed += 1;
          settle(entry, 'FAILED', 'FAILED', `${code}: ${(err as Error).message}`);
        } else {
          // No slot (or Redis trouble): this entry and the tenant's later ones wait, in order.
          summary.still_waiting += entries.length - index;
          deps.logger?.debug({ tenantId: entry.tenant_id, code, err: code ? undefined : err }, 'deferred runs keep waiting');
          return;
        }
      }
    }
  });

  // Rows before the entries go (as the tick writes its rows before its leases go): if the warehouse fails or passes
  // its deadline, the entries stay and the next pass settles them again — same run ids, so a started run is found,
  // not started twice — and writes their rows then.
  if (settled.length > 0) await updateConfigsAfterSettle(deps, fireRows, now);
  await writeQueueRows(deps.warehouse, queueRows, now);
  await writeFireRows(deps.warehouse, fireRows, now);
  await removeDeferred(redis, keys, settled);
  return summary;
}

/**
 * Why a scheduled fire waiting here must not start any more — its schedule was deleted or paused since it was
 * queued — or null (also for entries of no schedule). A paused schedule's waiting fire is dropped, not kept for
 * its resumption: it could otherwise start days late.
 */
async function scheduleGone(deps: Pick<DeferredDeps, 'redis' | 'keys'>, entry: DeferredEntry): Promise<string | null> {
  if (!entry.config_id) return null;
  const [owner, active] = await deps.redis.hmget(deps.keys.schedule(entry.tenant_id, entry.config_id), 'tenant_id', 'is_active');
  if (owner !== entry.tenant_id) return 'schedule deleted while the fire waited in the execution queue';
  return active === '1' ? null : 'schedule paused while the fire waited in the execution queue';
}

/**
 * The run's status while it is still going, 'QUEUED' while it is still an entry of this queue (a fire queued behind
 * another queued fire waits for it too), else null (ended, or gone).
 */
export async function unfinishedStatus(deps: Pick<DeferredDeps, 'redis' | 'keys' | 'getRunStatus'>, tenantId: string, runId: string): Promise<string | null> {
  const status = await deps.getRunStatus(tenantId, runId);
  if (status !== null) return isTerminalStatus(status) ? null : status;
  return (await deps.redis.hexists(deps.keys.deferredEntries(), runId)) === 1 ? 'QUEUED' : null;
}

/** The configs' last-run fields follow what finally happened to their queued fires. */
async function updateConfigsAfterSettle(deps: DeferredDeps, fireRows: FireRow[], now: Date): Promise<void> {
  await settleConfigs(
    deps.redis,
    deps.keys,
    fireRows.map((row) => ({
      tenantId: row.tenant_id,
      configId: row.config_id,
      // Only a started run is tracked for overlap; a refused one leaves the previous run id in place.
      fields: {
        last_run_status: row.state,
        last_run_time: now.toISOString(),
        ...(row.pipeline_logging_id ? { last_run_id: row.pipeline_logging_id } : {}),
      },
    })),
  );
}

function parseEntry(raw: string | null | undefined): DeferredEntry | null {
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as DeferredEntry;
    return typeof value.run_id === 'string' && typeof value.tenant_id === 'string' ? value : null;
  } catch {
    return null;
  }
}
