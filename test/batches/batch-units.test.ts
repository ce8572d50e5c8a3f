import { expect } from 'chai';
import { BackfillStore } from '../../src/batches/backfill-store';
import type { Backfill } from '../../src/batches/backfill-store';
import { estimateDays } from '../../src/batches/backfill-service';
import { batchRunId, daysBetween, requestHash } from '../../src/batches/run-ids';
import { UUID_PATTERN } from '../../src/shared/ids';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

describe('backfill building blocks', () => {
  describe('estimateDays', () => {
    const midMonth = new Date('2026-10-10T12:00:00Z');
    const starter = (remainingToday: number) => ({ remainingToday, dailyLimit: 6, remainingMonth: 1000, monthlyLimit: 1000 });
    it('counts today only for what is left of its quota, then whole days at the daily quota', () => {
      expect(estimateDays(31, starter(6), midMonth)).to.equal(6);
      expect(estimateDays(31, starter(0), midMonth)).to.equal(6);
      expect(estimateDays(30, starter(0), midMonth)).to.equal(5);
      expect(estimateDays(5, starter(6), midMonth)).to.equal(1);
      expect(estimateDays(7, starter(1), midMonth)).to.equal(2);
      expect(estimateDays(0, starter(6), midMonth)).to.equal(0);
    });

    it('waits for the next UTC month when the monthly quota runs out, counting the days in between', () => {
      // 28 Oct: 10 left this month at 6 a day → 28th (6), 29th (4), then nothing until 1 Nov, then 6 a day.
      const quota = { remainingToday: 6, dailyLimit: 6, remainingMonth: 10, monthlyLimit: 100 };
      expect(estimateDays(10, quota, new Date('2026-10-28T08:00:00Z'))).to.equal(2);
      expect(estimateDays(16, quota, new Date('2026-10-28T08:00:00Z')), '28 Oct to 1 Nov').to.equal(5);
      // Month used up today: the first run is on the 1st, the span counts from there.
      expect(estimateDays(12, { ...quota, remainingToday: 0, remainingMonth: 0 }, new Date('2026-10-30T08:00:00Z'))).to.equal(2);
      // A month allows fewer runs than 30 days of the daily quota: 40 runs at 6 a day but 20 a month.
      expect(estimateDays(40, { remainingToday: 6, dailyLimit: 6, remainingMonth: 20, monthlyLimit: 20 }, new Date('2026-10-01T00:00:00Z'))).to.equal(31 + 4); // 20 in 1–4 Oct, 20 in 1–4 Nov
    });

    it('says never for a limit of 0', () => {
      expect(estimateDays(3, { remainingToday: 0, dailyLimit: 0, remainingMonth: 10, monthlyLimit: 10 }, midMonth)).to.equal(Number.MAX_SAFE_INTEGER);
      expect(estimateDays(3, { remainingToday: 0, dailyLimit: 5, remainingMonth: 0, monthlyLimit: 0 }, midMonth)).to.equal(Number.MAX_SAFE_INTEGER);
    });
  });

  describe('ids and ranges', () => {
    it('derives one UUID v4 run id per (backfill, date), the same each time', () => {
      const a = batchRunId('backfill', 'b1', '2026-10-01');
      expect(a).to.match(UUID_PATTERN);
      expect(batchRunId('backfill', 'b1', '2026-10-01')).to.equal(a);
      expect(batchRunId('backfill', 'b1', '2026-10-02')).to.not.equal(a);
      expect(batchRunId('fanout', 'b1', '2026-10-01')).to.not.equal(a);
    });
    it('hashes requests regardless of key order, and lists every day of a range across month ends', () => {
      expect(requestHash([{ a: 1, b: 2 }])).to.equal(requestHash([{ b: 2, a: 1 }]));
      expect(requestHash([{ a: 1 }])).to.not.equal(requestHash([{ a: 2 }]));
      expect(daysBetween('2024-02-28', '2024-03-01')).to.deep.equal(['2024-02-28', '2024-02-29', '2024-03-01']);
    });
  });

  describe('BackfillStore against the real Redis', () => {
    let r: TestRedis;
    let store: BackfillStore;
    const backfill = (id: string): Backfill => ({
      backfillId: id, tenantId: 'unit_corp', provider: 'gcp', domain: 'chaos', templateName: 'read_day', parameters: {},
      startDate: '2026-10-01', endDate: '2026-10-02', maxParallel: 2, skipCompleted: false, status: 'ACTIVE', userId: null, requestHash: 'same',
      createdAt: '2026-12-04T10:00:00.000Z', updatedAt: '2026-12-04T10:00:00.000Z', waitUntilMs: 0, lastRefusal: null, finishedAt: null,
      dates: [{ date: '2026-10-01', state: 'WAITING', ref: null }, { date: '2026-10-02', state: 'WAITING', ref: null }],
    });
    beforeEach(async () => {
      r = await createTestRedis();
      store = new BackfillStore(r.redis, r.keys);
    });
    afterEach(async () => r.cleanup());

    it('keeps one active backfill per request when two identical ones are created at once', async () => {
      const results = await Promise.all([store.create(backfill('b1'), 0, 3), store.create(backfill('b2'), 0, 3)]);
      expect(results.filter((x) => x.created)).to.have.length(1);
      expect(results[0]?.backfillId).to.equal(results[1]?.backfillId);
      expect(await store.activeOf('unit_corp')).to.have.length(1);
      expect(await store.due(0)).to.have.length(1);
    });

    describe('when the tenant holds its plan’s backfill_max_active', () => {
      const other = (id: string, hash: string): Backfill => ({ ...backfill(id), requestHash: hash });
      it('refuses a new request with 429 BACKFILL_LIMIT_REACHED, still answers the same request with its backfill, and has room again once one ended', async () => {
        await store.create(other('b1', 'h1'), 0, 2);
        await store.create(other('b2', 'h2'), 0, 2);
        expect(await store.hasRoomFor('unit_corp', 'h3', 2)).to.equal(false);
        expect(await store.hasRoomFor('unit_corp', 'h2', 2), 'the same request').to.equal(true);
        const refused = await store.create(other('b3', 'h3'), 0, 2).then(() => null, (err: unknown) => err);
        expect(refused).to.include({ status: 429, code: 'BACKFILL_LIMIT_REACHED' });
        expect(await store.create(other('b4', 'h2'), 0, 2)).to.deep.equal({ created: false, backfillId: 'b2' });
        expect(await store.get('unit_corp', 'b3'), 'nothing written for the refused one').to.equal(null);
        await store.finish((await store.get('unit_corp', 'b1')) as Backfill, 'COMPLETED', { updated_at: '2026-12-04T11:00:00.000Z' });
        expect(await store.create(other('b5', 'h3'), 0, 2)).to.deep.equal({ created: true, backfillId: 'b5' });
      });
      it('lets only one of two different requests at once take the last place', async () => {
        await store.create(other('b1', 'h1'), 0, 2);
        const results = await Promise.allSettled([store.create(other('b2', 'h2'), 0, 2), store.create(other('b3', 'h3'), 0, 2)]);
        expect(results.filter((x) => x.status === 'fulfilled')).to.have.length(1);
        expect(await store.activeCount('unit_corp')).to.equal(2);
      });
      it('lists the tenant’s active backfills oldest first', async () => {
        await store.create({ ...other('late', 'h1'), createdAt: '2026-12-04T12:00:00.000Z' }, 0, 3);
        await store.create({ ...other('early', 'h2'), createdAt: '2026-12-04T09:00:00.000Z' }, 0, 3);
        expect(await store.activeOldestFirst('unit_corp')).to.deep.equal(['early', 'late']);
      });
    });

    it('lets the same request start anew once the first one finished, and drops it from the index first', async () => {
      await store.create(backfill('b1'), 0, 3);
      await store.finish((await store.get('unit_corp', 'b1')) as Backfill, 'COMPLETED', { updated_at: '2026-12-04T11:00:00.000Z' });
      expect(await store.due(Date.now())).to.deep.equal([]);
      expect(await store.activeOf('unit_corp')).to.deep.equal([]);
      expect(await store.create(backfill('b2'), 0, 3)).to.deep.equal({ created: true, backfillId: 'b2' });
    });

    it('runs one dispatcher at a time; an ask while it runs makes it pass once more instead of running beside it', async () => {
      await store.create(backfill('b1'), 0, 3);
      let passes = 0;
      let concurrent = 0;
      let maxConcurrent = 0;
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const pass = async (): Promise<void> => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        passes += 1;
        if (passes === 1) await gate;
        concurrent -= 1;
      };
      const first = store.exclusively('unit_corp', 'b1', 10_000, pass);
      while (passes === 0) await new Promise((res) => setTimeout(res, 5));
      const others = await Promise.all([1, 2, 3].map(() => store.exclusively('unit_corp', 'b1', 10_000, pass)));
      expect(others).to.deep.equal([false, false, false]);
      release();
      expect(await first).to.equal(true);
      expect(passes).to.equal(2);
      expect(maxConcurrent).to.equal(1);
    });
  });
});
