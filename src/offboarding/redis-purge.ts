import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { scanEveryMaster, scanMembers } from '../redis/scan';
import type { OffboardStep } from './types';

/**
 * 5b. Every Redis key of the tenant. The families of src/redis/keys.ts that name a tenant:
 * - tagged `{t:<id>}` (one cluster slot), found by SCAN `<prefix>:{t:<id>}:*` on every master: profile, running,
 *   usage:d:<day>, usage:m:<month>, team, providers, admitted:<day>, run:<id>, inflight:<fp>, idem:<key>, runs,
 *   sched:cfg:<id>, schedules, deferred — and any family added later under the tag;
 * - entries in global indexes: tenants (set), usage:dirty (set), logs:unconfirmed (`<id>|<run>`), sched:due
 *   (`<id>:<config>`), {sched:due}:inflight (`<id>:<config>|<ms>`), batch:due (`b|<id>|<backfill>`), the
 *   `t:<id>` fields of fan-out state hashes {fo:<fanout>}:state, sched:deferred and its entries hash (the
 *   tenant's deferred run ids), apikey:<hash> (entries whose tenant_id is the tenant), rl:<limiter>:tenant:<id>
 *   (rate-limiter counters), lock:onboard:<id>, and the `run:<run id>` de-duplication fields of the
 *   scheduler's daily stats hashes stats:d:<day> (the tenant's run ids read from its runs set).
 * Not the tenant's, left alone: the auth:changes and runs:cancel channels, usage:closed:<day>, stats:d:<day>,
 * migrated:<name>, the offboarding lock (released by the caller), BullMQ's keys (delete_data removed the
 * tenant's jobs through the queue). Index entries go first, the tagged keys last (CONTRIBUTING, "Touch Redis").
 */
export interface TenantRedisKeys {
  /** [index key, member] pairs to remove. */
  indexEntries: Array<{ key: string; kind: 'set' | 'zset' | 'hash'; member: string }>;
  /** Whole keys outside the tag (API-key cache entries, rate-limit counters, the onboarding lock). */
  globalKeys: string[];
  /** Keys under the tenant's tag. */
  taggedKeys: string[];
}

export async function findTenantKeys(redis: RedisClient, keys: RedisKeys, tenantId: string): Promise<TenantRedisKeys> {
  const indexEntries: TenantRedisKeys['indexEntries'] = [];
  for (const key of [keys.tenantIndex(), keys.usageDirty()]) if ((await redis.sismember(key, tenantId)) === 1) indexEntries.push({ key, kind: 'set', member: tenantId });
  const zsetIndexes = [[keys.logsUnconfirmed(), `${tenantId}|*`], [keys.scheduleDue(), `${tenantId}:*`], [keys.scheduleInflight(), `${tenantId}:*`], [keys.batchDue(), `b|${tenantId}|*`]] as const;
  for (const [key, pattern] of zsetIndexes) {
    for (const member of await scanMembers(redis, 'zset', key, pattern)) indexEntries.push({ key, kind: 'zset', member });
  }
  for (const runId of await deferredRunIds(redis, keys, tenantId)) {
    indexEntries.push({ key: keys.deferredQueue(), kind: 'zset', member: runId }, { key: keys.deferredEntries(), kind: 'hash', member: runId });
  }

  const runIds = await redis.zrange(keys.tenantRuns(tenantId), 0, -1);
  if (runIds.length > 0) {
    for (const key of await scanEveryMaster(redis, keys.schedulerDailyPattern())) {
      const fields = runIds.map((id) => `run:${id}`);
      const present = await redis.hmget(key, ...fields);
      fields.forEach((member, i) => {
        if (present[i] !== null && present[i] !== undefined) indexEntries.push({ key, kind: 'hash', member });
      });
    }
  }

  // A fan-out's state hash keeps one `t:<tenantId>` outcome field per tenant it reached.
  for (const key of await scanEveryMaster(redis, keys.fanoutPattern())) {
    if ((await redis.hexists(key, `t:${tenantId}`)) === 1) indexEntries.push({ key, kind: 'hash', member: `t:${tenantId}` });
  }

  const apiKeyEntries = await scanEveryMaster(redis, keys.apiKeyPattern());
  const owners = await Promise.all(apiKeyEntries.map((k) => redis.hget(k, 'tenant_id')));
  const globalKeys = apiKeyEntries.filter((_, i) => owners[i] === tenantId);
  globalKeys.push(...(await scanEveryMaster(redis, keys.rateLimitTenantPattern(tenantId))));
  const onboardLock = keys.lock(`onboard:${tenantId}`);
  if ((await redis.exists(onboardLock)) === 1) globalKeys.push(onboardLock);

  return { indexEntries, globalKeys, taggedKeys: await scanEveryMaster(redis, keys.tenantKeyPattern(tenantId)) };
}

/** The tenant's deferred run ids: its own set, and entries of the global hash that name it (a crash may have left either). */
async function deferredRunIds(redis: RedisClient, keys: RedisKeys, tenantId: string): Promise<string[]> {
  const ids = new Set(await redis.zrange(keys.tenantDeferred(tenantId), 0, -1));
  let cursor = '0';
  do {
    const [next, batch] = await redis.hscan(keys.deferredEntries(), cursor, 'COUNT', 1000);
    for (let i = 0; i + 1 < batch.length; i += 2) {
      if ((JSON.parse(batch[i + 1] ?? '{}') as { tenant_id?: string }).tenant_id === tenantId) ids.add(batch[i] ?? '');
    }
    cursor = next;
  } while (cursor !== '0');
  ids.delete('');
  return [...ids];
}

const BATCH = 500;

/** Deletes what findTenantKeys found: index entries (one command each), then global keys, then the tagged keys in one-slot batches. */
export async function purgeTenantKeys(redis: RedisClient, found: TenantRedisKeys): Promise<void> {
  await Promise.all(found.indexEntries.map((e) => (e.kind === 'set' ? redis.srem(e.key, e.member) : e.kind === 'zset' ? redis.zrem(e.key, e.member) : redis.hdel(e.key, e.member))));
  await Promise.all(found.globalKeys.map((k) => redis.unlink(k)));
  for (let i = 0; i < found.taggedKeys.length; i += BATCH) await redis.unlink(...found.taggedKeys.slice(i, i + BATCH));
}

export const purgeRedisStep: OffboardStep = {
  name: 'purge_redis',
  async run({ tenantId, deps, record }) {
    const { redis, keys } = deps.tenant;
    const found = await findTenantKeys(redis, keys, tenantId);
    await purgeTenantKeys(redis, found);
    const keysDeleted = found.globalKeys.length + found.taggedKeys.length;
    await record({ redis_keys: keysDeleted, redis_index_entries: found.indexEntries.length });
    return { detail: `${keysDeleted} Redis keys and ${found.indexEntries.length} global index entries deleted` };
  },
  async plan({ tenantId, deps }) {
    const found = await findTenantKeys(deps.tenant.redis, deps.tenant.keys, tenantId);
    return `${found.globalKeys.length + found.taggedKeys.length} Redis keys and ${found.indexEntries.length} global index entries would be deleted`;
  },
};
