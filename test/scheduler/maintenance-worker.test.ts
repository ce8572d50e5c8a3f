import { expect } from 'chai';
import { QueueEvents } from 'bullmq';
import { createRedis, closeRedis } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { ManualClock } from '../../src/shared/clock';
import { MAINTENANCE_JOB_NAMES, MAINTENANCE_QUEUE, createMaintenanceQueue, syncMaintenanceSchedulers } from '../../src/queues/maintenance';
import type { MaintenanceJobName, MaintenanceQueue } from '../../src/queues/maintenance';
import { createMaintenanceWorker } from '../../src/workers/maintenance-worker';
import type { MaintenanceRoutines, MaintenanceWorker } from '../../src/workers/maintenance-worker';
import { createTestRedis } from '../helpers/redis';
import { forEachRedis } from '../helpers/redis-targets';
import type { TestRedis } from '../helpers/redis';

forEachRedis('maintenance queue and worker (BullMQ job schedulers)', (redisUnderTest) => {
  let t: TestRedis;
  let connection: RedisClient;
  let queue: MaintenanceQueue;
  beforeEach(async () => {
    t = await createTestRedis(await redisUnderTest.target());
    connection = createRedis(t.target, { forBullMQ: true });
    queue = createMaintenanceQueue(connection, t.keys);
  });
  afterEach(async () => {
    await queue.close();
    await closeRedis(connection);
    await t.cleanup();
  });

  describe('with SCHEDULER_MODE=internal', () => {
    it('installs one job scheduler per maintenance job, idempotently', async () => {
      await syncMaintenanceSchedulers(queue, 'internal');
      await syncMaintenanceSchedulers(queue, 'internal');
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).to.deep.equal([...MAINTENANCE_JOB_NAMES].sort());
      const reset = schedulers.find((s) => s.key === 'reset-daily-quotas');
      expect(reset).to.include({ pattern: '0 0 * * *', tz: 'UTC' });
      expect(schedulers.find((s) => s.key === 'cleanup-orphans')?.pattern).to.equal('*/15 * * * *');
    });

    it('retries a failed day close (it runs once a day), and no per-minute job (its next run is the retry)', async () => {
      await syncMaintenanceSchedulers(queue, 'internal');
      const reset = await queue.getJobScheduler('reset-daily-quotas');
      expect(reset?.template?.opts).to.deep.include({ attempts: 6, backoff: { type: 'exponential', delay: 60_000 } });
      expect((await queue.getJobScheduler('scheduler-tick'))?.template?.opts).to.include({ attempts: 1 });
    });
  });

  describe('with SCHEDULER_MODE=external', () => {
    it('removes the job schedulers Cloud Scheduler replaces and keeps usage refresh and log reconciliation', async () => {
      await syncMaintenanceSchedulers(queue, 'internal');
      await syncMaintenanceSchedulers(queue, 'external');
      const schedulers = await queue.getJobSchedulers();
      expect(schedulers.map((s) => s.key).sort()).to.deep.equal(['log-reconcile', 'usage-refresh']);
    });
  });

  describe('the worker', () => {
    let worker: MaintenanceWorker;
    let events: QueueEvents;
    let eventsConnection: RedisClient;
    const calls: { routine: string; now: Date }[] = [];
    const clock = new ManualClock('2025-11-15T00:00:00Z');
    const record = (routine: string) => async (now: Date): Promise<unknown> => {
      calls.push({ routine, now });
      return { ran: routine };
    };
    const routines: MaintenanceRoutines = {
      tick: record('tick'),
      processQueue: record('processQueue'),
      refreshUsage: record('refreshUsage'),
      reconcileLogs: record('reconcileLogs'),
      cleanupOrphans: record('cleanupOrphans'),
      resetDailyQuotas: record('resetDailyQuotas'),
    };

    beforeEach(async () => {
      calls.length = 0;
      eventsConnection = createRedis(t.target, { forBullMQ: true });
      // From the stream's start (the prefix is this test's own): with '$' a job finishing before the first XREAD is missed.
      events = new QueueEvents(MAINTENANCE_QUEUE, { connection: eventsConnection, prefix: t.keys.bullPrefix, lastEventId: '0-0' });
      await events.waitUntilReady();
      worker = createMaintenanceWorker({ connection, keys: t.keys, routines, clock });
    });
    afterEach(async () => {
      await worker.close();
      await events.close();
      await closeRedis(eventsConnection);
    });

    it('dispatches each job name to its routine with the clock’s now, and keeps the result', async () => {
      const expected: Record<MaintenanceJobName, string> = {
        'scheduler-tick': 'tick',
        'process-queue': 'processQueue',
        'usage-refresh': 'refreshUsage',
        'log-reconcile': 'reconcileLogs',
        'cleanup-orphans': 'cleanupOrphans',
        'reset-daily-quotas': 'resetDailyQuotas',
      };
      for (const name of MAINTENANCE_JOB_NAMES) {
        const job = await queue.add(name, {});
        const result: unknown = await job.waitUntilFinished(events, 10_000);
        expect(result).to.deep.equal({ ran: expected[name] });
      }
      expect(calls.map((c) => c.routine)).to.deep.equal(Object.values(expected));
      expect(calls.every((c) => c.now.toISOString() === '2025-11-15T00:00:00.000Z')).to.equal(true);
    });

    it('fails a job with an unknown name', async () => {
      const job = await (queue as unknown as { add(name: string, data: object): ReturnType<MaintenanceQueue['add']> }).add('bogus', {});
      let message = '';
      try {
        await job.waitUntilFinished(events, 10_000);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).to.match(/unknown maintenance job "bogus"/);
      expect(calls).to.deep.equal([]);
    });
  });
});
