import { expect } from 'chai';
import type { AppError } from '../../src/shared/errors';
import { hashApiKey } from '../../src/security/api-keys';
import { onboardTenant, dryRunOnboarding, ONBOARDING_STEPS } from '../../src/tenants/onboarding';
import type { OnboardingStep } from '../../src/tenants/onboarding';
import { bootstrapCentral, createTenantDataset } from '../../src/tenants/bootstrap';
import { readApiKeyCache, readProfileCache } from '../../src/tenants/profile-cache';
import { readProfile } from '../../src/tenants/tenant-store';
import type { KeyManager } from '../../src/security/key-manager';
import type { TenantDeps } from '../../src/tenants/tenant-deps';
import type { Warehouse } from '../../src/warehouse/types';
import { createSharedTenantEnv, createTenantDeps, uniqueTenantId } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import type { TestRedis } from '../helpers/redis';
import { caught } from '../helpers/errors';

const EVENTS_TABLES = ['tenant_profiles_events', 'tenant_api_keys_events', 'tenant_subscriptions_events', 'tenant_usage_quotas_events'];

async function rowsFor(wh: Warehouse, tenantId: string): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of EVENTS_TABLES) {
    const { rows } = await wh.query(`SELECT COUNT(*) AS n FROM \`tenants.${table}\` WHERE tenant_id = @t`, { params: { t: tenantId } });
    counts[table] = Number(rows[0]?.n ?? -1);
  }
  return counts;
}

describe('onboarding', () => {
  let env: SharedTenantEnv;
  let deps: TenantDeps;
  let testRedis: TestRedis;

  before(async () => {
    env = await createSharedTenantEnv();
  });
  after(async () => {
    await env.cleanup();
  });
  beforeEach(async () => {
    ({ deps, testRedis } = await createTenantDeps(env));
  });
  afterEach(async () => {
    await testRedis.cleanup();
  });

  describe('when a new tenant is onboarded as in the guide', () => {
    let tenantId: string;
    let result: Awaited<ReturnType<typeof onboardTenant>>;

    beforeEach(async () => {
      tenantId = uniqueTenantId();
      result = await onboardTenant(deps, {
        tenant_id: tenantId,
        company_name: 'ACME Corporation',
        admin_email: 'admin@acmecorp.com',
        subscription_plan: 'PROFESSIONAL',
      });
    });

    it("answers with the key, plan, dataset and the guide's three tables", () => {
      expect(result.tenant_id).to.equal(tenantId);
      expect(result.api_key).to.match(new RegExp(`^${tenantId}_api_[A-Za-z0-9]{16}$`));
      expect(result.subscription_plan).to.equal('PROFESSIONAL');
      expect(result.dataset_created).to.equal(true);
      expect(result.tables_created).to.deep.equal(['x_meta_pipeline_runs', 'x_meta_step_logs', 'x_meta_dq_results']);
      expect(result.message).to.be.a('string').and.not.contain(result.api_key ?? 'x');
    });

    it('writes one profile, key, subscription and usage row, storing the key only as hash and ciphertext', async () => {
      expect(await rowsFor(deps.warehouse, tenantId)).to.deep.equal({
        tenant_profiles_events: 1, tenant_api_keys_events: 1, tenant_subscriptions_events: 1, tenant_usage_quotas_events: 1,
      });
      const { rows } = await deps.warehouse.query('SELECT key_hash, encrypted_key, key_prefix, is_active FROM `tenants.tenant_api_keys` WHERE tenant_id = @t', {
        params: { t: tenantId },
      });
      const key = rows[0] ?? {};
      expect(key.key_hash).to.equal(hashApiKey(result.api_key ?? ''));
      expect(key.is_active).to.equal(true);
      expect(String(key.key_prefix)).to.equal(`${tenantId}_api_${(result.api_key ?? '').slice(-16, -12)}…`);
      expect(Buffer.isBuffer(key.encrypted_key)).to.equal(true);
      expect((key.encrypted_key as Buffer).toString('latin1')).not.to.contain(result.api_key ?? 'x');
      expect((await deps.keyManager.decrypt(key.encrypted_key as Buffer)).toString()).to.equal(result.api_key);
    });

    it("makes the guide's quota query return today's row with the plan's limit", async () => {
      const { rows } = await deps.warehouse.query(
        `SELECT tenant_id, pipelines_run_today, daily_limit,
               (daily_limit - pipelines_run_today) as remaining
         FROM \`tenants.tenant_usage_quotas\`
         WHERE tenant_id = '${tenantId}' AND usage_date = CURRENT_DATE()`,
      );
      expect(rows).to.deep.equal([{ tenant_id: tenantId, pipelines_run_today: 0, daily_limit: 25, remaining: 25 }]);
    });

    it('creates the dataset with the meta tables queryable by their guide names', async () => {
      expect(await deps.warehouse.datasetExists(tenantId)).to.equal(true);
      const tables = await deps.warehouse.listTables(tenantId);
      expect(tables).to.include.members(['x_meta_pipeline_runs', 'x_meta_step_logs', 'x_meta_dq_results']);
      const { rows } = await deps.warehouse.query(`SELECT pipeline_logging_id, status FROM \`${tenantId}.x_meta_pipeline_runs\``);
      expect(rows).to.deep.equal([]);
    });

    it('fills the Redis profile with exactly the fields admission reads, the key cache and the tenant index', async () => {
      const hash = await deps.redis.hgetall(deps.keys.tenantProfile(tenantId));
      expect(Object.keys(hash).sort()).to.deep.equal(
        // The byte limits are read by the bytes-reserve script (cost guardrails).
        ['admin_email', 'company_name', 'concurrent_limit', 'created_at', 'daily_bytes_budget', 'daily_limit', 'max_bytes_billed_per_query', 'monthly_limit', 'plan', 'provider_limit', 'status', 'team_limit'],
      );
      expect(await readProfileCache(deps.redis, deps.keys, tenantId)).to.include({
        status: 'ACTIVE', plan: 'PROFESSIONAL', dailyLimit: 25, monthlyLimit: 750, concurrentLimit: 5, teamLimit: 6, providerLimit: 6,
        maxBytesBilledPerQuery: 100 * 1024 ** 3, dailyBytesBudget: 1024 ** 4,
      });
      const cached = await readApiKeyCache(deps.redis, deps.keys, hashApiKey(result.api_key ?? ''));
      expect(cached.kind).to.equal('key');
      expect(await deps.redis.sismember(deps.keys.tenantIndex(), tenantId)).to.equal(1);
    });

    it('answers 409 TENANT_EXISTS to a second onboarding of the same id', async () => {
      const err = await caught(onboardTenant(deps, { tenant_id: tenantId, company_name: 'Again', admin_email: 'a@b.com' }));
      expect(err.status).to.equal(409);
      expect(err.code).to.equal('TENANT_EXISTS');
    });
  });

  describe('when the plan is given in another case or not at all', () => {
    it('resolves it case-insensitively and defaults to STARTER', async () => {
      const a = await onboardTenant(deps, { tenant_id: uniqueTenantId(), company_name: 'A', admin_email: 'a@a.com', subscription_plan: 'scale' });
      const b = await onboardTenant(deps, { tenant_id: uniqueTenantId(), company_name: 'B', admin_email: 'b@b.com' });
      expect(a.subscription_plan).to.equal('SCALE');
      expect(b.subscription_plan).to.equal('STARTER');
      expect((await readProfileCache(deps.redis, deps.keys, b.tenant_id))?.dailyLimit).to.equal(6);
    });
  });

  describe('when the request is invalid', () => {
    it('answers 422 naming the field, creating nothing', async () => {
      const bad = await caught(onboardTenant(deps, { tenant_id: 'Bad-Id', company_name: 'X', admin_email: 'not-an-email' }));
      expect(bad.status).to.equal(422);
      expect(bad.errors?.map((e) => e.field)).to.have.members(['tenant_id', 'admin_email']);
      const plan = await caught(onboardTenant(deps, { tenant_id: uniqueTenantId(), company_name: 'X', admin_email: 'a@b.com', subscription_plan: 'GOLD' }));
      expect(plan.status).to.equal(422);
      expect(plan.errors?.[0]?.field).to.equal('subscription_plan');
    });
  });

  describe('when two onboardings of one id race', () => {
    it('creates the tenant once and answers 409 to the other', async () => {
      const tenantId = uniqueTenantId();
      const body = { tenant_id: tenantId, company_name: 'Race', admin_email: 'r@r.com' };
      const results = await Promise.allSettled([onboardTenant(deps, body), onboardTenant(deps, body)]);
      expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect((rejected?.reason as AppError).code).to.equal('TENANT_EXISTS');
      expect((await rowsFor(deps.warehouse, tenantId)).tenant_profiles_events).to.equal(1);
    });
  });

  describe('when a step fails', () => {
    const cases: [OnboardingStep, 'before' | 'after'][] = ONBOARDING_STEPS.flatMap((s) => [[s, 'before'], [s, 'after']] as [OnboardingStep, 'before' | 'after'][]);
    for (const [step, when] of cases) {
      it(`answers 500 ONBOARDING_FAILED naming '${step}' and leaves nothing behind (fault ${when} the step)`, async () => {
        const tenantId = uniqueTenantId('fail');
        const fault = (s: OnboardingStep): void => {
          if (s === step) throw new Error(`injected fault containing ${tenantId}_api_secret`);
        };
        const err = await caught(onboardTenant({ ...deps, faults: when === 'before' ? { beforeStep: fault } : { afterStep: fault } }, {
          tenant_id: tenantId, company_name: 'Fail', admin_email: 'f@f.com',
        }));
        expect(err.status).to.equal(500);
        expect(err.code).to.equal('ONBOARDING_FAILED');
        expect(err.expose).to.equal(true);
        expect(err.message).to.contain(`'${step}'`).and.not.contain('_api_');
        expect(err.extra).to.deep.equal({ step });

        expect(await rowsFor(deps.warehouse, tenantId)).to.deep.equal({
          tenant_profiles_events: 0, tenant_api_keys_events: 0, tenant_subscriptions_events: 0, tenant_usage_quotas_events: 0,
        });
        expect(await deps.warehouse.datasetExists(tenantId)).to.equal(false);
        expect(await deps.redis.keys(`${testRedis.prefix}:*`)).to.deep.equal([]);

        // Nothing half-made blocks a retry.
        const ok = await onboardTenant(deps, { tenant_id: tenantId, company_name: 'Fail', admin_email: 'f@f.com' });
        expect(ok.dataset_created).to.equal(true);
      });
    }
  });

  describe('when the process onboarding an id stops for good mid-way', () => {
    const body = (tenantId: string) => ({ tenant_id: tenantId, company_name: 'Stopped', admin_email: 's@s.com' });
    /** A call that never returns, as seen from the warehouse and Redis: the process that made it is gone. */
    const never = new Promise<never>(() => undefined);

    it('has written no row while the key manager has not answered', async () => {
      const tenantId = uniqueTenantId();
      let asked!: () => void;
      const encrypting = new Promise<void>((resolve) => (asked = resolve));
      const silent: KeyManager = {
        kind: 'gcp',
        encrypt: () => {
          asked();
          return never;
        },
        decrypt: (ciphertext) => deps.keyManager.decrypt(ciphertext),
        close: async () => undefined,
      };
      void onboardTenant({ ...deps, keyManager: silent }, body(tenantId));
      await encrypting;
      expect(await rowsFor(deps.warehouse, tenantId)).to.deep.equal({
        tenant_profiles_events: 0, tenant_api_keys_events: 0, tenant_subscriptions_events: 0, tenant_usage_quotas_events: 0,
      });
    });

    it('shows no tenant meanwhile, and an onboarding of the id once its lock has lapsed removes the rest and onboards it', async () => {
      const tenantId = uniqueTenantId();
      let reached!: () => void;
      const atDataset = new Promise<void>((resolve) => (reached = resolve));
      void onboardTenant({ ...deps, faults: { beforeStep: (step) => (step === 'dataset' ? (reached(), never) : undefined) } }, body(tenantId));
      await atDataset;
      expect(await rowsFor(deps.warehouse, tenantId)).to.deep.equal({
        tenant_profiles_events: 1, tenant_api_keys_events: 1, tenant_subscriptions_events: 1, tenant_usage_quotas_events: 1,
      });
      expect(await readProfile(deps.warehouse, tenantId), 'no reader takes a profile being onboarded for a tenant').to.equal(null);
      expect((await dryRunOnboarding(deps, body(tenantId))).ready_for_onboarding).to.equal(true);
      // While its lock is held the onboarding may still be alive.
      const busy = await caught(onboardTenant(deps, body(tenantId)));
      expect([busy.status, busy.code]).to.deep.equal([409, 'TENANT_EXISTS']);

      await deps.redis.del(deps.keys.lock(`onboard:${tenantId}`)); // its TTL ran out: the holder is gone
      const again = await onboardTenant(deps, body(tenantId));
      expect(again.api_key).to.match(new RegExp(`^${tenantId}_api_[A-Za-z0-9]{16}$`));
      expect(again.dataset_created).to.equal(true);
      expect(await rowsFor(deps.warehouse, tenantId)).to.deep.equal({
        tenant_profiles_events: 1, tenant_api_keys_events: 1, tenant_subscriptions_events: 1, tenant_usage_quotas_events: 1,
      });
      const { rows } = await deps.warehouse.query('SELECT key_hash FROM `tenants.tenant_api_keys` WHERE tenant_id = @t', { params: { t: tenantId } });
      expect(rows).to.deep.equal([{ key_hash: hashApiKey(again.api_key ?? '') }]);
      expect((await readProfile(deps.warehouse, tenantId))?.status).to.equal('ACTIVE');
      expect((await readProfileCache(deps.redis, deps.keys, tenantId))?.status).to.equal('ACTIVE');
      const err = await caught(onboardTenant(deps, body(tenantId)));
      expect([err.status, err.code]).to.deep.equal([409, 'TENANT_EXISTS']);
    });
  });

  describe('when force flags are given for an existing tenant', () => {
    it('force_recreate_tables empties the meta tables, keeps the data tables and issues no new key', async () => {
      const tenantId = uniqueTenantId();
      await onboardTenant(deps, { tenant_id: tenantId, company_name: 'F', admin_email: 'f@f.com' });
      await deps.warehouse.query(`CREATE TABLE \`${tenantId}.billing_daily\` AS SELECT 1 AS n`);
      await deps.warehouse.insertRows({ dataset: tenantId, table: 'x_meta_pipeline_runs_events' }, [
        { pipeline_logging_id: 'r1', status: 'COMPLETED', event_time: new Date(), event_seq: 1 },
      ]);
      const result = await onboardTenant(deps, { tenant_id: tenantId, company_name: 'F', admin_email: 'f@f.com', force_recreate_tables: true });
      expect(result.api_key).to.equal(null);
      expect(result.dataset_created).to.equal(false);
      expect(result.tables_created).to.deep.equal(['x_meta_pipeline_runs', 'x_meta_step_logs', 'x_meta_dq_results']);
      expect((await deps.warehouse.query(`SELECT * FROM \`${tenantId}.x_meta_pipeline_runs\``)).rows).to.deep.equal([]);
      expect(await deps.warehouse.tableExists({ dataset: tenantId, table: 'billing_daily' })).to.equal(true);
      expect((await rowsFor(deps.warehouse, tenantId)).tenant_api_keys_events).to.equal(1);
    });

    it('force_recreate_dataset drops everything in the dataset first', async () => {
      const tenantId = uniqueTenantId();
      await onboardTenant(deps, { tenant_id: tenantId, company_name: 'F', admin_email: 'f@f.com' });
      await deps.warehouse.query(`CREATE TABLE \`${tenantId}.billing_daily\` AS SELECT 1 AS n`);
      const result = await onboardTenant(deps, { tenant_id: tenantId, company_name: 'F', admin_email: 'f@f.com', force_recreate_dataset: true });
      expect(result.dataset_created).to.equal(true);
      expect(await deps.warehouse.tableExists({ dataset: tenantId, table: 'billing_daily' })).to.equal(false);
      expect(await deps.warehouse.tableExists({ dataset: tenantId, table: 'x_meta_step_logs' })).to.equal(true);
    });
  });

  describe('createTenantDataset', () => {
    it('removes the dataset it created when a table cannot be created', async () => {
      const tenantId = uniqueTenantId();
      let error: unknown;
      await createTenantDataset(deps, tenantId, {
        beforeTable: (name) => {
          if (name === 'x_meta_step_logs') throw new Error('boom');
        },
      }).catch((err: unknown) => (error = err));
      expect((error as Error).message).to.equal('boom');
      expect(await deps.warehouse.datasetExists(tenantId)).to.equal(false);
    });

    it('is idempotent: a second call creates nothing', async () => {
      const tenantId = uniqueTenantId();
      await createTenantDataset(deps, tenantId);
      expect(await createTenantDataset(deps, tenantId)).to.deep.equal({ datasetCreated: false, tablesCreated: [] });
    });
  });

  describe('bootstrapCentral', () => {
    it('creates nothing when run again', async () => {
      expect(await bootstrapCentral(deps)).to.deep.equal({ datasetsCreated: [], tablesCreated: [] });
    });
  });

  describe('dry run', () => {
    it('reports ready for a valid new tenant and creates nothing', async () => {
      const tenantId = uniqueTenantId();
      const result = await dryRunOnboarding(deps, { tenant_id: tenantId, company_name: 'D', admin_email: 'd@d.com', subscription_plan: 'professional' });
      expect(result.ready_for_onboarding, JSON.stringify(result.checks)).to.equal(true);
      expect(result.checks.map((c) => c.name)).to.include.members(['tenant_id_format', 'subscription_plan_known', 'warehouse_reachable', 'tenant_not_exists']);
      expect(await deps.warehouse.datasetExists(tenantId)).to.equal(false);
      expect((await rowsFor(deps.warehouse, tenantId)).tenant_profiles_events).to.equal(0);
      expect(await deps.redis.keys(`${testRedis.prefix}:*`)).to.deep.equal([]);
    });

    it('reports the failed checks for an existing tenant, a bad plan and a bad id', async () => {
      const tenantId = uniqueTenantId();
      await onboardTenant(deps, { tenant_id: tenantId, company_name: 'E', admin_email: 'e@e.com' });
      const existing = await dryRunOnboarding(deps, { tenant_id: tenantId, company_name: 'E', admin_email: 'e@e.com', subscription_plan: 'GOLD' });
      expect(existing.ready_for_onboarding).to.equal(false);
      const failed = existing.checks.filter((c) => !c.passed).map((c) => c.name);
      expect(failed).to.have.members(['tenant_not_exists', 'subscription_plan_known']);
      const badId = await dryRunOnboarding(deps, { tenant_id: 'X!', company_name: 'E', admin_email: 'e@e.com' });
      expect(badId.checks.find((c) => c.name === 'tenant_id_format')?.passed).to.equal(false);
    });
  });
});
