import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Clock } from '../shared/clock';
import { nextUtcMidnight, utcDay } from '../shared/clock';
import { TEAM_WINDOW_MS } from './team-and-providers';

/**
 * What a tenant has used and may still use, read from Redis only (the counters admission keeps),
 * so the quota endpoint never waits on the warehouse.
 */
export interface QuotaViewDeps {
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
}

export interface QuotaView {
  tenant_id: string;
  plan: string;
  usage_date: string;
  pipelines_run_today: number;
  daily_limit: number;
  remaining_today: number;
  pipelines_run_month: number;
  monthly_limit: number;
  remaining_month: number;
  concurrent_pipelines_running: number;
  concurrent_limit: number;
  team_members: number;
  team_limit: number;
  providers_used: number;
  provider_limit: number;
  resets_at: string;
  /** BigQuery bytes billed today by the tenant's steps (0 on DuckDB, which bills nothing); README "Cost guardrails". */
  bytes_billed_today: number;
  daily_bytes_budget: number;
  /** Budget minus billed and reserved (jobs running now); what the next query step may be granted. */
  remaining_bytes_today: number;
}

export interface PlanLimits {
  status: string;
  plan: string;
  dailyLimit: number;
  monthlyLimit: number;
  concurrentLimit: number;
  teamLimit: number;
  providerLimit: number;
  /** null in a profile cached before the byte limits existed (the quota view then has it reloaded). */
  dailyBytesBudget: number | null;
}

/** One tenant's counters for one UTC day, read in a single MULTI so they agree with each other. */
export interface UsageSnapshot {
  tenantId: string;
  day: string;
  /** null when the profile hash is not in Redis. */
  limits: PlanLimits | null;
  runToday: number;
  succeededToday: number;
  failedToday: number;
  runMonth: number;
  running: number;
  teamMembers: number;
  providers: number;
  bytesBilledToday: number;
  bytesReservedToday: number;
}

const toCount = (value: unknown): number => {
  const n = Number(value ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
};

function toLimits(hash: Record<string, string>): PlanLimits | null {
  if (hash.status === undefined) return null;
  return {
    status: hash.status,
    plan: hash.plan ?? '',
    dailyLimit: toCount(hash.daily_limit),
    monthlyLimit: toCount(hash.monthly_limit),
    concurrentLimit: toCount(hash.concurrent_limit),
    teamLimit: toCount(hash.team_limit),
    providerLimit: toCount(hash.provider_limit),
    dailyBytesBudget: hash.daily_bytes_budget === undefined ? null : toCount(hash.daily_bytes_budget),
  };
}

export async function readUsageSnapshot(
  deps: { redis: RedisClient; keys: RedisKeys },
  tenantId: string,
  day: string,
  nowMs: number,
): Promise<UsageSnapshot> {
  const { redis, keys } = deps;
  const replies = await redis
    .multi()
    .hgetall(keys.tenantProfile(tenantId))
    .hgetall(keys.dailyUsage(tenantId, day))
    .get(keys.monthlyUsage(tenantId, day.slice(0, 7)))
    .zcard(keys.running(tenantId))
    .zcount(keys.teamMembers(tenantId), nowMs - TEAM_WINDOW_MS, '+inf')
    .scard(keys.providers(tenantId))
    .hgetall(keys.bytesDaily(tenantId, day))
    .exec();
  if (replies === null) throw new Error('Redis MULTI for the usage snapshot was aborted');
  const values = replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
  const profile = (values[0] ?? {}) as Record<string, string>;
  const daily = (values[1] ?? {}) as Record<string, string>;
  return {
    tenantId,
    day,
    limits: toLimits(profile),
    runToday: toCount(daily.run),
    succeededToday: toCount(daily.succeeded),
    failedToday: toCount(daily.failed),
    runMonth: toCount(values[2]),
    running: toCount(values[3]),
    teamMembers: toCount(values[4]),
    providers: toCount(values[5]),
    bytesBilledToday: toCount(((values[6] ?? {}) as Record<string, string>).billed),
    bytesReservedToday: toCount(((values[6] ?? {}) as Record<string, string>).reserved),
  };
}

/** The §6 quota view; null when the profile is not cached (the caller reloads it and asks again). */
export async function getQuotaView(deps: QuotaViewDeps, tenantId: string): Promise<QuotaView | null> {
  const now = deps.clock.now();
  const s = await readUsageSnapshot(deps, tenantId, utcDay(now), now.getTime());
  // A profile cached before the byte limits existed counts as not cached: the caller reloads it and asks again.
  if (s.limits === null || s.limits.dailyBytesBudget === null) return null;
  const l = s.limits;
  const budget = s.limits.dailyBytesBudget;
  return {
    tenant_id: tenantId,
    plan: l.plan,
    usage_date: s.day,
    pipelines_run_today: s.runToday,
    daily_limit: l.dailyLimit,
    remaining_today: Math.max(0, l.dailyLimit - s.runToday),
    pipelines_run_month: s.runMonth,
    monthly_limit: l.monthlyLimit,
    remaining_month: Math.max(0, l.monthlyLimit - s.runMonth),
    concurrent_pipelines_running: s.running,
    concurrent_limit: l.concurrentLimit,
    team_members: s.teamMembers,
    team_limit: l.teamLimit,
    providers_used: s.providers,
    provider_limit: l.providerLimit,
    resets_at: nextUtcMidnight(now).toISOString(),
    bytes_billed_today: s.bytesBilledToday,
    daily_bytes_budget: budget,
    remaining_bytes_today: Math.max(0, budget - s.bytesBilledToday - s.bytesReservedToday),
  };
}
