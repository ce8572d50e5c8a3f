import Joi from 'joi';
import { AppError, dependencyUnavailable, notFound } from '../shared/errors';
import { newId } from '../shared/ids';
import { generateApiKey, hashApiKey, keyPrefix, tenantIdOfKey } from '../security/api-keys';
import { API_KEYS_COMPLETE_TTL_SECONDS, fillApiKeyCache, readApiKeyCache, readProfileCache, writeApiKeyCache } from './profile-cache';
import type { CachedApiKey } from './profile-cache';
import type { AuthCache, CachedAuth } from './auth-cache';
import { reloadProfileCache } from './profile-loader';
import { readApiKeyByHash, readApiKeyById, readApiKeysOfTenant, readProfile, writeApiKey } from './tenant-store';
import { tryLock } from '../redis/lock';
import { ScriptRunner } from '../redis/scripts';
import type { ApiKeyRecord } from './tenant-store';
import type { TenantDeps } from './tenant-deps';

/**
 * Tenant API keys after onboarding: authentication (Redis first, warehouse second), issue, revoke
 * and rotate. Every change rewrites the Redis entry and is announced to every API process's AuthCache,
 * so it holds on the very next request there too.
 * Plaintext keys are returned to the caller once and never logged or put in an error.
 */

export interface AuthenticatedKey {
  tenantId: string;
  keyId: string;
}

export interface IssuedKey {
  tenant_id: string;
  key_id: string;
  /** The plaintext key: shown once. */
  api_key: string;
  key_prefix: string;
  created_at: string;
}

export interface RevokedKey {
  key_id: string;
  tenant_id: string;
  revoked_at: string;
}

export interface RotatedKey extends IssuedKey {
  previous_key_id: string;
  /** When the previous key stops working (now when no grace was asked for). */
  previous_key_expires_at: string;
}

export const MAX_GRACE_SECONDS = 86_400;

export const rotateBodySchema = Joi.object({
  grace_seconds: Joi.number().integer().min(0).max(MAX_GRACE_SECONDS).default(0)
    .description('Seconds the current key keeps working after rotation (max 86400)'),
}).label('RotateApiKeyRequest');

/** How long "no such tenant" is remembered (tenant-absent.lua); onboarding the tenant deletes the mark at once. */
export const TENANT_ABSENT_TTL_SECONDS = 300;

/**
 * `{tenantId, keyId}` for a valid, active, unexpired key of an ACTIVE tenant; otherwise null. With a
 * `cache` (the API's), a key that authenticated recently is answered from memory (auth-cache.ts); the
 * key and the claimed tenant's profile are read from Redis together, so a miss is one round trip.
 * Only a key Redis cannot answer reaches the warehouse (a billed query job on BigQuery), and only if
 * `warehouseAllowed` (the API's failed-auth lockout) says so; otherwise see `withoutKeyLookup`.
 */
export async function authenticate(
  deps: TenantDeps,
  apiKey: string,
  cache?: AuthCache,
  warehouseAllowed?: () => Promise<boolean>,
): Promise<AuthenticatedKey | null> {
  const claimedTenant = tenantIdOfKey(apiKey);
  if (claimedTenant === null) return null;
  const keyHash = hashApiKey(apiKey);
  const nowMs = deps.clock.now().getTime();
  const unexpired = (entry: CachedAuth): boolean => entry.expiresAtMs === null || nowMs < entry.expiresAtMs;
  const remembered = cache?.get(keyHash, nowMs);
  if (remembered) return unexpired(remembered) ? { tenantId: remembered.tenantId, keyId: remembered.keyId } : null;
  const ticket = cache?.ticket() ?? 0;
  const [cached, cachedProfile] = await Promise.all([cachedKey(deps, claimedTenant, keyHash), readProfileCache(deps.redis, deps.keys, claimedTenant)]);
  let entry = cached;
  if (entry === 'miss' && warehouseAllowed && !(await warehouseAllowed())) entry = await withoutKeyLookup(deps, claimedTenant, keyHash, cachedProfile !== null);
  if (entry === 'miss') {
    if (!cachedProfile && !(await tenantExists(deps, claimedTenant))) return null;
    entry = await keyFromWarehouse(deps, keyHash);
    // The tenant exists: cache every key of it, so the next unknown key claiming it is answered from Redis (guessed
    // keys would otherwise cost a warehouse read each). Not waited for (loadTenantKeys never rejects); a stopping
    // process waits for it (deps.background).
    const loading = loadTenantKeys(deps, claimedTenant);
    deps.background?.track(loading);
  }
  if (!entry || !entry.active || entry.tenantId !== claimedTenant || !unexpired(entry)) return null;
  const profile = cachedProfile ?? (await fromWarehouse(() => reloadProfileCache(deps, entry.tenantId)));
  if (!profile || profile.status !== 'ACTIVE') return null;
  cache?.set(keyHash, { tenantId: entry.tenantId, keyId: entry.keyId, expiresAtMs: entry.expiresAtMs }, nowMs, ticket);
  return { tenantId: entry.tenantId, keyId: entry.keyId };
}

/**
 * A key Redis cannot answer, presented where per-key warehouse lookups are refused (a locked-out address). A tenant
 * Redis has a profile for gets its keys loaded once (loadTenantKeys: one query for all of them, one process at a
 * time, then the tenant is marked complete), so a real key whose entry lapsed is still served — SPEC §6: others'
 * failures never lock a valid key out — while guesses cost at most that one load per tenant. A tenant Redis knows
 * nothing of (unknown, or Redis lost its profile) is not looked up: null, which the caller answers with its lockout.
 */
async function withoutKeyLookup(deps: TenantDeps, claimedTenant: string, keyHash: string, tenantCached: boolean): Promise<CachedApiKey | null> {
  if (!tenantCached) return null;
  await loadTenantKeys(deps, claimedTenant);
  const after = await cachedKey(deps, claimedTenant, keyHash);
  return after === 'miss' ? null : after;
}

/**
 * What Redis alone says of the key: its entry; null ("no such key") when the hash is cached as unknown, when every
 * key of the claimed tenant is cached (RedisKeys.apiKeysComplete) or when the tenant is known not to exist
 * (RedisKeys.tenantAbsent); 'miss' when only the warehouse can tell.
 */
async function cachedKey(deps: TenantDeps, claimedTenant: string, keyHash: string): Promise<CachedApiKey | null | 'miss'> {
  const marks = deps.redis.exists(deps.keys.apiKeysComplete(claimedTenant), deps.keys.tenantAbsent(claimedTenant)); // one slot: the tenant's tag
  const [hit, marked] = await Promise.all([readApiKeyCache(deps.redis, deps.keys, keyHash), marks]);
  if (hit.kind === 'key') return hit.entry;
  return hit.kind === 'unknown' || marked > 0 ? null : 'miss';
}

/** The key's warehouse row, cached for the next request ("no such key" briefly). */
async function keyFromWarehouse(deps: TenantDeps, keyHash: string): Promise<CachedApiKey | null> {
  const row = await fromWarehouse(() => readApiKeyByHash(deps.warehouse, keyHash));
  const entry = row ? cacheEntryOf(row) : null;
  await fillApiKeyCache(deps.redis, deps.keys, keyHash, entry);
  return entry;
}

/**
 * Whether the claimed tenant has a profile in the warehouse that is not an offboarded tombstone. If not, it is
 * marked absent for TENANT_ABSENT_TTL_SECONDS, so keys claiming it are refused from Redis meanwhile (keys naming
 * ever-new tenants are bounded by the failed-auth lockout instead, which `warehouseAllowed` checks).
 */
async function tenantExists(deps: TenantDeps, tenantId: string): Promise<boolean> {
  const profile = await fromWarehouse(() => readProfile(deps.warehouse, tenantId));
  if (profile && profile.status !== 'DELETED') return true;
  await new ScriptRunner(deps.redis).run('tenant-absent', [deps.keys.tenantProfile(tenantId), deps.keys.tenantAbsent(tenantId)], [TENANT_ABSENT_TTL_SECONDS]);
  return false;
}

/** The loader's lock: one process loads a tenant's keys at a time; a load that dies frees it after this. */
const LOAD_LOCK_MS = 60_000;

/**
 * Caches every key of the tenant (fillApiKeyCache: entries a change wrote since the read are kept), then marks
 * the tenant complete for API_KEYS_COMPLETE_TTL_SECONDS — shorter than an entry's TTL, so while the mark lives
 * every key of the tenant has its entry. Issue and rotate write the new key's entry before the key is returned.
 * Never rejects: without the mark, lookups simply ask the warehouse as before.
 */
export async function loadTenantKeys(deps: Pick<TenantDeps, 'redis' | 'keys' | 'warehouse' | 'logger'>, tenantId: string): Promise<void> {
  const lock = await tryLock(deps.redis, deps.keys.apiKeysLoading(tenantId), LOAD_LOCK_MS).catch(() => null);
  if (!lock) return;
  try {
    for (const row of await readApiKeysOfTenant(deps.warehouse, tenantId)) {
      await fillApiKeyCache(deps.redis, deps.keys, row.keyHash, cacheEntryOf(row));
    }
    await deps.redis.set(deps.keys.apiKeysComplete(tenantId), '1', 'EX', API_KEYS_COMPLETE_TTL_SECONDS);
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message, tenant_id: tenantId }, 'api keys of the tenant not cached');
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** Issues an additional key for an existing tenant (admin). */
export async function issueKey(deps: TenantDeps, tenantId: string): Promise<IssuedKey> {
  const profile = await readProfile(deps.warehouse, tenantId);
  if (!profile) throw notFound('TENANT_NOT_FOUND', `Tenant '${tenantId}' not found`);
  if (profile.status === 'DELETED') throw new AppError(409, 'TENANT_DELETED', `Tenant '${tenantId}' was offboarded; its id cannot be used again`);
  const now = deps.clock.now();
  const apiKey = generateApiKey(tenantId);
  const record: ApiKeyRecord = {
    keyId: newId(),
    tenantId,
    keyHash: hashApiKey(apiKey),
    encryptedKey: await deps.keyManager.encrypt(Buffer.from(apiKey, 'utf8')),
    keyPrefix: keyPrefix(apiKey),
    isActive: true,
    expiresAt: null,
    createdAt: now.toISOString(),
    revokedAt: null,
    lastUsedAt: null,
  };
  await saveKey(deps, record, now);
  deps.logger.info({ tenant_id: tenantId, key_id: record.keyId }, 'api key issued');
  return { tenant_id: tenantId, key_id: record.keyId, api_key: apiKey, key_prefix: record.keyPrefix, created_at: record.createdAt };
}

/** Deactivates a key at once (admin). Revoking an already revoked key is a no-op that succeeds. */
export async function revokeKey(deps: TenantDeps, keyId: string): Promise<RevokedKey> {
  const row = await readApiKeyById(deps.warehouse, keyId);
  if (!row) throw notFound('API_KEY_NOT_FOUND', `API key '${keyId}' not found`);
  const now = deps.clock.now();
  const revokedAt = row.revokedAt ?? now.toISOString();
  await saveKey(deps, { ...row, isActive: false, revokedAt }, now);
  deps.logger.info({ tenant_id: row.tenantId, key_id: keyId }, 'api key revoked');
  return { key_id: keyId, tenant_id: row.tenantId, revoked_at: revokedAt };
}

/**
 * Issues a new key and retires `currentKeyId`: at once (grace 0) or when `graceSeconds` have
 * passed (via expires_at), so clients can switch over without downtime.
 *
 * Only a key without an expiry rotates: a key in its grace is the one being retired (often because it
 * leaked), and rotating it again would mint a key that outlives it (409 API_KEY_EXPIRING). A lock per key
 * keeps two rotations of one key from both passing that check.
 */
export async function rotateKey(deps: TenantDeps, tenantId: string, currentKeyId: string, graceSeconds = 0): Promise<RotatedKey> {
  if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_GRACE_SECONDS) {
    throw new AppError(422, 'VALIDATION_ERROR', `grace_seconds must be an integer between 0 and ${MAX_GRACE_SECONDS}`, {
      errors: [{ field: 'grace_seconds', message: `must be between 0 and ${MAX_GRACE_SECONDS}` }],
    });
  }
  const lock = await tryLock(deps.redis, deps.keys.apiKeyRotation(tenantId, currentKeyId), ROTATE_LOCK_MS);
  if (!lock) throw keyExpiring('This API key is being rotated by another request; use the key that rotation returns');
  try {
    const current = await readApiKeyById(deps.warehouse, currentKeyId);
    // Another tenant's key id is reported as absent: never reveal that it exists.
    if (!current || current.tenantId !== tenantId) throw notFound('API_KEY_NOT_FOUND', `API key '${currentKeyId}' not found`);
    if (current.expiresAt !== null || !current.isActive || current.revokedAt !== null) {
      throw keyExpiring(`This API key was rotated and stops working at ${current.expiresAt ?? current.revokedAt ?? 'once'}; rotate with the key that replaced it`);
    }
    return await retireAndReplace(deps, current, graceSeconds);
  } finally {
    await lock.release().catch(() => undefined);
  }
}

/** A rotation's lock; a rotation takes a few warehouse writes, far less than this. */
const ROTATE_LOCK_MS = 60_000;

const keyExpiring = (detail: string): AppError => new AppError(409, 'API_KEY_EXPIRING', detail);

async function retireAndReplace(deps: TenantDeps, current: ApiKeyRecord, graceSeconds: number): Promise<RotatedKey> {
  const issued = await issueKey(deps, current.tenantId);
  const now = deps.clock.now();
  const retired: ApiKeyRecord =
    graceSeconds === 0
      ? { ...current, isActive: false, revokedAt: now.toISOString() }
      : { ...current, expiresAt: new Date(now.getTime() + graceSeconds * 1000).toISOString() };
  await saveKey(deps, retired, now);
  deps.logger.info({ tenant_id: current.tenantId, key_id: issued.key_id, previous_key_id: current.keyId, grace_seconds: graceSeconds }, 'api key rotated');
  return {
    ...issued,
    previous_key_id: current.keyId,
    previous_key_expires_at: retired.isActive ? (retired.expiresAt ?? now.toISOString()) : (retired.revokedAt ?? now.toISOString()),
  };
}

/** Warehouse row first (the record of truth), then the cache entry the next request reads. */
async function saveKey(deps: TenantDeps, record: ApiKeyRecord, now: Date): Promise<void> {
  await writeApiKey(deps.warehouse, record, now);
  await writeApiKeyCache(deps.redis, deps.keys, record.keyHash, cacheEntryOf(record));
  await deps.authChanges?.keyChanged(record.keyHash);
}

function cacheEntryOf(row: ApiKeyRecord): CachedApiKey {
  return {
    tenantId: row.tenantId,
    keyId: row.keyId,
    active: row.isActive && row.revokedAt === null,
    expiresAtMs: row.expiresAt === null ? null : new Date(row.expiresAt).getTime(),
  };
}

/** A warehouse failure on the auth path is a 503, not a 500 and not a silent "invalid key". */
async function fromWarehouse<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw dependencyUnavailable('Warehouse', err);
  }
}
