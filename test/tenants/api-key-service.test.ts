import { expect } from 'chai';
import type { ManualClock } from '../../src/shared/clock';
import type { AppError } from '../../src/shared/errors';
import { generateApiKey, hashApiKey } from '../../src/security/api-keys';
import { authenticate, issueKey, revokeKey, rotateKey } from '../../src/tenants/api-key-service';
import { onboardTenant } from '../../src/tenants/onboarding';
import { readApiKeyCache } from '../../src/tenants/profile-cache';
import { updateTenant } from '../../src/tenants/tenant-admin';
import type { TenantDeps } from '../../src/tenants/tenant-deps';
import { createSharedTenantEnv, createTenantDeps, uniqueTenantId } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import { keysMatching } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { caught } from '../helpers/errors';

describe('api key service', () => {
  let env: SharedTenantEnv;
  let deps: TenantDeps;
  let clock: ManualClock;
  let testRedis: TestRedis;
  let tenantId: string;
  let apiKey: string;

  before(async () => {
    env = await createSharedTenantEnv();
  });
  after(async () => {
    await env.cleanup();
  });
  beforeEach(async () => {
    ({ deps, clock, testRedis } = await createTenantDeps(env));
    tenantId = uniqueTenantId();
    apiKey = (await onboardTenant(deps, { tenant_id: tenantId, company_name: 'Keys', admin_email: 'k@k.com' })).api_key ?? '';
  });
  afterEach(async () => {
    await testRedis.cleanup();
  });

  const keyIdOf = async (key: string): Promise<string> => (await authenticate(deps, key))?.keyId ?? 'missing';

  describe('authenticate', () => {
    it('answers the tenant and key id for an onboarded key', async () => {
      const auth = await authenticate(deps, apiKey);
      expect(auth?.tenantId).to.equal(tenantId);
      expect(auth?.keyId).to.match(/^[0-9a-f-]{36}$/);
    });

    it('answers null for a malformed key without touching Redis', async () => {
      expect(await authenticate(deps, 'not a key')).to.equal(null);
      expect(await keysMatching(deps.redis, `${testRedis.prefix}:apikey:*`)).to.have.length(1);
    });

    it('answers null for an unknown key and remembers that briefly', async () => {
      const unknown = generateApiKey(tenantId);
      expect(await authenticate(deps, unknown)).to.equal(null);
      expect((await readApiKeyCache(deps.redis, deps.keys, hashApiKey(unknown))).kind).to.equal('unknown');
      const ttl = await deps.redis.ttl(deps.keys.apiKey(hashApiKey(unknown)));
      expect(ttl).to.be.within(1, 60);
    });

    it('falls back to the warehouse when the cache is empty, and refills it', async () => {
      await Promise.all([deps.redis.del(deps.keys.apiKey(hashApiKey(apiKey))), deps.redis.del(deps.keys.tenantProfile(tenantId))]);
      expect((await authenticate(deps, apiKey))?.tenantId).to.equal(tenantId);
      expect((await readApiKeyCache(deps.redis, deps.keys, hashApiKey(apiKey))).kind).to.equal('key');
      expect(await deps.redis.hget(deps.keys.tenantProfile(tenantId), 'status')).to.equal('ACTIVE');
    });

    it("refuses a key presented under another tenant's name", async () => {
      const other = uniqueTenantId();
      await onboardTenant(deps, { tenant_id: other, company_name: 'Other', admin_email: 'o@o.com' });
      // Same secret, other tenant prefix: a different hash, so unknown.
      expect(await authenticate(deps, `${other}${apiKey.slice(tenantId.length)}`)).to.equal(null);
    });
  });

  describe('when a tenant is suspended', () => {
    it('refuses its keys on the next request and accepts them again once reactivated', async () => {
      await updateTenant(deps, tenantId, { status: 'SUSPENDED' });
      expect(await authenticate(deps, apiKey)).to.equal(null);
      await updateTenant(deps, tenantId, { status: 'active' });
      expect((await authenticate(deps, apiKey))?.tenantId).to.equal(tenantId);
    });
  });

  describe('issue and revoke', () => {
    it('issues a second working key and revokes it with effect on the next request', async () => {
      const issued = await issueKey(deps, tenantId);
      expect(issued.api_key).to.match(new RegExp(`^${tenantId}_api_[A-Za-z0-9]{16}$`));
      expect(await keyIdOf(issued.api_key)).to.equal(issued.key_id);
      const revoked = await revokeKey(deps, issued.key_id);
      expect(revoked.tenant_id).to.equal(tenantId);
      expect(await authenticate(deps, issued.api_key)).to.equal(null);
      expect((await authenticate(deps, apiKey))?.tenantId).to.equal(tenantId);
    });

    it('keeps a revoked key refused after the cache is lost (the warehouse says inactive)', async () => {
      const keyId = await keyIdOf(apiKey);
      await revokeKey(deps, keyId);
      await deps.redis.del(deps.keys.apiKey(hashApiKey(apiKey)));
      expect(await authenticate(deps, apiKey)).to.equal(null);
    });

    it('answers 404 API_KEY_NOT_FOUND for an unknown key id, and 404 TENANT_NOT_FOUND when issuing for no tenant', async () => {
      expect((await caught(revokeKey(deps, '00000000-0000-4000-8000-000000000000'))).code).to.equal('API_KEY_NOT_FOUND');
      expect((await caught(issueKey(deps, uniqueTenantId('ghost')))).code).to.equal('TENANT_NOT_FOUND');
    });
  });

  describe('rotate', () => {
    it('without grace: the new key works and the old one stops at once', async () => {
      const oldKeyId = await keyIdOf(apiKey);
      const rotated = await rotateKey(deps, tenantId, oldKeyId, 0);
      expect(rotated.previous_key_id).to.equal(oldKeyId);
      expect(rotated.api_key).not.to.equal(apiKey);
      expect(await keyIdOf(rotated.api_key)).to.equal(rotated.key_id);
      expect(await authenticate(deps, apiKey)).to.equal(null);
    });

    it('with grace: the old key works until the grace period ends', async () => {
      const oldKeyId = await keyIdOf(apiKey);
      const rotated = await rotateKey(deps, tenantId, oldKeyId, 3600);
      expect(new Date(rotated.previous_key_expires_at).getTime() - clock.now().getTime()).to.equal(3600 * 1000);
      clock.advance(3599 * 1000);
      expect((await authenticate(deps, apiKey))?.keyId).to.equal(oldKeyId);
      clock.advance(1000);
      expect(await authenticate(deps, apiKey)).to.equal(null);
      expect(await keyIdOf(rotated.api_key)).to.equal(rotated.key_id);
      // Also when the expiry must come from the warehouse.
      await deps.redis.del(deps.keys.apiKey(hashApiKey(apiKey)));
      expect(await authenticate(deps, apiKey)).to.equal(null);
    });

    it('refuses to rotate a key in its grace with 409 API_KEY_EXPIRING, and the key still ends with its grace', async () => {
      const oldKeyId = await keyIdOf(apiKey);
      await rotateKey(deps, tenantId, oldKeyId, 60);
      const err = await caught(rotateKey(deps, tenantId, oldKeyId, 0));
      expect([err.status, err.code]).to.deep.equal([409, 'API_KEY_EXPIRING']);
      clock.advance(60 * 1000);
      expect(await authenticate(deps, apiKey)).to.equal(null);
    });

    it('rotates one key once when two rotations of it arrive together', async () => {
      const oldKeyId = await keyIdOf(apiKey);
      const results = await Promise.allSettled([rotateKey(deps, tenantId, oldKeyId, 60), rotateKey(deps, tenantId, oldKeyId, 60)]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect((refused?.reason as AppError).code).to.equal('API_KEY_EXPIRING');
    });

    it('refuses a grace over 86400 seconds with 422', async () => {
      const err = await caught(rotateKey(deps, tenantId, await keyIdOf(apiKey), 86401));
      expect(err.status).to.equal(422);
    });

    it("answers 404 for another tenant's key id (never revealing it exists)", async () => {
      const other = uniqueTenantId();
      const otherKey = (await onboardTenant(deps, { tenant_id: other, company_name: 'O', admin_email: 'o@o.com' })).api_key ?? '';
      const err = await caught(rotateKey(deps, tenantId, await keyIdOf(otherKey), 0));
      expect(err.code).to.equal('API_KEY_NOT_FOUND');
      expect((await authenticate(deps, otherKey))?.tenantId).to.equal(other);
    });
  });
});
