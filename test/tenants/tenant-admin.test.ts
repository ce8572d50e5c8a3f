import { expect } from 'chai';
import { onboardTenant } from '../../src/tenants/onboarding';
import { readProfileCache } from '../../src/tenants/profile-cache';
import { deleteProvider, getProvider, getTenant, putProvider, readProviderCredentials, updateTenant } from '../../src/tenants/tenant-admin';
import type { TenantDeps } from '../../src/tenants/tenant-deps';
import { createSharedTenantEnv, createTenantDeps, uniqueTenantId } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import type { TestRedis } from '../helpers/redis';
import { caught } from '../helpers/errors';

const SERVICE_ACCOUNT = { type: 'service_account', project_id: 'acme-prod', private_key: '-----BEGIN PRIVATE KEY-----\nsecret\n' };

describe('tenant admin', () => {
  let env: SharedTenantEnv;
  let deps: TenantDeps;
  let testRedis: TestRedis;
  let tenantId: string;

  before(async () => {
    env = await createSharedTenantEnv();
  });
  after(async () => {
    await env.cleanup();
  });
  beforeEach(async () => {
    ({ deps, testRedis } = await createTenantDeps(env));
    tenantId = uniqueTenantId();
    await onboardTenant(deps, { tenant_id: tenantId, company_name: 'ACME Corporation', admin_email: 'admin@acmecorp.com' });
  });
  afterEach(async () => {
    await testRedis.cleanup();
  });

  describe('getTenant', () => {
    it('answers profile and subscription without secrets', async () => {
      const view = await getTenant(deps, tenantId);
      expect(view).to.include({ tenant_id: tenantId, company_name: 'ACME Corporation', admin_email: 'admin@acmecorp.com', status: 'ACTIVE', subscription_plan: 'STARTER' });
      expect(view.subscription).to.include({ plan_name: 'STARTER', daily_limit: 6, monthly_limit: 180, concurrent_limit: 3, team_limit: 2, provider_limit: 3 });
      expect(JSON.stringify(view)).not.to.match(/api_key|key_hash|encrypted/);
    });

    it('answers 404 TENANT_NOT_FOUND for an unknown tenant', async () => {
      expect((await caught(getTenant(deps, 'nobody_here'))).code).to.equal('TENANT_NOT_FOUND');
    });
  });

  describe('updateTenant', () => {
    it('changes the plan in the warehouse and in the Redis profile the next trigger reads', async () => {
      const view = await updateTenant(deps, tenantId, { subscription_plan: 'scale' });
      expect(view.subscription_plan).to.equal('SCALE');
      expect((await getTenant(deps, tenantId)).subscription).to.include({ plan_name: 'SCALE', daily_limit: 100, concurrent_limit: 10 });
      expect(await readProfileCache(deps.redis, deps.keys, tenantId)).to.include({ plan: 'SCALE', dailyLimit: 100, monthlyLimit: 3000, concurrentLimit: 10 });
    });

    it('suspends the tenant in the warehouse and in Redis', async () => {
      await updateTenant(deps, tenantId, { status: 'SUSPENDED' });
      expect((await getTenant(deps, tenantId)).status).to.equal('SUSPENDED');
      expect((await readProfileCache(deps.redis, deps.keys, tenantId))?.status).to.equal('SUSPENDED');
    });

    it('answers 422 for an unknown plan or an empty body, and 404 for an unknown tenant', async () => {
      expect((await caught(updateTenant(deps, tenantId, { subscription_plan: 'GOLD' }))).status).to.equal(422);
      expect((await caught(updateTenant(deps, tenantId, {}))).status).to.equal(422);
      expect((await caught(updateTenant(deps, tenantId, { status: 'DELETED' }))).status).to.equal(422);
      expect((await caught(updateTenant(deps, 'nobody_here', { status: 'ACTIVE' }))).code).to.equal('TENANT_NOT_FOUND');
    });
  });

  describe('provider settings', () => {
    it('stores settings and encrypted credentials, and never returns the credentials', async () => {
      const view = await putProvider(deps, tenantId, 'GCP', {
        settings: { billing_export_table: `${tenantId}.gcp_billing_export_v1`, project_id: 'acme-prod' },
        credentials: SERVICE_ACCOUNT,
      });
      expect(view).to.include({ tenant_id: tenantId, provider: 'gcp', has_credentials: true });
      expect(JSON.stringify(view)).not.to.contain('PRIVATE KEY');
      expect(JSON.stringify(await getProvider(deps, tenantId, 'gcp'))).not.to.contain('PRIVATE KEY');
      expect((await getProvider(deps, tenantId, 'gcp')).settings).to.deep.equal({
        billing_export_table: `${tenantId}.gcp_billing_export_v1`, project_id: 'acme-prod',
      });

      const { rows } = await deps.warehouse.query('SELECT encrypted_credentials FROM `tenants.tenant_providers` WHERE tenant_id = @t', { params: { t: tenantId } });
      expect((rows[0]?.encrypted_credentials as Buffer).toString('latin1')).not.to.contain('PRIVATE KEY');
      const forWorker = await readProviderCredentials(deps, tenantId, 'gcp');
      expect(JSON.parse(forWorker?.credentials ?? '{}')).to.deep.equal(SERVICE_ACCOUNT);
    });

    it('keeps credentials when a PUT omits them, and removes them on null', async () => {
      await putProvider(deps, tenantId, 'gcp', { settings: { project_id: 'acme-prod-a' }, credentials: 'token-1' });
      expect((await putProvider(deps, tenantId, 'gcp', { settings: { project_id: 'acme-prod-b' } })).has_credentials).to.equal(true);
      expect((await readProviderCredentials(deps, tenantId, 'gcp'))?.credentials).to.equal('token-1');
      expect((await putProvider(deps, tenantId, 'gcp', { settings: {}, credentials: null })).has_credentials).to.equal(false);
    });

    it('deletes settings (404 afterwards) and frees the provider seat', async () => {
      await putProvider(deps, tenantId, 'aws', { settings: {} });
      expect(await deps.redis.sismember(deps.keys.providers(tenantId), 'aws')).to.equal(1);
      await deleteProvider(deps, tenantId, 'aws');
      expect((await caught(getProvider(deps, tenantId, 'aws'))).code).to.equal('PROVIDER_NOT_FOUND');
      expect((await caught(deleteProvider(deps, tenantId, 'aws'))).code).to.equal('PROVIDER_NOT_FOUND');
      expect(await deps.redis.sismember(deps.keys.providers(tenantId), 'aws')).to.equal(0);
    });

    it("counts toward the plan's provider limit (STARTER: 3)", async () => {
      for (const p of ['gcp', 'aws', 'azure']) await putProvider(deps, tenantId, p, { settings: {} });
      const err = await caught(putProvider(deps, tenantId, 'snowflake', { settings: {} }));
      expect(err.status).to.equal(403);
      expect(err.code).to.equal('PROVIDER_LIMIT_REACHED');
      // Updating a configured provider needs no new seat.
      expect((await putProvider(deps, tenantId, 'gcp', { settings: { x: 1 } })).settings).to.deep.equal({ x: 1 });
    });

    it('reclaims the seat check when the Redis profile was lost', async () => {
      await deps.redis.del(deps.keys.tenantProfile(tenantId));
      expect((await putProvider(deps, tenantId, 'gcp', { settings: {} })).provider).to.equal('gcp');
    });

    it('answers 422 for an invalid provider name or body, 404 for an unknown tenant', async () => {
      expect((await caught(putProvider(deps, tenantId, 'bad-name', { settings: {} }))).status).to.equal(422);
      expect((await caught(putProvider(deps, tenantId, 'gcp', { settings: 'x' }))).status).to.equal(422);
      expect((await caught(putProvider(deps, 'nobody_here', 'gcp', { settings: {} }))).code).to.equal('TENANT_NOT_FOUND');
    });
  });
});
