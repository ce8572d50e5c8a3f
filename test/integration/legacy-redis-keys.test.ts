import { expect } from 'chai';
import { silentLogger } from '../../src/shared/logger';
import { encodeConfig } from '../../src/scheduler/config-hash';
import { dueMember } from '../../src/scheduler/due-index';
import { migrateLegacyRedisKeys } from '../../src/system/migrate-redis-keys';
import { createTestRedis, deletePrefix } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { singleRedis } from '../helpers/redis-targets';
import { onboard, startTestSystem } from '../helpers/system';
import { storedConfig } from '../scheduler/fixture';

/**
 * Upgrading a deployment whose Redis holds the layout from before keys were tenant-tagged: the first
 * process of the new version moves run and schedule hashes under their tenant's tag and rewrites the
 * index members that named them, so existing schedules keep firing and recent runs stay readable. Only a
 * single server can hold the old layout (the previous version could not run on a cluster), so this suite
 * always runs on one.
 */
const TENANT = 'legacy_corp';
const CONFIG_ID = '0b5d7c9e-1f7a-4c8e-9a3b-6d2e4f1a2b3c';
const RUN_ID = '5f0c6c1e-6a43-4c36-9d6e-2f1f3f1f3f1f';
const FIRE_MS = Date.parse('2030-01-01T02:00:00Z');

const config = storedConfig(CONFIG_ID, TENANT, { pipeline_template: 'dryrun', timezone: 'UTC' });

/** What the previous version wrote, by its key names (spelled out: keys.ts no longer builds them). */
async function writeLegacyLayout(t: TestRedis): Promise<void> {
  const p = t.prefix;
  await t.redis.hset(`${p}:sched:cfg:${CONFIG_ID}`, encodeConfig(config));
  await t.redis.sadd(t.keys.tenantSchedules(TENANT), CONFIG_ID);
  await t.redis.zadd(t.keys.scheduleDue(), FIRE_MS, CONFIG_ID);
  await t.redis.zadd(t.keys.scheduleInflight(), FIRE_MS, `${CONFIG_ID}|${FIRE_MS - 86_400_000}`);
  await t.redis.hset(`${p}:run:${RUN_ID}`, { pipeline_logging_id: RUN_ID, tenant_id: TENANT, status: 'COMPLETED' });
  await t.redis.expire(`${p}:run:${RUN_ID}`, 3600);
  await t.redis.zadd(t.keys.logsUnconfirmed(), 1000, RUN_ID);
  await t.redis.zadd(t.keys.logsUnconfirmed(), 1000, 'run-whose-hash-expired');
  await t.redis.hset(`${p}:sched:deferred:entries`, 'deferred-run', '{"run_id":"deferred-run","tenant_id":"legacy_corp"}');
}

describe('upgrading a Redis that holds the untagged key layout', () => {
  let t: TestRedis;
  beforeEach(async () => {
    t = await createTestRedis(await singleRedis.target());
    await writeLegacyLayout(t);
  });
  afterEach(async () => t.cleanup());

  it('moves run and schedule hashes under their tenant’s tag, keeping their content and TTL', async () => {
    expect(await migrateLegacyRedisKeys(t.redis, t.keys, silentLogger())).to.deep.equal({ schedules: 1, runs: 1, indexMembers: 4, deferredEntries: 1 });
    expect(await t.redis.hget(t.keys.schedule(TENANT, CONFIG_ID), 'schedule_cron')).to.equal('0 2 * * *');
    expect(await t.redis.hget(t.keys.run(TENANT, RUN_ID), 'status')).to.equal('COMPLETED');
    expect(await t.redis.ttl(t.keys.run(TENANT, RUN_ID))).to.be.within(3500, 3600);
    expect(await t.redis.exists(`${t.prefix}:sched:cfg:${CONFIG_ID}`, `${t.prefix}:run:${RUN_ID}`, `${t.prefix}:sched:deferred:entries`)).to.equal(0);
  });

  it('rewrites the due index, in-flight leases and log outbox to name the tenant, and moves the deferred entries', async () => {
    await migrateLegacyRedisKeys(t.redis, t.keys, silentLogger());
    const member = dueMember({ tenantId: TENANT, configId: CONFIG_ID });
    expect(await t.redis.zrange(t.keys.scheduleDue(), 0, -1, 'WITHSCORES')).to.deep.equal([member, String(FIRE_MS)]);
    expect(await t.redis.zrange(t.keys.scheduleInflight(), 0, -1)).to.deep.equal([`${member}|${FIRE_MS - 86_400_000}`]);
    expect(await t.redis.zrange(t.keys.logsUnconfirmed(), 0, -1)).to.deep.equal([`${TENANT}|${RUN_ID}`]);
    expect(await t.redis.hkeys(t.keys.deferredEntries())).to.deep.equal(['deferred-run']);
  });

  it('runs once: a second call finds the marker and changes nothing', async () => {
    await migrateLegacyRedisKeys(t.redis, t.keys, silentLogger());
    await t.redis.hset(`${t.prefix}:run:late`, { tenant_id: TENANT });
    expect(await migrateLegacyRedisKeys(t.redis, t.keys, silentLogger())).to.equal(null);
    expect(await t.redis.exists(`${t.prefix}:run:late`)).to.equal(1);
  });

  it('lets the upgraded system list the schedule with its next fire time', async () => {
    const system = await startTestSystem({ role: 'api', redis: t.target, env: { REDIS_KEY_PREFIX: t.prefix } });
    try {
      const key = await onboard(system, TENANT);
      const listed = await system.request.get(`/api/v1/scheduler/customer/${TENANT}/pipelines`).set('X-API-Key', key);
      expect((listed.body.pipelines as { config_id: string; next_run_time: string }[]).map((c) => [c.config_id, c.next_run_time])).to.deep.equal([[CONFIG_ID, new Date(FIRE_MS).toISOString()]]);
    } finally {
      await system.close();
      await deletePrefix(t.redis, t.prefix);
    }
  });
});
