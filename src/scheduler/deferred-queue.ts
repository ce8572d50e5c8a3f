import type { ChainableCommander } from 'ioredis';
import type { RedisKeys } from '../redis/keys';
import { isAppError } from '../shared/errors';
import { pipelineIdOf } from '../shared/ids';
import { TERMINAL_STATUSES } from '../queues/pipeline-runs';
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
  getRunStatus(runId: string): Promise<RunStatus | null>;
  /** Tenants processed at once (entries of one tenant are always processed in order). */
  concurrency?: number;
}

export interface DeferredSummary {
  waiting_before: number;
  started: number;
  still_waiting: number;
  skipped_quota: number;
  failed: number;
}

const MAX_ENTRIES_PER_CALL = 10_000;

/** Adds an entry on a pipeline/multi the caller executes; NX keeps an entry's place when re-added. */
export function addDeferred(tx: ChainableCommander, keys: RedisKeys, entry: DeferredEntry): void {
  const score = Date.parse(entry.enqueued_at);
  tx.zadd(keys.deferredQueue(), 'NX', score, entry.run_id)
    .zadd(keys.tenantDeferred(entry.tenant_id), 'NX', score, entry.run_id)
    .hset(keys.deferredEntries(), entry.run_id, JSON.stringify(entry));
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
 * entries are not tried); daily/monthly quota → removed, SKIPPED_QUOTA; other refusals → FAILED.
 */
export async function processDeferredQueue(deps: DeferredDeps, now: Date, options: { tenantId?: string } = {}): Promise<DeferredSummary> {
  const { redis, keys } = deps;
  const source = options.tenantId === undefined ? keys.deferredQueue() : keys.tenantDeferred(options.tenantId);
  const ids = await redis.zrange(source, 0, MAX_ENTRIES_PER_CALL - 1);
  const summary: DeferredSummary = { waiting_before: ids.length, started: 0, still_waiting: 0, skipped_quota: 0, failed: 0 };
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
      if (entry.after_run_id) {
        const status = await deps.getRunStatus(entry.after_run_id);
        if (status !== null && !TERMINAL_STATUSES.includes(status)) {
          summary.still_waiting += 1;
          continue;
        }
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

  if (settled.length > 0) {
    const tx = redis.multi();
    for (const entry of settled) {
      tx.zrem(keys.deferredQueue(), entry.run_id).zrem(keys.tenantDeferred(entry.tenant_id), entry.run_id).hdel(keys.deferredEntries(), entry.run_id);
    }
    await tx.exec();
    await updateConfigsAfterSettle(deps, fireRows, now);
  }
  await writeQueueRows(deps.warehouse, queueRows, now);
  await writeFireRows(deps.warehouse, fireRows, now);
  return summary;
}

/** The configs' last-run fields follow what finally happened to their queued fires. */
async function updateConfigsAfterSettle(deps: DeferredDeps, fireRows: FireRow[], now: Date): Promise<void> {
  await settleConfigs(
    deps.redis,
    deps.keys,
    fireRows.map((row) => ({
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
