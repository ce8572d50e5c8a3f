import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { getSchedulerStatus, recordRunOutcome } from '../../src/scheduler/status';

describe('scheduler status', () => {
  let t: TestRedis;
  const now = new Date('2025-11-15T12:00:00Z');
  beforeEach(async () => {
    t = await createTestRedis();
  });
  afterEach(async () => t.cleanup());

  describe('when nothing has happened', () => {
    it('answers zeros for every field', async () => {
      expect(await getSchedulerStatus(t, now)).to.deep.equal({
        total_active_pipelines: 0,
        pipelines_due_now: 0,
        pipelines_queued: 0,
        pipelines_running: 0,
        pipelines_completed_today: 0,
        pipelines_failed_today: 0,
        avg_execution_time_seconds: 0,
      });
    });
  });

  describe('with schedules, queued and running runs and finished runs today', () => {
    it('counts them from the indexes and today’s stats', async () => {
      const { redis, keys } = t;
      await redis.zadd(keys.scheduleDue(), now.getTime() - 1000, 'a', now.getTime(), 'b', now.getTime() + 60_000, 'c');
      await redis.zadd(keys.deferredQueue(), 1, 'q1', 2, 'q2');
      await redis.sadd(keys.tenantIndex(), 'acme_corp', 'other_co', 'idle_co');
      await redis.zadd(keys.running('acme_corp'), 1, 'r1', 2, 'r2');
      await redis.zadd(keys.running('other_co'), 1, 'r3');
      await recordRunOutcome(t, { status: 'COMPLETED', durationMs: 30_000, at: now, runId: 'x1' });
      await recordRunOutcome(t, { status: 'COMPLETED', durationMs: 60_000, at: now, runId: 'x2' });
      await recordRunOutcome(t, { status: 'FAILED', durationMs: 15_000, at: now, runId: 'x3' });
      await recordRunOutcome(t, { status: 'COMPLETED', durationMs: 1_000, at: new Date('2025-11-14T23:59:59Z'), runId: 'y' });
      expect(await getSchedulerStatus(t, now)).to.deep.equal({
        total_active_pipelines: 3,
        pipelines_due_now: 2,
        pipelines_queued: 2,
        pipelines_running: 3,
        pipelines_completed_today: 2,
        pipelines_failed_today: 1,
        avg_execution_time_seconds: 35,
      });
    });
  });

  describe('when the same run is reported twice', () => {
    it('counts it once', async () => {
      expect(await recordRunOutcome(t, { status: 'FAILED', durationMs: 10, at: now, runId: 'dup' })).to.equal(true);
      expect(await recordRunOutcome(t, { status: 'FAILED', durationMs: 10, at: now, runId: 'dup' })).to.equal(false);
      expect((await getSchedulerStatus(t, now)).pipelines_failed_today).to.equal(1);
    });
  });
});
