import { expect } from 'chai';
import { RunStore } from '../../src/queues/run-store';
import { RunFinaliser } from '../../src/queues/run-finaliser';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import type { StepState } from '../../src/pipelines/types';
import { createMetrics } from '../../src/observability/metrics';
import { silentLogger } from '../../src/shared/logger';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/**
 * A cancelled BigQuery job reports what it billed after its run ended: the live record's steps are written again
 * with those bytes (run-late-steps.lua), only once the run's own end wrote its steps, and never into a record
 * that is gone.
 */
const TENANT = 'late_corp';
const jobOf = (id: string): PipelineRunJob => ({
  pipelineLoggingId: id, pipelineId: `${TENANT}-gcp-cost-scan`, tenantId: TENANT, provider: 'gcp', domain: 'cost', templateName: 'scan',
  parameters: {}, userId: null, triggerType: 'api', admittedAt: '2026-12-04T00:00:00.000Z',
});
const atEnd: StepState[] = [{ id: 'scan', type: 'query', status: 'CANCELLED', attempt: 1, bytesProcessed: 0, bytesBilled: 0, estimatedCostUsd: 0 }];
const late: StepState[] = [{ ...atEnd[0]!, bytesBilled: 25 * 1024 * 1024, estimatedCostUsd: 0.000149 }];
const ended = { status: 'CANCELLED' as const, at: new Date('2026-12-04T00:00:02.000Z'), durationMs: 1000, errorMessage: 'Run cancelled', steps: atEnd };

describe('late step figures of an ended run', () => {
  let t: TestRedis;
  let store: RunStore;
  beforeEach(async () => {
    t = await createTestRedis();
    store = new RunStore(t.redis, t.keys, { terminalTtlSeconds: 600, recentPerTenant: 1000 });
  });
  afterEach(async () => t.cleanup());

  describe('RunStore.recordLateSteps', () => {
    it('writes the steps of a terminal record and keeps its expiry', async () => {
      await store.createPending(jobOf('r1'));
      await store.terminate(TENANT, 'r1', ended);
      const ttl = await t.redis.ttl(t.keys.run(TENANT, 'r1'));
      expect(await store.recordLateSteps(TENANT, 'r1', late)).to.equal(true);
      expect((await store.get(TENANT, 'r1'))?.steps).to.deep.equal(late);
      expect(await t.redis.ttl(t.keys.run(TENANT, 'r1'))).to.be.within(ttl - 1, ttl);
    });

    it('leaves a run that has not ended alone (its end would overwrite the figures)', async () => {
      await store.createPending(jobOf('r2'));
      expect(await store.recordLateSteps(TENANT, 'r2', late)).to.equal(false);
      expect((await store.get(TENANT, 'r2'))?.steps).to.deep.equal([]);
    });

    it('does not recreate a record that is gone', async () => {
      expect(await store.recordLateSteps(TENANT, 'gone', late)).to.equal(false);
      expect(await t.redis.exists(t.keys.run(TENANT, 'gone'))).to.equal(0);
    });
  });

  describe('RunFinaliser.finishExecuted with late figures', () => {
    const finaliserOf = (): RunFinaliser =>
      new RunFinaliser({
        runStore: store, clock: { now: () => new Date('2026-12-04T00:00:03.000Z') }, logger: silentLogger(), metrics: createMetrics(),
        recordTerminal: async () => undefined, release: async () => undefined, onRunFinished: async () => undefined,
      });
    const outcome = { status: 'CANCELLED' as const, errorMessage: 'Run cancelled', startTime: '2026-12-04T00:00:01.000Z', endTime: '2026-12-04T00:00:02.000Z', durationMs: 1000, steps: atEnd, stepsDone: 1, stepsTotal: 1 };

    it('writes them after the end, even when they were known before it', async () => {
      await store.createPending(jobOf('r3'));
      const finaliser = finaliserOf();
      expect(await finaliser.finishExecuted(jobOf('r3'), { ...outcome, late: Promise.resolve(late) })).to.equal(true);
      expect(await finaliser.drain(5_000)).to.equal(true);
      expect((await store.get(TENANT, 'r3'))?.steps).to.deep.equal(late);
    });

    it('keeps the steps of the end when the late figures added nothing', async () => {
      await store.createPending(jobOf('r4'));
      const finaliser = finaliserOf();
      await finaliser.finishExecuted(jobOf('r4'), { ...outcome, late: Promise.resolve(null) });
      await finaliser.drain(5_000);
      expect((await store.get(TENANT, 'r4'))?.steps).to.deep.equal(atEnd);
    });
  });
});
