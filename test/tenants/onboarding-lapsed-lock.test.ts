import { expect } from 'chai';
import { onboardTenant } from '../../src/tenants/onboarding';
import { readProfile } from '../../src/tenants/tenant-store';
import type { TenantDeps } from '../../src/tenants/tenant-deps';
import type { Warehouse } from '../../src/warehouse/types';
import { createSharedTenantEnv, createTenantDeps, uniqueTenantId } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import type { TestRedis } from '../helpers/redis';
import { caught } from '../helpers/errors';

/**
 * An onboarding whose process is alive but slow (one step outlasts the 120 s lock) is taken for dead by a second
 * onboarding of the same id (found by review: the lock's renew did not say it was lost, so the first call went on
 * writing, or rolled back, the rows of the tenant the second call had onboarded since). The lapse is simulated by
 * deleting the lock, as in onboarding.test.ts.
 */
const body = (tenantId: string) => ({ tenant_id: tenantId, company_name: 'Slow', admin_email: 's@s.com' });

async function count(wh: Warehouse, table: string, tenantId: string): Promise<number> {
  const { rows } = await wh.query(`SELECT COUNT(*) AS n FROM \`tenants.${table}\` WHERE tenant_id = @t`, { params: { t: tenantId } });
  return Number(rows[0]?.n ?? -1);
}

describe('onboarding after a lock lapse while the first holder is still alive', () => {
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

  /**
   * Starts an onboarding that stalls before `step` (a step outlasting the lock's TTL), throwing `failWith` after the
   * stall if given; the lock then lapses (deleted, as the TTL would) and a second onboarding of the id runs to the end.
   */
  async function slowThenTakenOver(step: string, failWith?: Error): Promise<{ tenantId: string; slow: Promise<unknown>; second: { api_key: string | null }; resume(): void }> {
    const tenantId = uniqueTenantId();
    let reached!: () => void;
    const atStep = new Promise<void>((resolve) => (reached = resolve));
    let resume!: () => void;
    const gate = new Promise<void>((resolve) => (resume = resolve));
    const slow = onboardTenant({
      ...deps,
      faults: {
        beforeStep: async (current) => {
          if (current !== step) return;
          reached();
          await gate;
          if (failWith) throw failWith;
        },
      },
    }, body(tenantId));
    slow.catch(() => undefined); // awaited by the test after resume()
    await atStep;
    await deps.redis.del(deps.keys.lock(`onboard:${tenantId}`)); // the 120 s TTL ran out meanwhile
    const second = await onboardTenant(deps, body(tenantId));
    expect((await readProfile(deps.warehouse, tenantId))?.status).to.equal('ACTIVE');
    return { tenantId, slow, second, resume };
  }

  it("the slow onboarding's rollback does not remove the tenant the second onboarding activated", async () => {
    const { tenantId, slow, second, resume } = await slowThenTakenOver('dataset', new Error('dataset step failed after the stall'));
    resume();
    const err = await caught(slow);
    expect(err.code).to.equal('ONBOARDING_FAILED');

    // The tenant the second call answered 201 for (and whose key it handed out) must still exist.
    expect((await readProfile(deps.warehouse, tenantId))?.status, 'profile of the onboarded tenant').to.equal('ACTIVE');
    expect(await count(deps.warehouse, 'tenant_subscriptions_events', tenantId), 'its subscription').to.equal(1);
    expect(second.api_key).to.be.a('string');
  });

  it('the slow onboarding, resuming, does not add a second key and subscription to the tenant', async () => {
    const { tenantId, slow, resume } = await slowThenTakenOver('subscription');
    resume();
    const outcome = await slow.then(() => 'onboarded', (e: { code?: string }) => e.code ?? 'error');
    // Two callers must not both be told they onboarded the tenant, each with its own key.
    expect(outcome, 'the slow call should notice it lost the lock').to.not.equal('onboarded');
    expect(await count(deps.warehouse, 'tenant_api_keys_events', tenantId), 'key rows').to.equal(1);
    expect(await count(deps.warehouse, 'tenant_subscriptions_events', tenantId), 'subscription rows').to.equal(1);
  });
});
