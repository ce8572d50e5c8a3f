import { expect } from 'chai';
import type { ManualClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import { createRedis, closeRedis } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { generateApiKey, hashApiKey } from '../../src/security/api-keys';
import { authenticate, revokeKey, rotateKey } from '../../src/tenants/api-key-service';
import { AuthCache } from '../../src/tenants/auth-cache';
import { createAuthChanges, subscribeAuthChanges } from '../../src/tenants/auth-invalidation';
import type { AuthChangesSubscription } from '../../src/tenants/auth-invalidation';
import { onboardTenant } from '../../src/tenants/onboarding';
import { writeApiKeyCache } from '../../src/tenants/profile-cache';
import { updateTenant } from '../../src/tenants/tenant-admin';
import type { TenantDeps } from '../../src/tenants/tenant-deps';
import { eventually } from '../helpers/polling';
import { createSharedTenantEnv, createTenantDeps, uniqueTenantId } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import type { TestRedis } from '../helpers/redis';

const entry = (tenantId: string) => ({ tenantId, keyId: `key-of-${tenantId}`, expiresAtMs: null });

describe('auth cache', () => {
  describe('on its own', () => {
    it('serves nothing until it is live, and forgets everything when it stops being live', () => {
      const cache = new AuthCache();
      cache.set('h1', entry('acme_corp'), 0, cache.ticket());
      expect(cache.get('h1', 0)).to.equal(undefined);
      cache.setLive(true);
      cache.set('h1', entry('acme_corp'), 0, cache.ticket());
      expect(cache.get('h1', 1)?.tenantId).to.equal('acme_corp');
      cache.setLive(false);
      cache.setLive(true);
      expect(cache.get('h1', 1)).to.equal(undefined);
    });

    it('drops an entry once its TTL has passed', () => {
      const cache = new AuthCache({ ttlMs: 100 });
      cache.setLive(true);
      cache.set('h1', entry('acme_corp'), 1000, cache.ticket());
      expect(cache.get('h1', 1099)).to.not.equal(undefined);
      expect(cache.get('h1', 1100)).to.equal(undefined);
      expect(cache.size).to.equal(0);
    });

    it('does not store what was read before an invalidation arrived', () => {
      const cache = new AuthCache();
      cache.setLive(true);
      const ticket = cache.ticket();
      cache.forgetTenant('other_corp');
      cache.set('h1', entry('acme_corp'), 0, ticket);
      expect(cache.get('h1', 0)).to.equal(undefined);
    });

    it('forgets one key, or every key of one tenant', () => {
      const cache = new AuthCache();
      cache.setLive(true);
      for (const [hash, tenant] of [['a1', 'acme_corp'], ['a2', 'acme_corp'], ['g1', 'globex']] as const) cache.set(hash, entry(tenant), 0, cache.ticket());
      cache.forgetKey('g1');
      expect(cache.get('g1', 0)).to.equal(undefined);
      cache.forgetTenant('acme_corp');
      expect(cache.size).to.equal(0);
    });

    it('holds at most maxEntries, the oldest leaving first', () => {
      const cache = new AuthCache({ maxEntries: 3 });
      cache.setLive(true);
      for (let i = 0; i < 5; i += 1) cache.set(`h${i}`, entry('acme_corp'), 0, cache.ticket());
      expect(cache.size).to.equal(3);
      expect(cache.get('h0', 0)).to.equal(undefined);
      expect(cache.get('h4', 0)).to.not.equal(undefined);
    });
  });

  describe('behind authenticate', () => {
    let env: SharedTenantEnv;
    let deps: TenantDeps;
    let clock: ManualClock;
    let testRedis: TestRedis;
    let cache: AuthCache;
    let subscriber: RedisClient;
    let subscription: AuthChangesSubscription;
    let tenantId: string;
    let apiKey: string;

    before(async () => {
      env = await createSharedTenantEnv();
    });
    after(async () => env.cleanup());
    beforeEach(async () => {
      ({ deps, clock, testRedis } = await createTenantDeps(env));
      cache = new AuthCache({ ttlMs: 600_000 });
      deps.authChanges = createAuthChanges({ redis: deps.redis, keys: deps.keys, cache, logger: silentLogger() });
      subscriber = createRedis(testRedis.target);
      subscription = await subscribeAuthChanges({ subscriber, keys: deps.keys, cache, logger: silentLogger() });
      tenantId = uniqueTenantId();
      apiKey = (await onboardTenant(deps, { tenant_id: tenantId, company_name: 'Cache', admin_email: 'c@c.com' })).api_key ?? '';
    });
    afterEach(async () => {
      subscription.close();
      await closeRedis(subscriber);
      await testRedis.cleanup();
    });

    /** Marks the key inactive in Redis behind the service's back (no announcement): only a cached answer still accepts it. */
    const disableInRedisOnly = async (key: string): Promise<void> => {
      const auth = await authenticate(deps, key);
      await writeApiKeyCache(deps.redis, deps.keys, hashApiKey(key), { tenantId, keyId: auth?.keyId ?? '', active: false, expiresAtMs: null });
    };

    it('answers a key that authenticated from memory', async () => {
      expect((await authenticate(deps, apiKey, cache))?.tenantId).to.equal(tenantId);
      await disableInRedisOnly(apiKey);
      expect((await authenticate(deps, apiKey, cache))?.tenantId).to.equal(tenantId);
      expect(await authenticate(deps, apiKey)).to.equal(null);
    });

    it('refuses a revoked key on the very next request', async () => {
      const auth = await authenticate(deps, apiKey, cache);
      await revokeKey(deps, auth?.keyId ?? '');
      expect(await authenticate(deps, apiKey, cache)).to.equal(null);
    });

    it('refuses every key of a suspended tenant, and accepts them again once reactivated', async () => {
      await authenticate(deps, apiKey, cache);
      await updateTenant(deps, tenantId, { status: 'SUSPENDED' });
      expect(await authenticate(deps, apiKey, cache)).to.equal(null);
      await updateTenant(deps, tenantId, { status: 'ACTIVE' });
      expect((await authenticate(deps, apiKey, cache))?.tenantId).to.equal(tenantId);
    });

    it('refuses a rotated key once its grace period ends, though it is remembered', async () => {
      const auth = await authenticate(deps, apiKey, cache);
      await rotateKey(deps, tenantId, auth?.keyId ?? '', 60);
      expect((await authenticate(deps, apiKey, cache))?.tenantId).to.equal(tenantId);
      expect(cache.size).to.equal(1);
      clock.advance(60_000);
      expect(await authenticate(deps, apiKey, cache)).to.equal(null);
    });

    it('forgets a key when another process announces its change', async () => {
      await authenticate(deps, apiKey, cache);
      await disableInRedisOnly(apiKey);
      const elsewhere = createAuthChanges({ redis: deps.redis, keys: deps.keys, cache: new AuthCache(), logger: silentLogger() });
      await elsewhere.keyChanged(hashApiKey(apiKey));
      await eventually('the announcement to arrive', async () => ((await authenticate(deps, apiKey, cache)) === null ? true : undefined));
    });

    it('remembers no unknown or refused key', async () => {
      for (let i = 0; i < 50; i += 1) expect(await authenticate(deps, generateApiKey(tenantId), cache)).to.equal(null);
      expect(cache.size).to.equal(0);
    });
  });
});
