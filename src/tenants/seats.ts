import type { Clock } from '../shared/clock';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { RecentTouches } from './recent-touches';
import { TeamAndProviders } from './team-and-providers';

/**
 * Team-member and provider seats as the request path uses them: the atomic limit check in Redis,
 * skipped for seats this process confirmed a moment ago (see src/tenants/recent-touches.ts).
 */
export interface Seats {
  /** Throws 403 PROVIDER_LIMIT_REACHED for a new provider beyond the plan. */
  provider(tenantId: string, provider: string): Promise<void>;
  /** Throws 403 TEAM_LIMIT_REACHED for a new X-User-ID beyond the plan. */
  member(tenantId: string, userId: string): Promise<void>;
  /** Drops this process's memory of a provider seat (its settings were deleted). */
  forgetProvider(tenantId: string, provider: string): void;
}

/** Seats backed by the atomic Redis checks, with this process's memory of recently confirmed ones in front. */
export function createSeats(deps: { redis: RedisClient; keys: RedisKeys; clock: Clock }): Seats {
  const teamProviders = new TeamAndProviders(deps);
  const recent = new RecentTouches();
  const nowMs = (): number => deps.clock.now().getTime();
  return {
    provider: (tenantId, provider) => recent.touch(`p|${tenantId}|${provider}`, nowMs(), () => teamProviders.touchProvider(tenantId, provider)),
    member: (tenantId, userId) => recent.touch(`u|${tenantId}|${userId}`, nowMs(), () => teamProviders.touchTeamMember(tenantId, userId)),
    forgetProvider: (tenantId, provider) => recent.forget(`p|${tenantId}|${provider}`),
  };
}
