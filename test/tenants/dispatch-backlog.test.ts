import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { Admission } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { STARTER_PROFILE } from '../helpers/profiles';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/**
 * The dispatch backlog the admission script counts (fair dispatch), at the script level: the priority each
 * admission returns, how release and refund take runs out, and how an entry left behind is dropped.
 */
const tenantId = 'queue_corp';

describe('the dispatch backlog of admit.lua, release.lua and refund.lua', () => {
  let t: TestRedis;
  let clock: ManualClock;
  let admission: Admission;
  const admit = async (runId: string): Promise<number> => {
    const result = await admission.admit({ tenantId, runId, leaseMs: 60_000 });
    if (result.outcome !== 'admitted') throw new Error(`${runId} not admitted: ${result.outcome}`);
    return result.dispatchPriority;
  };
  const backlog = async () => Object.fromEntries(await admission.dispatchBacklog(tenantId));

  beforeEach(async () => {
    t = await createTestRedis();
    clock = new ManualClock('2025-03-10T12:00:00.000Z');
    admission = new Admission({ redis: t.redis, keys: t.keys, clock });
    // Room for a backlog of 10 at once.
    await writeProfileCache(t.redis, t.keys, tenantId, { ...STARTER_PROFILE, dailyLimit: 100, monthlyLimit: 1000, concurrentLimit: 10 });
  });
  afterEach(async () => t.cleanup());

  it('gives each run its place in the backlog, and never a place ahead of the tenant’s own earlier runs', async () => {
    expect([await admit('r1'), await admit('r2'), await admit('r3')]).to.deep.equal([1, 2, 3]);
    // r1 ends (released): two queued, so r4 is third in line; r3 holds priority 3, and r4 at 3 queues behind it (FIFO).
    expect(await admission.release(tenantId, 'r1', 'COMPLETED')).to.equal(true);
    expect(await admit('r4')).to.equal(3);
    expect(await backlog()).to.deep.equal({ r2: 2, r3: 3, r4: 3 });
  });

  it('takes a refunded run out, and a refund or release repeated changes nothing more', async () => {
    await admit('r1');
    await admit('r2');
    expect(await admission.refund(tenantId, 'r2', '2025-03-10')).to.equal(true);
    expect(await admission.refund(tenantId, 'r2', '2025-03-10')).to.equal(false);
    expect(await admission.release(tenantId, 'r2', 'FAILED')).to.equal(false);
    expect(await backlog()).to.deep.equal({ r1: 1 });
    expect(await admit('r3')).to.equal(2);
  });

  it('drops an entry whose run left the running set without it (an older process) once it is at the front', async () => {
    await admit('r1');
    await admit('r2');
    // r1 leaves the running set the way a process without fair dispatch released it: the backlog keeps it.
    await t.redis.zrem(t.keys.running(tenantId), 'r1');
    expect(await admit('r3')).to.equal(2);
    expect(await backlog()).to.deep.equal({ r2: 2, r3: 2 });
  });
});
