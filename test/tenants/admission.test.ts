import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { ManualClock, utcDay, utcMonth } from '../../src/shared/clock';
import { AppError } from '../../src/shared/errors';
import { Admission } from '../../src/tenants/admission';
import type { AdmitRequest } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';


const tenantId = 'acme_corp';

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('admission', () => {
  let t: TestRedis;
  let clock: ManualClock;
  let admission: Admission;

  const admit = (extra: Partial<AdmitRequest> = {}) => admission.admit({ tenantId, runId: randomUUID(), leaseMs: 60_000, ...extra });
  const day = () => utcDay(clock.now());
  const dayCount = async (field = 'run') => Number((await t.redis.hget(t.keys.dailyUsage(tenantId, day()), field)) ?? 0);
  const monthCount = async () => Number((await t.redis.get(t.keys.monthlyUsage(tenantId, utcMonth(clock.now())))) ?? 0);

  beforeEach(async () => {
    t = await createTestRedis();
    clock = new ManualClock('2025-03-10T12:00:00.000Z');
    admission = new Admission({ redis: t.redis, keys: t.keys, clock });
    await writeProfileCache(t.redis, t.keys, tenantId, STARTER);
  });
  afterEach(async () => t.cleanup());

  describe('when the tenant has room', () => {
    it('admits, counts the day and the month, and holds a slot until the lease deadline', async () => {
      const runId = randomUUID();
      const result = await admission.admit({ tenantId, runId, leaseMs: 90_000 });
      expect(result).to.deep.equal({ outcome: 'admitted', runId, admittedAt: clock.now(), admittedAtDay: '2025-03-10', dispatchPriority: 1 });
      expect(await dayCount()).to.equal(1);
      expect(await monthCount()).to.equal(1);
      expect(await admission.runningRuns(tenantId)).to.deep.equal([{ runId, leaseDeadlineMs: clock.now().getTime() + 90_000 }]);
      expect(await t.redis.sismember(t.keys.usageDirty(), tenantId)).to.equal(1);
    });

    it('gives the counters an expiry so old days do not pile up', async () => {
      await admit();
      expect(await t.redis.ttl(t.keys.dailyUsage(tenantId, day()))).to.be.greaterThan(30 * 24 * 3600);
      expect(await t.redis.ttl(t.keys.monthlyUsage(tenantId, utcMonth(clock.now())))).to.be.greaterThan(365 * 24 * 3600);
    });
  });

  describe('when the same run id is admitted twice (a scheduler retry)', () => {
    it('answers already_admitted and counts it once', async () => {
      const runId = randomUUID();
      await admission.admit({ tenantId, runId, leaseMs: 60_000 });
      expect(await admission.admit({ tenantId, runId, leaseMs: 60_000 })).to.deep.equal({ outcome: 'already_admitted', runId });
      await admission.release(tenantId, runId, 'COMPLETED');
      expect(await admission.admit({ tenantId, runId, leaseMs: 60_000 })).to.deep.equal({ outcome: 'already_admitted', runId });
      clock.advance(24 * 3600 * 1000);
      expect((await admission.admit({ tenantId, runId, leaseMs: 60_000 })).outcome, 'also across midnight').to.equal('already_admitted');
      expect(await dayCount()).to.equal(0);
    });
  });

  describe('when an identical run is still in flight', () => {
    it('returns that run, and admits a new one once it was released', async () => {
      const first = await admit({ fingerprint: 'fp1' });
      const again = await admit({ fingerprint: 'fp1' });
      expect(again).to.deep.equal({ outcome: 'existing', runId: first.outcome === 'admitted' ? first.runId : '', reason: 'in_flight' });
      expect(await dayCount()).to.equal(1);
      await admission.release(tenantId, (first as { runId: string }).runId, 'COMPLETED', 'fp1');
      expect(await t.redis.exists(t.keys.inflight(tenantId, 'fp1'))).to.equal(0);
      expect((await admit({ fingerprint: 'fp1' })).outcome).to.equal('admitted');
    });

    it('ignores a fingerprint that points at a run no longer running', async () => {
      await t.redis.set(t.keys.inflight(tenantId, 'fp1'), 'gone-run');
      expect((await admit({ fingerprint: 'fp1' })).outcome).to.equal('admitted');
    });
  });

  describe('when an Idempotency-Key is replayed', () => {
    it('returns the first run for 24 hours, even after it finished', async () => {
      const first = await admit({ idempotencyKey: 'k1' });
      const firstId = (first as { runId: string }).runId;
      await admission.release(tenantId, firstId, 'COMPLETED');
      expect(await admit({ idempotencyKey: 'k1' })).to.deep.equal({ outcome: 'existing', runId: firstId, reason: 'idempotency_key' });
      const ttl = await t.redis.ttl(t.keys.idempotency(tenantId, 'k1'));
      expect(ttl).to.be.within(24 * 3600 - 5, 24 * 3600);
      expect(await dayCount()).to.equal(1);
    });
  });

  describe('when the profile is not in Redis', () => {
    it('answers profile_missing and counts nothing', async () => {
      await t.redis.del(t.keys.tenantProfile(tenantId));
      expect(await admit()).to.deep.equal({ outcome: 'profile_missing' });
      expect(await dayCount()).to.equal(0);
      expect(await t.redis.zcard(t.keys.running(tenantId))).to.equal(0);
    });
  });

  describe('when the tenant is suspended', () => {
    it('answers 401 INVALID_API_KEY', async () => {
      await writeProfileCache(t.redis, t.keys, tenantId, { ...STARTER, status: 'SUSPENDED' });
      const err = await rejection(admit());
      expect([err.status, err.code]).to.deep.equal([401, 'INVALID_API_KEY']);
    });
  });

  describe('when the concurrent limit is reached', () => {
    it("answers 429 CONCURRENT_LIMIT_REACHED with the guide's text and a Retry-After", async () => {
      for (let i = 0; i < 3; i += 1) await admit();
      const err = await rejection(admit());
      expect([err.status, err.code]).to.deep.equal([429, 'CONCURRENT_LIMIT_REACHED']);
      expect(err.message).to.equal('Concurrent pipeline limit reached. Wait for running pipelines to complete.');
      expect(err.headers['Retry-After']).to.equal('30');
      expect(await dayCount()).to.equal(3);
    });

    it('applies a raised plan limit on the next trigger', async () => {
      for (let i = 0; i < 3; i += 1) await admit();
      await writeProfileCache(t.redis, t.keys, tenantId, { ...STARTER, plan: 'PROFESSIONAL', dailyLimit: 25, concurrentLimit: 5 });
      expect((await admit()).outcome).to.equal('admitted');
    });
  });

  describe('when the daily quota is used up', () => {
    it("answers 429 DAILY_QUOTA_EXCEEDED with the guide's text, retrying at the next UTC midnight", async () => {
      clock.set('2025-03-10T23:00:00.000Z');
      for (let i = 0; i < 6; i += 1) {
        const r = await admit();
        await admission.release(tenantId, (r as { runId: string }).runId, 'COMPLETED');
      }
      const err = await rejection(admit());
      expect([err.status, err.code]).to.deep.equal([429, 'DAILY_QUOTA_EXCEEDED']);
      expect(err.message).to.equal('Daily pipeline quota exceeded. Upgrade or wait until tomorrow.');
      expect(err.headers['Retry-After']).to.equal('3600');
    });

    it('rolls over at 00:00 UTC by itself, while the month keeps counting', async () => {
      for (let i = 0; i < 6; i += 1) {
        const r = await admit();
        await admission.release(tenantId, (r as { runId: string }).runId, 'FAILED');
      }
      clock.set('2025-03-11T00:00:00.000Z');
      expect((await admit()).outcome).to.equal('admitted');
      expect(await dayCount()).to.equal(1);
      expect(await monthCount()).to.equal(7);
    });
  });

  describe('when the monthly quota is used up', () => {
    it('answers 429 MONTHLY_QUOTA_EXCEEDED, retrying at the start of the next month', async () => {
      await writeProfileCache(t.redis, t.keys, tenantId, { ...STARTER, monthlyLimit: 2 });
      clock.set('2025-03-31T22:00:00.000Z');
      for (let i = 0; i < 2; i += 1) await admit();
      const err = await rejection(admit());
      expect([err.status, err.code]).to.deep.equal([429, 'MONTHLY_QUOTA_EXCEEDED']);
      expect(err.headers['Retry-After']).to.equal('7200');
    });
  });

  describe('release', () => {
    it('frees the slot and counts the outcome once, however often it is called', async () => {
      const r = await admit();
      const runId = (r as { runId: string }).runId;
      expect(await admission.release(tenantId, runId, 'FAILED')).to.equal(true);
      expect(await admission.release(tenantId, runId, 'FAILED')).to.equal(false);
      expect(await admission.release(tenantId, runId, 'COMPLETED')).to.equal(false);
      expect(await dayCount('failed')).to.equal(1);
      expect(await dayCount('succeeded')).to.equal(0);
      expect(await admission.runningRuns(tenantId)).to.deep.equal([]);
    });

    it('leaves an in-flight pointer alone when it names another run', async () => {
      const r = await admit({ fingerprint: 'fp1' });
      await t.redis.set(t.keys.inflight(tenantId, 'fp1'), 'other-run');
      await admission.release(tenantId, (r as { runId: string }).runId, 'CANCELLED', 'fp1');
      expect(await t.redis.get(t.keys.inflight(tenantId, 'fp1'))).to.equal('other-run');
    });
  });

  describe('refund', () => {
    it('restores the counters exactly once, even when called concurrently', async () => {
      await admit();
      const r = await admit({ fingerprint: 'fp1', idempotencyKey: 'k1' });
      const runId = (r as { runId: string }).runId;
      const results = await Promise.all(
        Array.from({ length: 10 }, () => admission.refund(tenantId, runId, '2025-03-10', 'fp1', 'k1')),
      );
      expect(results.filter(Boolean)).to.have.length(1);
      expect(await dayCount()).to.equal(1);
      expect(await monthCount()).to.equal(1);
      expect((await admission.runningRuns(tenantId)).map((x) => x.runId)).to.not.include(runId);
      expect(await t.redis.exists(t.keys.inflight(tenantId, 'fp1'), t.keys.idempotency(tenantId, 'k1'))).to.equal(0);
      expect((await admit({ idempotencyKey: 'k1' })).outcome, 'the key is free again').to.equal('admitted');
    });

    it('never takes a counter below zero, even when the day key is gone', async () => {
      const r = await admit();
      await t.redis.del(t.keys.dailyUsage(tenantId, day()), t.keys.monthlyUsage(tenantId, utcMonth(clock.now())));
      expect(await admission.refund(tenantId, (r as { runId: string }).runId, day())).to.equal(true);
      expect(await t.redis.hget(t.keys.dailyUsage(tenantId, day()), 'run')).to.equal(null);
      expect(await t.redis.get(t.keys.monthlyUsage(tenantId, utcMonth(clock.now())))).to.equal(null);
    });
  });

  describe('leases', () => {
    it('lists runs whose lease deadline passed, and lets a running lease be moved', async () => {
      const a = (await admit({ leaseMs: 1_000 })) as { runId: string };
      const b = (await admit({ leaseMs: 10_000 })) as { runId: string };
      const nowMs = clock.now().getTime();
      expect((await admission.expiredRuns(tenantId, nowMs + 5_000)).map((x) => x.runId)).to.deep.equal([a.runId]);
      expect(await admission.setLeaseDeadline(tenantId, a.runId, nowMs + 20_000)).to.equal(true);
      expect(await admission.expiredRuns(tenantId, nowMs + 5_000)).to.deep.equal([]);
      await admission.release(tenantId, b.runId, 'COMPLETED');
      expect(await admission.setLeaseDeadline(tenantId, b.runId, nowMs + 20_000), 'released runs stay released').to.equal(false);
      expect((await admission.runningRuns(tenantId)).map((x) => x.runId)).to.deep.equal([a.runId]);
    });
  });
});
