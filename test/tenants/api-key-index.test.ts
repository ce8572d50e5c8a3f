import { expect } from 'chai';
import { generateApiKey, hashApiKey } from '../../src/security/api-keys';
import { RedisKeys } from '../../src/redis/keys';
import { ScriptRunner } from '../../src/redis/scripts';
import { TENANT_ABSENT_TTL_SECONDS } from '../../src/tenants/api-key-service';
import { fillApiKeyCache, readApiKeyCache, writeApiKeyCache, writeProfileCache } from '../../src/tenants/profile-cache';
import type { CachedProfile } from '../../src/tenants/profile-cache';
import type { Warehouse } from '../../src/warehouse/types';
import { eventually } from '../helpers/polling';
import { createTestRedis, dropTestKeys } from '../helpers/redis';
import { defaultRedisTarget } from '../helpers/redis-targets';
import { closeRedis, createRedis } from '../../src/redis/connection';
import type { TestRedis } from '../helpers/redis';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import { beforeEachQuery } from '../helpers/warehouse-spy';
import type { TestWarehouse } from '../helpers/warehouse';

/** The real warehouse, counting the API-key lookups by hash that reach it. */
function countingKeyLookups(inner: Warehouse): { warehouse: Warehouse; lookups: () => number } {
  let lookups = 0;
  const warehouse = beforeEachQuery(inner, (sql) => {
    if (sql.includes('key_hash = @key_hash')) lookups += 1;
  });
  return { warehouse, lookups: () => lookups };
}

/**
 * Guessed API keys: a key naming a real tenant that is no key of it cost a warehouse read each (a query job on
 * BigQuery) — the per-IP failure limit was the only bound. Once one lookup has asked the warehouse, every key of
 * the tenant is cached and the tenant marked complete, so further unknown keys are answered from Redis.
 */
describe('unknown API keys of a tenant whose keys are all cached', function () {
  this.timeout(30_000);
  const TENANT = 'guess_corp';
  let wh: TestWarehouse;
  let counted: ReturnType<typeof countingKeyLookups>;
  let t: TestSystem;
  let apiKey: string;
  const quota = (key: string) => t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key);

  before(async () => {
    wh = await createTestDuckDb();
    counted = countingKeyLookups(wh.warehouse);
    t = await startTestSystem({ warehouse: counted.warehouse, env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000' } });
    apiKey = await onboard(t, TENANT);
  });
  after(async () => {
    await t?.close();
    await wh?.cleanup();
  });

  it('asks the warehouse for the first guess only, and still lets every real key in', async () => {
    expect((await quota(generateApiKey(TENANT))).status).to.equal(401);
    expect(counted.lookups()).to.equal(1);
    const keys = new RedisKeys(t.prefix);
    await eventually('the tenant marked complete', async () => ((await t.system.tenantDeps.redis.exists(keys.apiKeysComplete(TENANT))) === 1 ? true : undefined));

    for (let i = 0; i < 20; i++) expect((await quota(generateApiKey(TENANT))).status).to.equal(401);
    expect(counted.lookups(), 'twenty more guesses, no warehouse read').to.equal(1);

    expect((await quota(apiKey)).status, 'the onboarding key').to.equal(200);
    const issued = await t.request.post(`/api/v1/admin/tenants/${TENANT}/api-keys`).set('X-Admin-Key', t.adminKey);
    expect(issued.status).to.equal(201);
    expect((await quota(String(issued.body.api_key))).status, 'a key issued after the mark').to.equal(200);
    const revoked = await t.request.delete(`/api/v1/admin/api-keys/${String(issued.body.key_id)}`).set('X-Admin-Key', t.adminKey);
    expect(revoked.status).to.be.oneOf([200, 204]);
    expect((await quota(String(issued.body.api_key))).status, 'a revoked key').to.equal(401);
  });
});

describe('a process stopping while it caches a tenant’s API keys', function () {
  this.timeout(30_000);

  it('finishes the load before its connections close, so the tenant is marked complete', async () => {
    const TENANT = 'stopping_corp';
    const wh = await createTestDuckDb();
    // The listing of the tenant's keys takes 300 ms: the stop below starts while the load is under way.
    const slow = beforeEachQuery(wh.warehouse, async (sql) => {
      if (sql.includes('WHERE tenant_id = @tenant_id') && sql.includes('tenant_api_keys')) await new Promise((r) => setTimeout(r, 300));
    });
    const target = await defaultRedisTarget();
    const t = await startTestSystem({ warehouse: slow, redis: target, env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '100000' } });
    const check = createRedis(target);
    try {
      await onboard(t, TENANT);
      expect((await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', generateApiKey(TENANT))).status).to.equal(401);
      await t.system.close();
      expect(await check.exists(new RedisKeys(t.prefix).apiKeysComplete(TENANT))).to.equal(1);
    } finally {
      await dropTestKeys(target, t.prefix);
      await closeRedis(check);
      await wh.cleanup();
    }
  });
});

describe('cache entries written from a warehouse read (apikey-fill.lua)', () => {
  let r: TestRedis;
  before(async () => {
    r = await createTestRedis();
  });
  after(async () => r.cleanup());

  it('never bring back a key a revocation deactivated after the read', async () => {
    const hash = hashApiKey(generateApiKey('fill_corp'));
    await writeApiKeyCache(r.redis, r.keys, hash, { tenantId: 'fill_corp', keyId: 'k1', active: false, expiresAtMs: null }); // the revocation
    await fillApiKeyCache(r.redis, r.keys, hash, { tenantId: 'fill_corp', keyId: 'k1', active: true, expiresAtMs: null }); // the older read
    expect(await readApiKeyCache(r.redis, r.keys, hash)).to.deep.equal({ kind: 'key', entry: { tenantId: 'fill_corp', keyId: 'k1', active: false, expiresAtMs: null } });
  });

  it('never hide a key an issue cached after the read found nothing', async () => {
    const hash = hashApiKey(generateApiKey('fill_corp'));
    await writeApiKeyCache(r.redis, r.keys, hash, { tenantId: 'fill_corp', keyId: 'k2', active: true, expiresAtMs: null }); // the issue
    await fillApiKeyCache(r.redis, r.keys, hash, null); // the older read: no such key
    expect((await readApiKeyCache(r.redis, r.keys, hash)).kind).to.equal('key');
  });

  it('replace a "no such key" entry with the key a later read found', async () => {
    const hash = hashApiKey(generateApiKey('fill_corp'));
    await fillApiKeyCache(r.redis, r.keys, hash, null);
    expect((await readApiKeyCache(r.redis, r.keys, hash)).kind).to.equal('unknown');
    await fillApiKeyCache(r.redis, r.keys, hash, { tenantId: 'fill_corp', keyId: 'k3', active: true, expiresAtMs: null });
    expect((await readApiKeyCache(r.redis, r.keys, hash)).kind).to.equal('key');
  });
});

describe('the mark of a tenant that does not exist (tenant-absent.lua)', () => {
  let r: TestRedis;
  before(async () => {
    r = await createTestRedis();
  });
  after(async () => r.cleanup());

  const mark = (tenantId: string) => new ScriptRunner(r.redis).run('tenant-absent', [r.keys.tenantProfile(tenantId), r.keys.tenantAbsent(tenantId)], [TENANT_ABSENT_TTL_SECONDS]);

  it('is set, with its TTL, when the tenant has no cached profile', async () => {
    expect(await mark('absent_corp')).to.equal(1);
    expect(await r.redis.ttl(r.keys.tenantAbsent('absent_corp'))).to.be.within(1, TENANT_ABSENT_TTL_SECONDS);
  });

  it('is not set once an onboarding cached the profile after the warehouse read found none', async () => {
    await writeProfileCache(r.redis, r.keys, 'late_corp', PROFILE);
    expect(await mark('late_corp')).to.equal(0);
    expect(await r.redis.exists(r.keys.tenantAbsent('late_corp'))).to.equal(0);
  });

  it('is deleted by a profile write made after it was set', async () => {
    expect(await mark('soon_corp')).to.equal(1);
    await writeProfileCache(r.redis, r.keys, 'soon_corp', PROFILE);
    expect(await r.redis.exists(r.keys.tenantAbsent('soon_corp'))).to.equal(0);
  });
});

const PROFILE: CachedProfile = {
  status: 'ACTIVE', plan: 'STARTER', dailyLimit: 10, monthlyLimit: 100, concurrentLimit: 1, teamLimit: 2, providerLimit: 1,
  maxBytesBilledPerQuery: 1, dailyBytesBudget: 1, companyName: 'C', adminEmail: 'a@c.com', createdAt: '2025-01-01T00:00:00.000Z',
};
