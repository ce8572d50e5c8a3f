import { expect } from 'chai';
import { createTriggerRun } from '../../src/queues/trigger-run';
import type { AdmitOutcome, TriggerAdmission } from '../../src/queues/trigger-run';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import type { RunStore } from '../../src/queues/run-store';

/**
 * On a Redis Cluster ioredis (5.11) sends a command again when its node's connection closes before the reply came
 * (a killed master), even with autoResendUnfulfilledCommands off: a script behind a proxy that dropped its reply ran
 * twice for one call. An admission that had run on the old master and reached its replica then answers, on the new
 * master, "an identical run is in flight" — naming the run this very trigger is admitting. That run is this
 * trigger's: it must be queued and answered 202, not returned as another trigger's run in flight with no job behind
 * it (PENDING, its concurrency slot held until the never-queued cleanup fails it).
 */
describe('a trigger whose admission was sent twice (its first reply lost)', () => {
  function trigger(answer: (req: TriggerAdmission) => AdmitOutcome) {
    const enqueued: string[] = [];
    const run = createTriggerRun<object>({
      resolveTemplate: () => ({ template: {}, timeoutMs: 60_000 }),
      validateParameters: () => ({ date: '2024-01-01' }),
      admit: async (req) => answer(req),
      refund: async () => undefined,
      reloadProfile: async () => true,
      runStore: {
        pendingRecord: () => ({}),
        get: async (_tenantId: string, runId: string) => ({ pipelineId: 'acme-gcp-cost-x', status: 'PENDING', fingerprint: null, runId }),
        discard: async () => undefined,
      } as unknown as RunStore,
      enqueue: async (job: PipelineRunJob) => {
        enqueued.push(job.pipelineLoggingId);
      },
      clock: { now: () => new Date('2024-01-02T00:00:00Z') },
      leaseMarginMs: 0,
    });
    return { run: () => run({ tenantId: 'acme', provider: 'gcp', domain: 'cost', templateName: 'x', parameters: {}, userId: null, triggerType: 'api' }), enqueued };
  }

  it('queues the run and answers created when the run in flight is its own', async () => {
    const t = trigger((req) => ({ outcome: 'existing', runId: req.runId, reason: 'in_flight' }));
    const result = await t.run();
    expect([result.kind, t.enqueued]).to.deep.equal(['created', [result.pipelineLoggingId]]);
  });

  it('still returns another trigger’s run in flight without queueing anything', async () => {
    const t = trigger(() => ({ outcome: 'existing', runId: 'someone-elses-run', reason: 'in_flight' }));
    const result = await t.run();
    expect([result.kind, result.pipelineLoggingId, t.enqueued]).to.deep.equal(['existing', 'someone-elses-run', []]);
  });
});
