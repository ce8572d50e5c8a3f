import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { ManualClock } from '../../src/shared/clock';
import { Admission } from '../../src/tenants/admission';
import { getQuotaView } from '../../src/tenants/quota-view';
import { TeamAndProviders } from '../../src/tenants/team-and-providers';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';


describe('quota view', () => {
  const tenantId = 'acme_corp';
  let t: TestRedis;
  let clock: ManualClock;

  beforeEach(async () => {
    t = await createTestRedis();
    clock = new ManualClock('2025-03-10T12:00:00.000Z');
    await writeProfileCache(t.redis, t.keys, tenantId, STARTER);
  });
  afterEach(async () => t.cleanup());

  describe('for a tenant with some usage', () => {
    it('reports usage, limits and what remains, from Redis only', async () => {
      const admission = new Admission({ redis: t.redis, keys: t.keys, clock });
      const limits = new TeamAndProviders({ redis: t.redis, keys: t.keys, clock });
      const first = randomUUID();
      await admission.admit({ tenantId, runId: first, leaseMs: 60_000 });
      await admission.admit({ tenantId, runId: randomUUID(), leaseMs: 60_000 });
      await admission.release(tenantId, first, 'COMPLETED');
      await limits.touchTeamMember(tenantId, 'alice@acme.test');
      await limits.touchProvider(tenantId, 'GCP');

      expect(await getQuotaView({ redis: t.redis, keys: t.keys, clock }, tenantId)).to.deep.equal({
        tenant_id: tenantId,
        plan: 'STARTER',
        usage_date: '2025-03-10',
        pipelines_run_today: 2,
        daily_limit: 6,
        remaining_today: 4,
        pipelines_run_month: 2,
        monthly_limit: 180,
        remaining_month: 178,
        concurrent_pipelines_running: 1,
        concurrent_limit: 3,
        team_members: 1,
        team_limit: 2,
        providers_used: 1,
        provider_limit: 3,
        resets_at: '2025-03-11T00:00:00.000Z',
        bytes_billed_today: 0,
        daily_bytes_budget: 50 * 1024 ** 3,
        remaining_bytes_today: 50 * 1024 ** 3,
      });
    });
  });

  describe('after a plan downgrade below today’s usage', () => {
    it('never reports a negative remainder', async () => {
      await t.redis.hset(t.keys.dailyUsage(tenantId, '2025-03-10'), 'run', '9');
      const view = await getQuotaView({ redis: t.redis, keys: t.keys, clock }, tenantId);
      expect(view?.remaining_today).to.equal(0);
    });
  });

  describe('with bytes billed and reserved today', () => {
    it('reports them against the daily bytes budget, never a negative remainder', async () => {
      await t.redis.hset(t.keys.bytesDaily(tenantId, '2025-03-10'), { billed: String(20 * 1024 ** 3), reserved: String(5 * 1024 ** 3) });
      expect(await getQuotaView({ redis: t.redis, keys: t.keys, clock }, tenantId)).to.include({
        bytes_billed_today: 20 * 1024 ** 3, daily_bytes_budget: 50 * 1024 ** 3, remaining_bytes_today: 25 * 1024 ** 3,
      });
      await t.redis.hset(t.keys.bytesDaily(tenantId, '2025-03-10'), { billed: String(60 * 1024 ** 3) });
      expect((await getQuotaView({ redis: t.redis, keys: t.keys, clock }, tenantId))?.remaining_bytes_today).to.equal(0);
    });
  });

  describe('when the profile was cached before the byte limits existed', () => {
    it('answers null so the caller reloads it', async () => {
      await t.redis.hdel(t.keys.tenantProfile(tenantId), 'daily_bytes_budget', 'max_bytes_billed_per_query');
      expect(await getQuotaView({ redis: t.redis, keys: t.keys, clock }, tenantId)).to.equal(null);
    });
  });

  describe('when the profile is not cached', () => {
    it('answers null so the caller reloads it', async () => {
      await t.redis.del(t.keys.tenantProfile(tenantId));
      expect(await getQuotaView({ redis: t.redis, keys: t.keys, clock }, tenantId)).to.equal(null);
    });
  });
});
