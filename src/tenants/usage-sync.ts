import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Row, Warehouse } from '../warehouse/types';
import { CENTRAL_DATASET, tenantUsageQuotas } from '../warehouse/tables';
import { appendStateRows } from '../warehouse/state-tables';
import { utcDay } from '../shared/clock';
import { readUsageSnapshot } from './quota-view';
import type { UsageSnapshot } from './quota-view';
import { TEAM_WINDOW_MS } from './team-and-providers';
import { nextSeq } from './tenant-store';

/**
 * Copies the Redis usage counters into `tenants.tenant_usage_quotas` (one row per tenant and UTC
 * day, the latest snapshot wins in the view). Redis stays the source of truth for admission; the
 * warehouse row is what the guide's SQL reads, refreshed every minute for tenants that changed.
 */
export interface UsageSyncDeps {
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH = 500;
/** Older per-day keys are dropped at the day close; the closed day itself stays for late refunds. */
const STALE_DAYS_DROPPED = 7;
const CLOSING_MARKER_TTL_SECONDS = 600;
const CLOSED_MARKER_TTL_SECONDS = 40 * 24 * 3600;

export function usageRow(s: UsageSnapshot, now: Date): Row {
  return {
    tenant_id: s.tenantId,
    usage_date: s.day,
    pipelines_run_today: s.runToday,
    pipelines_succeeded_today: s.succeededToday,
    pipelines_failed_today: s.failedToday,
    pipelines_run_month: s.runMonth,
    concurrent_pipelines_running: s.running,
    daily_limit: s.limits?.dailyLimit ?? null,
    monthly_limit: s.limits?.monthlyLimit ?? null,
    concurrent_limit: s.limits?.concurrentLimit ?? null,
    last_updated: now,
  };
}

async function writeRows(deps: UsageSyncDeps, rows: Row[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  // Same sequence scale as every other state write (tenant-store), so the onboarding row and our
  // snapshots order by time: the latest snapshot of a (tenant, day) wins in the view.
  await appendStateRows(deps.warehouse, CENTRAL_DATASET, tenantUsageQuotas, rows, { seq: nextSeq(now), now });
}

/**
 * Writes today's usage row for every tenant marked dirty since the last call. Tenants are taken
 * off the dirty set BEFORE their counters are read, so a change racing this refresh marks the
 * tenant again and is picked up next time; a failed write puts the batch back.
 */
export async function refreshUsageRows(deps: UsageSyncDeps, now: Date): Promise<{ tenants: number }> {
  const { redis, keys } = deps;
  const day = utcDay(now);
  // Bounded by the size at the start, so tenants re-dirtied meanwhile cannot keep this call spinning.
  let left = await redis.scard(keys.usageDirty());
  let tenants = 0;
  while (left > 0) {
    const batch = await redis.spop(keys.usageDirty(), Math.min(BATCH, left));
    if (batch.length === 0) break;
    left -= batch.length;
    try {
      const snapshots = await Promise.all(batch.map((t) => readUsageSnapshot(deps, t, day, now.getTime())));
      await writeRows(deps, snapshots.map((s) => usageRow(s, now)), now);
    } catch (err) {
      await redis.sadd(keys.usageDirty(), ...batch);
      throw err;
    }
    tenants += batch.length;
  }
  return { tenants };
}

export interface DayCloseResult {
  closedDay: string;
  /** True when this day was closed (or is being closed) by an earlier call: nothing was written. */
  alreadyClosed: boolean;
  tenants: number;
}

/**
 * The answer of `POST /api/v1/scheduler/reset-daily-quotas`. It says what the name does not: the call
 * closes yesterday, it does not reset today (daily counters are keyed by UTC day and roll over by themselves).
 */
export interface DayCloseAnswer {
  closed_day: string;
  already_closed: boolean;
  tenants: number;
  today: string;
  today_reset: false;
  message: string;
}

export function describeDayClose(r: DayCloseResult, now: Date): DayCloseAnswer {
  const today = utcDay(now);
  return {
    closed_day: r.closedDay,
    already_closed: r.alreadyClosed,
    tenants: r.tenants,
    today,
    today_reset: false,
    message:
      `Closed the previous UTC day ${r.closedDay}${r.alreadyClosed ? ' (closed by an earlier call: nothing written)' : ''}: its final usage rows, ` +
      `today's opening rows, stale keys dropped. Today's counters (${today}) are not reset: they are kept per UTC day ` +
      'and start from zero at 00:00 UTC on their own.',
  };
}

/**
 * Closes the previous UTC day: its final usage row for every onboarded tenant, today's opening row
 * (so `usage_date = CURRENT_DATE()` finds a row before the first run), and old per-day keys dropped.
 * Counters need no reset: they are keyed by day. A per-day marker makes repeated calls (Cloud
 * Scheduler retries, several replicas) no-ops.
 */
export async function resetDailyQuotas(deps: UsageSyncDeps, now: Date): Promise<DayCloseResult> {
  const { redis, keys } = deps;
  const closedDay = utcDay(new Date(now.getTime() - DAY_MS));
  const today = utcDay(now);
  const marker = keys.usageDayClosed(closedDay);
  const claimed = await redis.set(marker, 'closing', 'EX', CLOSING_MARKER_TTL_SECONDS, 'NX');
  if (claimed === null) return { closedDay, alreadyClosed: true, tenants: 0 };

  let tenants = 0;
  try {
    let cursor = '0';
    do {
      const [next, batch] = await redis.sscan(keys.tenantIndex(), cursor, 'COUNT', BATCH);
      cursor = next;
      if (batch.length === 0) continue;
      const pairs = await Promise.all(
        batch.map(async (tenantId) => [
          usageRow(await readUsageSnapshot(deps, tenantId, closedDay, now.getTime()), now),
          usageRow(await readUsageSnapshot(deps, tenantId, today, now.getTime()), now),
        ]),
      );
      await writeRows(deps, pairs.flat(), now);
      await Promise.all(batch.map((tenantId) => dropStaleKeys(deps, tenantId, closedDay, now)));
      tenants += batch.length;
    } while (cursor !== '0');
  } catch (err) {
    await redis.del(marker);
    throw err;
  }
  await redis.set(marker, 'closed', 'EX', CLOSED_MARKER_TTL_SECONDS);
  return { closedDay, alreadyClosed: false, tenants };
}

async function dropStaleKeys(deps: UsageSyncDeps, tenantId: string, closedDay: string, now: Date): Promise<void> {
  const { redis, keys } = deps;
  const closedMs = Date.parse(`${closedDay}T00:00:00Z`);
  const stale: string[] = [];
  for (let i = 1; i <= STALE_DAYS_DROPPED; i += 1) {
    const day = utcDay(new Date(closedMs - i * DAY_MS));
    stale.push(keys.dailyUsage(tenantId, day), keys.admittedRuns(tenantId, day));
  }
  // All keys share the tenant's hash tag, so one UNLINK is Cluster-safe.
  await redis
    .multi()
    .unlink(...stale)
    .zremrangebyscore(keys.teamMembers(tenantId), '-inf', `(${now.getTime() - TEAM_WINDOW_MS}`)
    .exec();
}
