import type { Clock } from '../shared/clock';
import { nextUtcMidnight } from '../shared/clock';
import { isAppError } from '../shared/errors';
import { WarehouseError } from '../warehouse/types';
import type { Logger } from '../shared/logger';
import type { RunStatus, TriggerRun } from '../queues/pipeline-runs';
import { isTerminalStatus } from '../shared/run-status';
import type { Backfill, BackfillStore, DateEntry } from './backfill-store';
import { dateField, dateValue } from './backfill-store';
import { batchRunId } from './run-ids';

export interface BackfillDispatchDeps {
  store: BackfillStore;
  trigger: TriggerRun;
  /** The run's status (live, else from the warehouse); null when no record of it is left. */
  runStatus(tenantId: string, runId: string): Promise<RunStatus | null>;
  /** Appends the backfill's snapshot to customers.backfills. */
  writeSnapshot(b: Backfill, now: Date): Promise<void>;
  clock: Clock;
  logger: Logger;
  /** When nothing else wakes it (a run's end, a quota reset), the dispatcher looks again after this long. */
  recheckMs: number;
}

/**
 * A backfill run's status: live from Redis, else from its warehouse row (`stored`, which rejects RUN_NOT_FOUND for a
 * run without one); null only when neither holds it. A read that failed (the warehouse down or past its deadline) is
 * not "no record": it rejects, so the pass fails and is tried again, instead of the date being marked FAILED.
 */
export async function recordedRunStatus(
  live: () => Promise<RunStatus | null>,
  stored: () => Promise<{ status: RunStatus }>,
): Promise<RunStatus | null> {
  const status = await live();
  if (status !== null) return status;
  try {
    return (await stored()).status;
  } catch (err) {
    if ((isAppError(err) && err.code === 'RUN_NOT_FOUND') || (err instanceof WarehouseError && err.reason === 'not_found')) return null;
    throw err;
  }
}

/** A refusal for the date itself: it will not change by waiting, so the date is REFUSED and the next one tried. */
const DATE_REFUSALS = new Set([404, 422]);

const firstOfNextMonth = (now: Date): Date => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));

/**
 * One dispatch pass over one backfill (the caller holds its lock): settle the dates whose runs ended, then ask
 * admission for as many next dates as `max_parallel` allows. Admission stays the judge: a 429 or 403 stops the
 * pass (no retry loop) — CONCURRENT_LIMIT_REACHED waits for a run's end or the next look, DAILY_QUOTA_EXCEEDED
 * for the next UTC midnight of the injected clock, MONTHLY_QUOTA_EXCEEDED for the next month.
 */
export async function dispatchBackfill(deps: BackfillDispatchDeps, tenantId: string, backfillId: string): Promise<void> {
  const { store } = deps;
  const b = await store.get(tenantId, backfillId);
  if (!b || b.finishedAt) return;
  const now = deps.clock.now();
  let changed = false;
  const setDate = async (d: DateEntry, state: DateEntry['state'], ref: string | null): Promise<void> => {
    d.state = state;
    d.ref = ref;
    changed = true;
    // Written at once: a process that stops after this line leaves nothing for the next one to redo.
    await store.setFields(tenantId, backfillId, { [dateField(d.date)]: dateValue(state, ref) });
  };

  let inflight = 0;
  for (const d of b.dates.filter((x) => x.state === 'ADMITTED')) {
    const status = d.ref ? await deps.runStatus(tenantId, d.ref) : null;
    if (status === null) await setDate(d, 'FAILED', d.ref);
    else if (isTerminalStatus(status)) await setDate(d, status, d.ref);
    else inflight += 1;
  }

  let waitUntilMs = b.waitUntilMs > now.getTime() ? b.waitUntilMs : 0;
  let refusal: string | null = waitUntilMs > 0 ? b.lastRefusal : null;
  let cancelled = b.status === 'CANCELLED';
  if (!cancelled && waitUntilMs === 0) {
    for (const d of b.dates) {
      if (d.state !== 'WAITING') continue;
      if (inflight >= b.maxParallel) break;
      // A cancel that arrived mid-pass stops it before the next date.
      if ((await store.statusOf(tenantId, backfillId)) === 'CANCELLED') {
        cancelled = true;
        break;
      }
      try {
        const run = await deps.trigger({
          tenantId, provider: b.provider, domain: b.domain, templateName: b.templateName,
          parameters: { ...b.parameters, date: d.date }, userId: b.userId, triggerType: 'backfill',
          runId: batchRunId('backfill', backfillId, d.date),
        });
        if (isTerminalStatus(run.status)) await setDate(d, run.status, run.pipelineLoggingId);
        else {
          await setDate(d, 'ADMITTED', run.pipelineLoggingId);
          inflight += 1;
        }
      } catch (err) {
        if (!isAppError(err)) throw err;
        if (DATE_REFUSALS.has(err.status)) {
          await setDate(d, 'REFUSED', err.code);
          continue;
        }
        refusal = err.code;
        if (err.code === 'DAILY_QUOTA_EXCEEDED') waitUntilMs = nextUtcMidnight(now).getTime();
        if (err.code === 'MONTHLY_QUOTA_EXCEEDED') waitUntilMs = firstOfNextMonth(now).getTime();
        deps.logger.debug({ tenantId, backfillId, code: err.code }, 'backfill waits');
        break;
      }
    }
  }

  const fields = { wait_until_ms: String(waitUntilMs), last_refusal: refusal ?? '', updated_at: now.toISOString() };
  if (cancelled) {
    for (const d of b.dates) if (d.state === 'WAITING') await setDate(d, 'CANCELLED', null);
    b.status = 'CANCELLED';
    await store.finish(b, 'CANCELLED', fields);
  } else if (inflight === 0 && !b.dates.some((d) => d.state === 'WAITING')) {
    b.status = 'COMPLETED';
    await store.finish(b, 'COMPLETED', fields);
    changed = true;
  } else {
    await store.setFields(tenantId, backfillId, fields);
    await store.wakeAt(tenantId, backfillId, waitUntilMs > 0 ? waitUntilMs : now.getTime() + deps.recheckMs);
  }
  if (changed || cancelled || refusal !== b.lastRefusal) {
    Object.assign(b, { waitUntilMs, lastRefusal: refusal, updatedAt: fields.updated_at });
    await deps.writeSnapshot(b, now);
  }
}
