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
  /**
   * The seats of a trigger that the admission script must still check (see src/tenants/trigger-admission.ts);
   * those confirmed a moment ago by this process are left out.
   */
  unconfirmed(tenantId: string, seats: TriggerSeats): TriggerSeats;
  /** Remembers seats the admission script confirmed. */
  confirmed(tenantId: string, seats: TriggerSeats): void;
}

/** The seats a trigger takes: its provider, and the team seat of its X-User-ID (API triggers). */
export interface TriggerSeats {
  provider?: string;
  userId?: string;
}

/** Seats backed by the atomic Redis checks, with this process's memory of recently confirmed ones in front. */
export function createSeats(deps: { redis: RedisClient; keys: RedisKeys; clock: Clock }): Seats {
  const teamProviders = new TeamAndProviders(deps);
  const recent = new RecentTouches();
  const nowMs = (): number => deps.clock.now().getTime();
  const providerKey = (tenantId: string, provider: string): string => `p|${tenantId}|${provider}`;
  const memberKey = (tenantId: string, userId: string): string => `u|${tenantId}|${userId}`;
  return {
    provider: (tenantId, provider) => recent.touch(providerKey(tenantId, provider), nowMs(), () => teamProviders.touchProvider(tenantId, provider)),
    member: (tenantId, userId) => recent.touch(memberKey(tenantId, userId), nowMs(), () => teamProviders.touchTeamMember(tenantId, userId)),
    forgetProvider: (tenantId, provider) => recent.forget(providerKey(tenantId, provider)),
    unconfirmed: (tenantId, seats) => {
      const now = nowMs();
      return {
        ...(seats.provider !== undefined && !recent.isFresh(providerKey(tenantId, seats.provider), now) ? { provider: seats.provider } : {}),
        ...(seats.userId !== undefined && !recent.isFresh(memberKey(tenantId, seats.userId), now) ? { userId: seats.userId } : {}),
      };
    },
    confirmed: (tenantId, seats) => {
      const now = nowMs();
      if (seats.provider !== undefined) recent.remember(providerKey(tenantId, seats.provider), now);
      if (seats.userId !== undefined) recent.remember(memberKey(tenantId, seats.userId), now);
    },
  };
}
