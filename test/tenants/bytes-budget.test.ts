import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { BytesBudget, GRANT_HEADROOM, MIN_BILLED_BYTES, RESERVATION_LEASE_MS } from '../../src/tenants/bytes-budget';
import { parsePlans } from '../../src/tenants/plans';
import { readProfileCache, writeProfileCache } from '../../src/tenants/profile-cache';
import { caught } from '../helpers/errors';
import { STARTER_PROFILE } from '../helpers/profiles';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

const TENANT = 'acme_corp';
const MIB = 1024 * 1024;
const GIB = 1024 ** 3;

describe('bytes budget (bytes-reserve.lua, bytes-settle.lua)', () => {
  let r: TestRedis;
  let clock: ManualClock;
  let budget: BytesBudget;

  beforeEach(async () => {
    r = await createTestRedis();
    clock = new ManualClock('2025-11-15T08:00:00Z');
    await writeProfileCache(r.redis, r.keys, TENANT, { ...STARTER_PROFILE, maxBytesBilledPerQuery: 100 * MIB, dailyBytesBudget: 300 * MIB });
    budget = new BytesBudget({ redis: r.redis, keys: r.keys, clock });
  });
  afterEach(async () => r.cleanup());

  it('grants the estimate plus headroom, at least BigQuery\'s 10 MiB minimum, and never more than the cap', async () => {
    expect((await budget.reserve(TENANT, 'a', 50 * MIB)).grantedBytes).to.equal(55 * MIB);
    expect(GRANT_HEADROOM).to.equal(0.1);
    expect((await budget.reserve(TENANT, 'b', 0)).grantedBytes).to.equal(MIN_BILLED_BYTES + MIN_BILLED_BYTES / 10);
    expect((await budget.reserve(TENANT, 'c', 95 * MIB)).grantedBytes, 'clipped to the cap').to.equal(100 * MIB);
  });

  it("names the tenant's plan with the grant (the per-plan metric reads no profile of its own), also on a retried reserve", async () => {
    expect((await budget.reserve(TENANT, 'a', 50 * MIB)).plan).to.equal(STARTER_PROFILE.plan);
    expect((await budget.reserve(TENANT, 'a', 50 * MIB)).plan).to.equal(STARTER_PROFILE.plan);
  });

  it('refuses over the cap and over the remaining budget with BYTES_LIMIT_EXCEEDED naming estimate and limit', async () => {
    const overCap = await caught(budget.reserve(TENANT, 'a', 101 * MIB));
    expect(overCap.code).to.equal('BYTES_LIMIT_EXCEEDED');
    expect(overCap.message).to.contain(`${101 * MIB} bytes`).and.contain(`${100 * MIB} bytes`);
    await budget.reserve(TENANT, 'b', 90 * MIB);
    await budget.reserve(TENANT, 'c', 90 * MIB);
    await budget.reserve(TENANT, 'd', 90 * MIB);
    const overBudget = await caught(budget.reserve(TENANT, 'e', 90 * MIB));
    expect(overBudget.message).to.contain(`estimated ${90 * MIB} bytes`).and.contain(`${300 * MIB - 3 * 99 * MIB} bytes`).and.contain(`budget of ${300 * MIB} bytes`);
  });

  it('settles once to what was billed; a second settle changes nothing; 0 releases', async () => {
    const a = await budget.reserve(TENANT, 'a', 50 * MIB);
    const b = await budget.reserve(TENANT, 'b', 50 * MIB);
    await budget.settle(a, 40 * MIB);
    await budget.settle(a, 40 * MIB);
    await budget.settle(b, 0);
    expect(await budget.usage(TENANT)).to.deep.equal({ billedToday: 40 * MIB, reservedToday: 0 });
  });

  it('returns the same grant when a reservation id is reserved again (a re-delivered run)', async () => {
    const first = await budget.reserve(TENANT, 'run-1:scan:1', 50 * MIB);
    const again = await budget.reserve(TENANT, 'run-1:scan:1', 50 * MIB);
    expect(again.grantedBytes).to.equal(first.grantedBytes);
    expect((await budget.usage(TENANT)).reservedToday).to.equal(first.grantedBytes);
  });

  it('counts a reservation whose lease passed (its worker died, its job may have run on) as spent, at the next reserve', async () => {
    await budget.reserve(TENANT, 'dead', 90 * MIB);
    clock.advance(RESERVATION_LEASE_MS + 1);
    await budget.reserve(TENANT, 'next', 10 * MIB);
    expect(await budget.usage(TENANT)).to.deep.equal({ billedToday: 99 * MIB, reservedToday: 11 * MIB });
    clock.advance(RESERVATION_LEASE_MS + 1);
    await budget.reserve(TENANT, 'later', 10 * MIB);
    expect(await budget.usage(TENANT), 'counted once').to.deep.equal({ billedToday: 110 * MIB, reservedToday: 11 * MIB });
  });

  it('counts bytes per UTC day', async () => {
    const a = await budget.reserve(TENANT, 'a', 90 * MIB);
    await budget.settle(a, 90 * MIB);
    clock.advance(24 * 3600 * 1000);
    expect(await budget.usage(TENANT)).to.deep.equal({ billedToday: 0, reservedToday: 0 });
    expect((await budget.limits(TENANT))?.remainingBytesToday).to.equal(300 * MIB);
  });

  it('under contention grants no more than the budget in total', async () => {
    const grants = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => budget.reserve(TENANT, `r${i}`, 20 * MIB)));
    const granted = grants.flatMap((g) => (g.status === 'fulfilled' ? [g.value.grantedBytes] : []));
    expect(granted.reduce((a, b) => a + b, 0)).to.be.at.most(300 * MIB);
    expect(granted.length).to.equal(Math.floor(300 / 22));
    expect(grants.filter((g) => g.status === 'rejected').length).to.equal(40 - granted.length);
  });

  it('reloads a profile written before the byte limits existed, then reserves', async () => {
    await r.redis.hdel(r.keys.tenantProfile(TENANT), 'max_bytes_billed_per_query', 'daily_bytes_budget');
    let reloads = 0;
    const reloading = new BytesBudget({
      redis: r.redis, keys: r.keys, clock,
      reloadProfile: async (tenantId) => {
        reloads++;
        await writeProfileCache(r.redis, r.keys, tenantId, { ...STARTER_PROFILE, maxBytesBilledPerQuery: 100 * MIB, dailyBytesBudget: 300 * MIB });
      },
    });
    expect((await reloading.reserve(TENANT, 'a', MIB)).grantedBytes).to.be.greaterThan(0);
    expect(reloads).to.equal(1);
  });
});

describe('plans: byte limits', () => {
  it('reads sizes with units and defaults a plan without them to the smallest shipped limits', () => {
    const plans = parsePlans({
      default: 'A',
      plans: {
        A: { daily_limit: 1, concurrent_limit: 1, team_limit: 1, provider_limit: 1, max_bytes_billed_per_query: '1.5 GiB', daily_bytes_budget: 1024 },
        B: { daily_limit: 1, concurrent_limit: 1, team_limit: 1, provider_limit: 1 },
      },
    });
    expect(plans.get('A')).to.include({ maxBytesBilledPerQuery: 1.5 * GIB, dailyBytesBudget: 1024 });
    expect(plans.get('B')).to.include({ maxBytesBilledPerQuery: 10 * GIB, dailyBytesBudget: 50 * GIB });
    expect(() => parsePlans({ default: 'A', plans: { A: { daily_limit: 1, concurrent_limit: 1, team_limit: 1, provider_limit: 1, daily_bytes_budget: '5 lots' } } })).to.throw(/daily_bytes_budget/);
  });

  it('carries them in the Redis profile', async () => {
    const r = await createTestRedis();
    try {
      await writeProfileCache(r.redis, r.keys, TENANT, { ...STARTER_PROFILE, maxBytesBilledPerQuery: 7, dailyBytesBudget: 9 });
      expect(await readProfileCache(r.redis, r.keys, TENANT)).to.include({ maxBytesBilledPerQuery: 7, dailyBytesBudget: 9 });
    } finally {
      await r.cleanup();
    }
  });
});
