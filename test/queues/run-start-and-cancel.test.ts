import { expect } from 'chai';
import { RunStore } from '../../src/queues/run-store';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/**
 * run-start.lua and run-cancel.lua against the real Redis: whatever order concurrent calls arrive in, each
 * pair of start and cancel agrees with one serial order, and a terminal run is never touched.
 */
const TENANT = 'scripts_corp';
const jobOf = (id: string): PipelineRunJob => ({
  pipelineLoggingId: id, pipelineId: `${TENANT}-gcp-cost-dryrun`, tenantId: TENANT, provider: 'gcp', domain: 'cost', templateName: 'dryrun',
  parameters: {}, userId: null, triggerType: 'api', admittedAt: new Date().toISOString(),
});

describe('starting and cancelling a run (run-start.lua, run-cancel.lua)', () => {
  let t: TestRedis;
  let store: RunStore;
  beforeEach(async () => {
    t = await createTestRedis();
    store = new RunStore(t.redis, t.keys, { terminalTtlSeconds: 60, recentPerTenant: 1000 });
  });
  afterEach(async () => t.cleanup());

  describe('when 200 runs are started and cancelled at the same time', () => {
    it('each run either started before its cancel (RUNNING, flagged) or was refused because of it (PENDING, flagged)', async () => {
      const ids = Array.from({ length: 200 }, (_, i) => `run-${i}`);
      await Promise.all(ids.map((id) => store.createPending(jobOf(id))));
      const at = new Date();
      const pairs = await Promise.all(
        ids.map((id, i) => {
          // Alternate which call is issued first; the scripts, not the issue order, must decide.
          const start = () => store.start(TENANT, id, at, 'w1');
          const cancel = () => store.requestCancel(TENANT, id);
          return i % 2 === 0 ? Promise.all([start(), cancel()]) : Promise.all([cancel(), start()]).then(([c, s]) => [s, c] as const);
        }),
      );
      const orders = new Set<string>();
      for (const [i, [start, cancel]] of pairs.entries()) {
        const live = await store.get(TENANT, ids[i]!);
        expect(live?.cancelRequested).to.equal(true);
        if (start.outcome === 'started') {
          expect(cancel).to.deep.equal({ outcome: 'requested', previous: 'RUNNING' });
          expect(live?.status).to.equal('RUNNING');
          orders.add('start first');
        } else {
          expect(start).to.deep.equal({ outcome: 'cancel_requested', previous: 'PENDING' });
          expect(cancel).to.deep.equal({ outcome: 'requested', previous: 'PENDING' });
          expect(live?.status).to.equal('PENDING');
          orders.add('cancel first');
        }
      }
      expect([...orders].sort()).to.deep.equal(['cancel first', 'start first']);
    });
  });

  describe('when the run is already terminal', () => {
    it('neither starts it again nor flags it, and reports the final status', async () => {
      await store.createPending(jobOf('done'));
      expect(await store.markTerminal(TENANT, 'done', { status: 'FAILED', at: new Date(), durationMs: 5, errorMessage: 'boom' })).to.equal(true);
      expect(await store.start(TENANT, 'done', new Date(), 'w1')).to.deep.equal({ outcome: 'finished', previous: 'FAILED' });
      expect(await store.requestCancel(TENANT, 'done')).to.deep.equal({ outcome: 'finished', previous: 'FAILED' });
      const live = await store.get(TENANT, 'done');
      expect(live).to.include({ status: 'FAILED', cancelRequested: false, workerInstance: null });
    });
  });

  describe('when a run is terminated (run-terminal.lua)', () => {
    it('returns its fingerprint to the first writer only as fresh, and to a late writer as not fresh with the status it ended with', async () => {
      await store.createPending(jobOf('fp'), { fingerprint: 'abc123' });
      await store.createPending(jobOf('nofp'));
      const first = await store.terminate(TENANT, 'fp', { status: 'COMPLETED', at: new Date(), durationMs: 5 });
      const second = await store.terminate(TENANT, 'fp', { status: 'FAILED', at: new Date(), durationMs: null, errorMessage: 'late' });
      expect(first).to.deep.equal({ fresh: true, fingerprint: 'abc123', previous: 'PENDING' });
      expect(second).to.deep.equal({ fresh: false, fingerprint: 'abc123', previous: 'COMPLETED' });
      expect((await store.get(TENANT, 'fp'))?.status).to.equal('COMPLETED');
      expect(await store.terminate(TENANT, 'nofp', { status: 'CANCELLED', at: new Date(), durationMs: null })).to.deep.equal({ fresh: true, fingerprint: null, previous: 'PENDING' });
      expect(await store.terminate(TENANT, 'ghost', { status: 'FAILED', at: new Date(), durationMs: null })).to.deep.equal({ fresh: false, fingerprint: null, previous: 'MISSING' });
    });
  });

  describe('when the run is unknown', () => {
    it('reports it missing and writes nothing', async () => {
      expect(await store.start(TENANT, 'ghost', new Date(), 'w1')).to.deep.equal({ outcome: 'missing' });
      expect(await store.requestCancel(TENANT, 'ghost')).to.deep.equal({ outcome: 'missing' });
      expect(await t.redis.exists(t.keys.run(TENANT, 'ghost'))).to.equal(0);
    });
  });

  describe('the concurrency lease when a worker starts the run', () => {
    const LEASE_MS = 65 * 60_000;
    it('counts again from the start: a run that waited for a worker is not past its deadline', async () => {
      const admittedMs = Date.now() - 66 * 60_000;
      await store.createPending(jobOf('late'), { leaseMs: LEASE_MS });
      await t.redis.zadd(t.keys.running(TENANT), admittedMs + LEASE_MS, 'late');
      const startedAt = new Date();
      expect((await store.start(TENANT, 'late', startedAt, 'w1')).outcome).to.equal('started');
      expect(Number(await t.redis.zscore(t.keys.running(TENANT), 'late'))).to.equal(startedAt.getTime() + LEASE_MS);
    });

    it('never takes back a slot already released, and leaves a record without a lease as it was', async () => {
      await store.createPending(jobOf('released'), { leaseMs: LEASE_MS });
      expect((await store.start(TENANT, 'released', new Date(), 'w1')).outcome).to.equal('started');
      expect(await t.redis.zscore(t.keys.running(TENANT), 'released')).to.equal(null);
      await store.createPending(jobOf('older'));
      await t.redis.zadd(t.keys.running(TENANT), 1234, 'older');
      expect((await store.start(TENANT, 'older', new Date(), 'w1')).outcome).to.equal('started');
      expect(await t.redis.zscore(t.keys.running(TENANT), 'older')).to.equal('1234');
    });
  });

  describe('progress writes (run-progress.lua)', () => {
    const progress = { stepsDone: 0, stepsTotal: 1, steps: [{ id: 's1', type: 'query' as const, status: 'RUNNING' as const, attempt: 1 }] };
    it('are recorded while the run goes on, and never over an ended run or into a record that is gone', async () => {
      await store.createPending(jobOf('going'));
      await store.recordProgress(TENANT, 'going', progress);
      expect((await store.get(TENANT, 'going'))?.steps.map((s) => s.status)).to.deep.equal(['RUNNING']);
      await store.terminate(TENANT, 'going', { status: 'FAILED', at: new Date(), durationMs: null, errorMessage: 'Orphaned', steps: [] });
      await store.recordProgress(TENANT, 'going', progress);
      expect((await store.get(TENANT, 'going'))?.steps).to.deep.equal([]);
      await store.recordProgress(TENANT, 'gone', progress);
      expect(await t.redis.exists(t.keys.run(TENANT, 'gone'))).to.equal(0);
    });
  });
});
