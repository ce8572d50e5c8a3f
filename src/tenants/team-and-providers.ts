import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Clock } from '../shared/clock';
import { ScriptRunner } from '../redis/scripts';
import { scriptError, SCRIPT_CODES } from '../redis/scripts/errors';

/**
 * The plan's team and provider limits. Each check-and-record is one Lua script, so two requests
 * introducing two new users at once cannot both take the last seat.
 */
export interface TeamAndProvidersDeps {
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
}

/** `known`: already counted; `added`: counted now; `profile_missing`: reload the profile and retry. */
export type TouchResult = 'known' | 'added' | 'profile_missing';

export const TEAM_WINDOW_MS = 30 * 24 * 60 * 60 * 1000;
export const TEAM_TTL_SECONDS = Math.ceil(TEAM_WINDOW_MS / 1000) + 24 * 3600;

export class TeamAndProviders {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly clock: Clock;
  private readonly scripts: ScriptRunner;

  constructor(deps: TeamAndProvidersDeps) {
    this.redis = deps.redis;
    this.keys = deps.keys;
    this.clock = deps.clock;
    this.scripts = new ScriptRunner(deps.redis);
  }

  /** Records an X-User-ID; a new one beyond the team size throws 403 TEAM_LIMIT_REACHED. */
  async touchTeamMember(tenantId: string, userId: string, now: Date = this.clock.now()): Promise<TouchResult> {
    const code = await this.scripts.run(
      'team-touch',
      [this.keys.teamMembers(tenantId), this.keys.tenantProfile(tenantId)],
      [userId, now.getTime(), TEAM_WINDOW_MS, TEAM_TTL_SECONDS],
    );
    return toTouchResult(code, now);
  }

  /** Records a provider the tenant runs or schedules; a new one beyond the limit throws 403 PROVIDER_LIMIT_REACHED. */
  async touchProvider(tenantId: string, provider: string): Promise<TouchResult> {
    const code = await this.scripts.run(
      'provider-touch',
      [this.keys.providers(tenantId), this.keys.tenantProfile(tenantId)],
      [provider.toLowerCase()],
    );
    return toTouchResult(code, this.clock.now());
  }

  /** Frees a provider seat (e.g. its settings were deleted). Returns whether it was counted. */
  async forgetProvider(tenantId: string, provider: string): Promise<boolean> {
    return (await this.redis.srem(this.keys.providers(tenantId), provider.toLowerCase())) === 1;
  }

  /** Distinct users seen within the window ending at `now`. */
  async teamMemberCount(tenantId: string, now: Date = this.clock.now()): Promise<number> {
    return this.redis.zcount(this.keys.teamMembers(tenantId), now.getTime() - TEAM_WINDOW_MS, '+inf');
  }

  async providerCount(tenantId: string): Promise<number> {
    return this.redis.scard(this.keys.providers(tenantId));
  }
}

function toTouchResult(code: number, now: Date): TouchResult {
  if (code === 1) return 'known';
  if (code === 2) return 'added';
  if (code === SCRIPT_CODES.profileMissing) return 'profile_missing';
  throw scriptError(code, { now });
}
