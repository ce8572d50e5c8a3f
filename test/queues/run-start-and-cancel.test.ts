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
});
