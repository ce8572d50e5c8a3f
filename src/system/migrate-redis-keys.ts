import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Logger } from '../shared/logger';
import { dueMember, parseDueMember } from '../scheduler/due-index';
import { outboxMember, parseOutboxMember } from '../queues/run-log-outbox';

/**
 * One-off move to the tenant-tagged key layout. Before it, run hashes (`<p>:run:<id>`) and schedule
 * hashes (`<p>:sched:cfg:<id>`) had no tenant tag, and the due index, the in-flight leases and the log
 * outbox named them by bare id; the deferred entries hash had another name. Schedules live only in
 * Redis for the tick, so without this an upgrade would silently stop every existing schedule.
 *
 * Only a single server can hold the old layout (the previous version could not run on a cluster), so
 * on a cluster nothing is done. Idempotent: a marker key records completion; a process that finds
 * another one migrating waits for the marker. Stop every process of the previous version first.
 */
export interface KeyMigrationSummary {
  schedules: number;
  runs: number;
  indexMembers: number;
  deferredEntries: number;
}

const MIGRATION = 'tenant-tagged-keys';
const LOCK_MS = 120_000;
const TENANT_ID = /^[a-z0-9_]{1,64}$/;

export async function migrateLegacyRedisKeys(redis: RedisClient, keys: RedisKeys, logger: Logger): Promise<KeyMigrationSummary | null> {
  if (redis instanceof Cluster) return null;
  const marker = keys.migrationDone(MIGRATION);
  const lock = keys.lock(`migrate:${MIGRATION}`);
  const deadline = Date.now() + 2 * LOCK_MS;
  while (!(await redis.exists(marker))) {
    if ((await redis.set(lock, '1', 'PX', LOCK_MS, 'NX')) !== null) {
      try {
        return await migrate(redis, keys, marker, logger);
      } finally {
        await redis.del(lock);
      }
    }
    // Another process is migrating: wait for its marker (or take over once its lock lapsed).
    if (Date.now() > deadline) throw new Error(`Redis key migration ${MIGRATION} did not finish; see the logs of the process that started it`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

async function migrate(redis: RedisClient, keys: RedisKeys, marker: string, logger: Logger): Promise<KeyMigrationSummary> {
  const scheduleTenants = await renameByTenant(redis, keys.legacySchedulePattern(), (tenant, id) => keys.schedule(tenant, id));
  const runTenants = await renameByTenant(redis, keys.legacyRunPattern(), (tenant, id) => keys.run(tenant, id));
  let indexMembers = 0;
  indexMembers += await rewriteMembers(redis, keys.scheduleDue(), (m) => (parseDueMember(m) ? m : withTenant(scheduleTenants, m, (tenantId) => dueMember({ tenantId, configId: m }))));
  indexMembers += await rewriteMembers(redis, keys.scheduleInflight(), (m) => {
    const at = m.lastIndexOf('|');
    const configId = m.slice(0, at);
    return at <= 0 || parseDueMember(configId) ? m : withTenant(scheduleTenants, configId, (tenantId) => `${dueMember({ tenantId, configId })}${m.slice(at)}`);
  });
  indexMembers += await rewriteMembers(redis, keys.logsUnconfirmed(), (m) => (parseOutboxMember(m) ? m : withTenant(runTenants, m, (tenantId) => outboxMember({ tenantId, runId: m }))));
  const deferredEntries = await moveHash(redis, keys.legacyDeferredEntries(), keys.deferredEntries());
  await redis.set(marker, new Date().toISOString());
  const summary = { schedules: scheduleTenants.size, runs: runTenants.size, indexMembers, deferredEntries };
  if (Object.values(summary).some((n) => n > 0)) logger.info(summary, 'moved Redis keys to the tenant-tagged layout');
  return summary;
}

/** Renames every key matching `pattern` to the name `to` gives it from the hash's tenant_id; id → tenant. */
async function renameByTenant(redis: RedisClient, pattern: string, to: (tenantId: string, id: string) => string): Promise<Map<string, string>> {
  const tenants = new Map<string, string>();
  const prefixLength = pattern.length - 1;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const id = key.slice(prefixLength);
      const tenantId = await redis.hget(key, 'tenant_id');
      // RENAME keeps the TTL; a hash without a usable tenant cannot be found by the new code either way.
      if (tenantId && TENANT_ID.test(tenantId)) {
        await redis.rename(key, to(tenantId, id));
        tenants.set(id, tenantId);
      }
    }
  } while (cursor !== '0');
  return tenants;
}

/** The new member for an old bare id, from the tenant its hash named; null (drop it) when no hash vouched for it. */
function withTenant(tenants: Map<string, string>, id: string, build: (tenantId: string) => string): string | null {
  const tenantId = tenants.get(id);
  return tenantId ? build(tenantId) : null;
}

/** Rewrites the members of a sorted set, keeping scores; `rewrite` answers the new member or null to drop it. */
async function rewriteMembers(redis: RedisClient, key: string, rewrite: (member: string) => string | null): Promise<number> {
  const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
  let changed = 0;
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const member = flat[i] as string;
    const next = rewrite(member);
    if (next === member) continue;
    const tx = redis.multi().zrem(key, member);
    if (next !== null) tx.zadd(key, flat[i + 1] as string, next);
    await tx.exec();
    changed += 1;
  }
  return changed;
}

/** Moves the fields of `from` into `to` (fields already in `to` win) and deletes `from`. */
async function moveHash(redis: RedisClient, from: string, to: string): Promise<number> {
  const fields = await redis.hgetall(from);
  const entries = Object.entries(fields);
  for (const [field, value] of entries) await redis.hsetnx(to, field, value);
  if (entries.length > 0) await redis.del(from);
  return entries.length;
}
