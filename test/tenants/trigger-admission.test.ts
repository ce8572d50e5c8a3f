import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { caught } from '../helpers/errors';
import { ManualClock } from '../../src/shared/clock';
import { Admission } from '../../src/tenants/admission';
import type { AdmitRequest } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { createSeats } from '../../src/tenants/seats';
import type { Seats } from '../../src/tenants/seats';
import { admitWithSeats } from '../../src/tenants/trigger-admission';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';

/** The trigger's seats go into the admission script unless this process confirmed them a moment ago. */
describe('admission with the trigger seats (admitWithSeats)', () => {
  const tenantId = 'acme_corp';
  let clock: ManualClock;
  let t: TestRedis;
  let admission: Admission;
  let seats: Seats;

  const request = (extra: Partial<AdmitRequest> = {}): AdmitRequest => ({ tenantId, runId: randomUUID(), leaseMs: 60_000, provider: 'gcp', ...extra });

  beforeEach(async () => {
    clock = new ManualClock(new Date('2025-03-10T12:00:00.000Z'));
    t = await createTestRedis();
    admission = new Admission({ redis: t.redis, keys: t.keys, clock });
    seats = createSeats({ redis: t.redis, keys: t.keys, clock });
    await writeProfileCache(t.redis, t.keys, tenantId, { ...STARTER, concurrentLimit: 100 });
  });

  afterEach(async () => {
    await t.cleanup();
  });

  it('takes both seats through the script, then skips them while this process remembers them', async () => {
    expect((await admitWithSeats(admission, seats, request({ userId: 'alice' }))).outcome).to.equal('admitted');
    expect(await t.redis.sismember(t.keys.providers(tenantId), 'gcp')).to.equal(1);
    expect(await t.redis.zscore(t.keys.teamMembers(tenantId), 'alice')).to.not.equal(null);

    // Forget them in Redis only: a remembered seat is not sent again, so nothing re-adds it.
    await t.redis.del(t.keys.providers(tenantId), t.keys.teamMembers(tenantId));
    expect((await admitWithSeats(admission, seats, request({ userId: 'alice' }))).outcome).to.equal('admitted');
    expect(await t.redis.exists(t.keys.providers(tenantId), t.keys.teamMembers(tenantId))).to.equal(0);

    // A minute later the memory is gone and the script checks (and records) them again.
    clock.advance(61_000);
    expect((await admitWithSeats(admission, seats, request({ userId: 'alice' }))).outcome).to.equal('admitted');
    expect(await t.redis.sismember(t.keys.providers(tenantId), 'gcp')).to.equal(1);
    expect(await t.redis.zscore(t.keys.teamMembers(tenantId), 'alice')).to.not.equal(null);
  });

  it('a new member beyond the team always reaches the script and is refused', async () => {
    await t.redis.zadd(t.keys.teamMembers(tenantId), clock.now().getTime(), 'u1', clock.now().getTime(), 'u2');
    expect(await caught(admitWithSeats(admission, seats, request({ userId: 'u3' })))).to.include({ status: 403, code: 'TEAM_LIMIT_REACHED' });
    expect(await caught(admitWithSeats(admission, seats, request({ userId: 'u3' })))).to.include({ status: 403, code: 'TEAM_LIMIT_REACHED' });
  });

  it('remembers nothing when the profile was missing', async () => {
    await t.redis.del(t.keys.tenantProfile(tenantId));
    expect(await admitWithSeats(admission, seats, request({ userId: 'alice' }))).to.deep.equal({ outcome: 'profile_missing' });
    await writeProfileCache(t.redis, t.keys, tenantId, { ...STARTER, teamLimit: 0 });
    expect(await caught(admitWithSeats(admission, seats, request({ userId: 'alice' })))).to.include({ status: 403, code: 'TEAM_LIMIT_REACHED' });
  });
});
