import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';

/**
 * The Redis copies of tenant profiles and API keys that the trigger path reads instead of the
 * warehouse. Field names are a contract: the admission Lua script reads the profile hash by name.
 * Both are written on every change (onboarding, plan/status update, revoke, rotate), so a change
 * takes effect on the next request rather than when a TTL runs out.
 */
/** DELETED: an offboarded tenant's tombstone (src/offboarding/); never cached, every path treats it as gone. */
export type TenantStatus = 'ACTIVE' | 'SUSPENDED' | 'DELETED';

export interface CachedProfile {
  status: TenantStatus;
  plan: string;
  dailyLimit: number;
  monthlyLimit: number;
  concurrentLimit: number;
  teamLimit: number;
  providerLimit: number;
  /** From the plan catalog (the subscription row carries no byte limits): README "Cost guardrails". */
  maxBytesBilledPerQuery: number;
  dailyBytesBudget: number;
  companyName: string;
  adminEmail: string;
  /** ISO timestamp. */
  createdAt: string;
}

export interface CachedApiKey {
  tenantId: string;
  keyId: string;
  active: boolean;
  /** Epoch ms after which the key stops working (rotation grace), or null. */
  expiresAtMs: number | null;
}

/** Positive API-key entries are re-read from the warehouse daily at most; changes overwrite them at once. */
export const API_KEY_CACHE_TTL_SECONDS = 24 * 3600;
/** Unknown hashes are remembered briefly so a flood of bad keys does not reach the warehouse. */
export const NEGATIVE_CACHE_TTL_SECONDS = 60;

const NEGATIVE_MARKER = 'unknown';

export async function writeProfileCache(redis: RedisClient, keys: RedisKeys, tenantId: string, profile: CachedProfile): Promise<void> {
  const key = keys.tenantProfile(tenantId);
  // Replace the whole hash atomically so no reader sees a mix of old and new limits; a tenant with a profile is
  // no longer absent (tenant-absent.lua).
  await redis
    .multi()
    .del(key, keys.tenantAbsent(tenantId))
    .hset(key, {
      status: profile.status,
      plan: profile.plan,
      daily_limit: String(profile.dailyLimit),
      monthly_limit: String(profile.monthlyLimit),
      concurrent_limit: String(profile.concurrentLimit),
      team_limit: String(profile.teamLimit),
      provider_limit: String(profile.providerLimit),
      max_bytes_billed_per_query: String(profile.maxBytesBilledPerQuery),
      daily_bytes_budget: String(profile.dailyBytesBudget),
      company_name: profile.companyName,
      admin_email: profile.adminEmail,
      created_at: profile.createdAt,
    })
    .exec();
}

export async function readProfileCache(redis: RedisClient, keys: RedisKeys, tenantId: string): Promise<CachedProfile | null> {
  const h = await redis.hgetall(keys.tenantProfile(tenantId));
  if (h.status !== 'ACTIVE' && h.status !== 'SUSPENDED') return null;
  return {
    status: h.status,
    plan: h.plan ?? '',
    dailyLimit: Number(h.daily_limit ?? 0),
    monthlyLimit: Number(h.monthly_limit ?? 0),
    concurrentLimit: Number(h.concurrent_limit ?? 0),
    teamLimit: Number(h.team_limit ?? 0),
    providerLimit: Number(h.provider_limit ?? 0),
    maxBytesBilledPerQuery: Number(h.max_bytes_billed_per_query ?? 0),
    dailyBytesBudget: Number(h.daily_bytes_budget ?? 0),
    companyName: h.company_name ?? '',
    adminEmail: h.admin_email ?? '',
    createdAt: h.created_at ?? '',
  };
}

export async function deleteProfileCache(redis: RedisClient, keys: RedisKeys, tenantId: string): Promise<void> {
  await redis.del(keys.tenantProfile(tenantId));
}

export async function writeApiKeyCache(redis: RedisClient, keys: RedisKeys, keyHash: string, entry: CachedApiKey): Promise<void> {
  const key = keys.apiKey(keyHash);
  await redis
    .multi()
    .del(key)
    .hset(key, {
      tenant_id: entry.tenantId,
      key_id: entry.keyId,
      active: entry.active ? '1' : '0',
      expires_at: entry.expiresAtMs === null ? '' : String(entry.expiresAtMs),
    })
    .expire(key, API_KEY_CACHE_TTL_SECONDS)
    .exec();
}

export type ApiKeyCacheHit = { kind: 'miss' } | { kind: 'unknown' } | { kind: 'key'; entry: CachedApiKey };

export async function readApiKeyCache(redis: RedisClient, keys: RedisKeys, keyHash: string): Promise<ApiKeyCacheHit> {
  const h = await redis.hgetall(keys.apiKey(keyHash));
  if (h.active === undefined) return { kind: 'miss' };
  if (h[NEGATIVE_MARKER] === '1' || !h.tenant_id || !h.key_id) return { kind: 'unknown' };
  const expires = h.expires_at ? Number(h.expires_at) : null;
  return {
    kind: 'key',
    entry: { tenantId: h.tenant_id, keyId: h.key_id, active: h.active === '1', expiresAtMs: Number.isFinite(expires) ? expires : null },
  };
}

/** How long a tenant's "every key is cached" marker lives: well inside API_KEY_CACHE_TTL_SECONDS (see fillApiKeyCache). */
export const API_KEYS_COMPLETE_TTL_SECONDS = 12 * 3600;

/**
 * An entry written from a warehouse read (apikey-fill.lua), which a change may have overtaken: an entry already
 * there is kept (a key's lives at least API_KEY_CACHE_TTL_SECONDS from now); `null` writes "no such key" for
 * NEGATIVE_CACHE_TTL_SECONDS, only where there is no entry at all. Issue, rotate and revoke overwrite instead
 * (writeApiKeyCache).
 */
export async function fillApiKeyCache(redis: RedisClient, keys: RedisKeys, keyHash: string, entry: CachedApiKey | null): Promise<void> {
  const args = entry
    ? [entry.tenantId, entry.keyId, entry.active ? '1' : '0', entry.expiresAtMs === null ? '' : String(entry.expiresAtMs), API_KEY_CACHE_TTL_SECONDS]
    : ['', '', '0', '', NEGATIVE_CACHE_TTL_SECONDS];
  await new ScriptRunner(redis).run('apikey-fill', [keys.apiKey(keyHash)], args);
}

export async function deleteApiKeyCache(redis: RedisClient, keys: RedisKeys, keyHash: string): Promise<void> {
  await redis.del(keys.apiKey(keyHash));
}
