import { expect } from 'chai';
import { RedisKeys } from '../../src/redis/keys';
import { ScriptRunner } from '../../src/redis/scripts';
import { assertSingleSlot, CrossSlotError, slotOf } from '../../src/redis/slots';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

const keys = new RedisKeys('cv');
const TENANT = 'acme_corp';

describe('Redis Cluster slots of the key names', () => {
  it('puts every key of one tenant in that tenant’s slot', () => {
    const tenantKeys = [
      keys.tenantProfile(TENANT),
      keys.running(TENANT),
      keys.dailyUsage(TENANT, '2026-01-05'),
      keys.monthlyUsage(TENANT, '2026-01'),
      keys.teamMembers(TENANT),
      keys.providers(TENANT),
      keys.admittedRuns(TENANT, '2026-01-05'),
      keys.inflight(TENANT, 'f1ngerprint'),
      keys.idempotency(TENANT, 'idem-1'),
      keys.run(TENANT, '5f0c6c1e-6a43-4c36-9d6e-2f1f3f1f3f1f'),
      keys.tenantRuns(TENANT),
      keys.schedule(TENANT, '0b5d7c9e-1f7a-4c8e-9a3b-6d2e4f1a2b3c'),
      keys.tenantSchedules(TENANT),
      keys.tenantDeferred(TENANT),
    ];
    expect(new Set(tenantKeys.map(slotOf)).size).to.equal(1);
    expect(slotOf(keys.running('other_corp'))).not.to.equal(slotOf(keys.running(TENANT)));
  });

  it('puts the due index with its in-flight leases, and the deferred queue with its entries, in one slot each', () => {
    expect(slotOf(keys.scheduleInflight())).to.equal(slotOf(keys.scheduleDue()));
    expect(slotOf(keys.deferredEntries())).to.equal(slotOf(keys.deferredQueue()));
  });

  it('puts every BullMQ key of every queue in one slot', () => {
    const bull = ['pipeline-runs:wait', 'pipeline-runs:active', 'pipeline-runs:5f0c6c1e', 'maintenance:repeat', 'maintenance:meta'].map((k) => `${keys.bullPrefix}:${k}`);
    expect(new Set(bull.map(slotOf)).size).to.equal(1);
  });
});

describe('a script call whose keys span slots', () => {
  let t: TestRedis;
  beforeEach(async () => {
    t = await createTestRedis();
  });
  afterEach(async () => t.cleanup());

  it('is refused before it reaches Redis, and the script does not run', async () => {
    await t.redis.zadd(t.keys.running('tenant_a'), Date.now() + 60_000, 'run-1');
    // release.lua over two tenants' keys would remove run-1 and count it on tenant_b's day.
    const release = new ScriptRunner(t.redis).run(
      'release',
      [t.keys.running('tenant_a'), t.keys.dailyUsage('tenant_b', '2026-01-05'), t.keys.inflight('tenant_a', '_'), t.keys.dispatchBacklog('tenant_a')],
      ['run-1', 'COMPLETED', 0, 60],
    );
    const refused = await release.then(() => null, (err: unknown) => err);
    expect(refused).to.be.instanceOf(CrossSlotError);
    expect((refused as Error).message).to.match(/script release touches keys in different cluster slots/);
    expect(await t.redis.zscore(t.keys.running('tenant_a'), 'run-1')).not.to.equal(null);
    expect(await t.redis.exists(t.keys.dailyUsage('tenant_b', '2026-01-05'))).to.equal(0);
  });
});

describe('assertSingleSlot (compares hash tags before computing slots)', () => {
  const sameSlot = (ks: string[]): boolean => new Set(ks.map(slotOf)).size === 1;
  const accepts = (ks: string[]): boolean => {
    try {
      assertSingleSlot('test', ks);
      return true;
    } catch (err) {
      if (err instanceof CrossSlotError) return false;
      throw err;
    }
  };
  const cases: string[][] = [
    [keys.running(TENANT), keys.run(TENANT, 'r1'), keys.rateLimitTenant(TENANT, 'run')],
    [keys.running(TENANT), keys.running('other_corp')],
    [keys.running(TENANT), keys.usageDirty()],
    ['{}a', '{}a'],
    ['{}a', '{}b'],
    ['a{', 'a{'],
    ['x{a}y', 'z{a}w'],
    ['x{a}{b}', 'y{a}{c}'],
    ['plain', 'plain'],
    ['plain', 'other'],
    ['{t:x', '{t:x}'],
  ];
  it('accepts exactly the key sets Redis Cluster would hash to one slot', () => {
    for (const ks of cases) expect(accepts(ks), ks.join(' ')).to.equal(sameSlot(ks));
  });
});
