import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';
import { SCRIPT_CODES } from '../redis/scripts/errors';
import type { Clock } from '../shared/clock';
import { utcDay } from '../shared/clock';
import { MIN_BILLED_BYTES, bytesLimitExceeded, formatBytes } from '../shared/bytes-limit';
import { AppError } from '../shared/errors';

/**
 * A tenant's daily BigQuery bytes budget, kept in Redis like the run quotas: every decision is one Lua script
 * over the tenant's hash-tagged keys (bytes-reserve.lua, bytes-settle.lua). A query job reserves before it
 * starts and may bill at most what it was granted (its `maximumBytesBilled`), so concurrent runs of one tenant
 * cannot spend past the budget together; the job then settles to what BigQuery billed (the whole grant when that
 * cannot be learned), or releases (0) when it failed. Only a lease that passed (a dead worker) releases a grant
 * whose job may have billed (README "Cost guardrails").
 */
export interface BytesBudgetDeps {
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
  /** Rebuilds the tenant's Redis profile (the limits) when it is missing; the reserve is then tried once more. */
  reloadProfile?: (tenantId: string) => Promise<unknown>;
}

export interface BytesReservation {
  tenantId: string;
  id: string;
  /** The UTC day the bytes count against. */
  day: string;
  /** What the job may bill: its maximumBytesBilled. */
  grantedBytes: number;
  /** The tenant's plan when it reserved (read by the reserve script), for the per-plan bytes-billed metric. */
  plan: string | null;
}

export interface BytesUsage {
  billedToday: number;
  reservedToday: number;
}

export { MIN_BILLED_BYTES };
/** Grant above the estimate when cap and budget leave room: BigQuery rounds billed bytes up per table. */
export const GRANT_HEADROOM = 0.1;
/** A reservation not settled within this is released by the tenant's next reserve (BigQuery jobs end within 6 h). */
export const RESERVATION_LEASE_MS = 6 * 3600 * 1000;
const DAILY_TTL_SECONDS = 3 * 24 * 3600;

export class BytesBudget {
  private readonly scripts: ScriptRunner;

  constructor(private readonly deps: BytesBudgetDeps) {
    this.scripts = new ScriptRunner(deps.redis);
  }

  /**
   * Reserves room for a job estimated at `estimatedBytes`; throws BYTES_LIMIT_EXCEEDED (naming estimate and
   * limit) when it is over the plan's per-query cap or what is left of today's budget. `reservationId` makes a
   * retried call return the same grant.
   */
  async reserve(tenantId: string, reservationId: string, estimatedBytes: number): Promise<BytesReservation> {
    const now = this.deps.clock.now();
    const day = utcDay(now);
    const need = Math.max(MIN_BILLED_BYTES, Math.ceil(estimatedBytes));
    const wanted = need + Math.floor(need * GRANT_HEADROOM);
    const { keys } = this.deps;
    const call = (): Promise<[number, number, number, number, string]> =>
      this.scripts.run(
        'bytes-reserve',
        [keys.bytesDaily(tenantId, day), keys.bytesReservations(tenantId), keys.bytesReservationLeases(tenantId), keys.tenantProfile(tenantId)],
        [reservationId, day, need, wanted, now.getTime(), RESERVATION_LEASE_MS, DAILY_TTL_SECONDS],
      );
    let [code, cap, remaining, budget, plan] = await call();
    if (code === SCRIPT_CODES.profileMissing && this.deps.reloadProfile) {
      await this.deps.reloadProfile(tenantId);
      [code, cap, remaining, budget, plan] = await call();
    }
    const extra = { estimated_bytes: estimatedBytes, max_bytes_billed_per_query: cap, daily_bytes_budget: budget, remaining_bytes_today: remaining };
    if (code === SCRIPT_CODES.bytesOverQueryCap) {
      throw bytesLimitExceeded(`the query would process an estimated ${formatBytes(estimatedBytes)}, over the plan's per-query cap of ${formatBytes(cap)} (max_bytes_billed_per_query); it was not run`, extra);
    }
    if (code === SCRIPT_CODES.bytesOverDailyBudget) {
      throw bytesLimitExceeded(`the query would process an estimated ${formatBytes(estimatedBytes)}, over the ${formatBytes(remaining)} left of today's bytes budget of ${formatBytes(budget)} (daily_bytes_budget); it was not run`, extra);
    }
    if (code <= 0) throw new AppError(500, 'INTERNAL_ERROR', `Bytes budget unavailable for tenant ${tenantId} (code ${code})`, { expose: false });
    return { tenantId, id: reservationId, day, grantedBytes: code, plan: plan === '' ? null : plan };
  }

  /** Ends a reservation with what was billed (0: the job was cancelled or failed before it billed). Idempotent. */
  async settle(reservation: BytesReservation, billedBytes: number): Promise<void> {
    const { keys } = this.deps;
    await this.scripts.run(
      'bytes-settle',
      [keys.bytesDaily(reservation.tenantId, reservation.day), keys.bytesReservations(reservation.tenantId), keys.bytesReservationLeases(reservation.tenantId)],
      [reservation.id, Math.max(0, Math.round(billedBytes)), DAILY_TTL_SECONDS],
    );
  }

  /** The tenant's byte limits (its cached profile) and what is left today; null when the profile is not cached. */
  async limits(tenantId: string): Promise<{ maxBytesBilledPerQuery: number; dailyBytesBudget: number; remainingBytesToday: number } | null> {
    const [cap, budget] = await this.deps.redis.hmget(this.deps.keys.tenantProfile(tenantId), 'max_bytes_billed_per_query', 'daily_bytes_budget');
    if (cap === null || cap === undefined || budget === null || budget === undefined) return null;
    const used = await this.usage(tenantId);
    const dailyBytesBudget = Number(budget);
    return { maxBytesBilledPerQuery: Number(cap), dailyBytesBudget, remainingBytesToday: Math.max(0, dailyBytesBudget - used.billedToday - used.reservedToday) };
  }

  async usage(tenantId: string, day = utcDay(this.deps.clock.now())): Promise<BytesUsage> {
    const h = await this.deps.redis.hgetall(this.deps.keys.bytesDaily(tenantId, day));
    return { billedToday: Math.max(0, Number(h.billed ?? 0)), reservedToday: Math.max(0, Number(h.reserved ?? 0)) };
  }
}
