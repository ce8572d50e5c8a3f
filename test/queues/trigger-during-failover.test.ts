import { expect } from 'chai';
import { createTriggerRun, retryInBackground } from '../../src/queues/trigger-run';
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
interface Fakes {
  admit?: (req: TriggerAdmission) => AdmitOutcome;
  enqueue?: () => Promise<void>;
  /** Answers of successive refunds: an Error is thrown. */
  refunds?: (Error | null)[];
}

function trigger(fakes: Fakes) {
  const enqueued: string[] = [];
  const refunded: string[] = [];
  const discarded: string[] = [];
  const later: (() => Promise<void>)[] = [];
  const refunds = [...(fakes.refunds ?? [])];
  const run = createTriggerRun<object>({
    resolveTemplate: () => ({ template: {}, timeoutMs: 60_000 }),
    validateParameters: () => ({ date: '2024-01-01' }),
    admit: async (req) => fakes.admit?.(req) ?? { outcome: 'admitted' },
    refund: async (req) => {
      const answer = refunds.shift();
      if (answer) throw answer;
      refunded.push(req.runId);
    },
    undoLater: (undo) => later.push(undo),
    reloadProfile: async () => true,
    runStore: {
      pendingRecord: () => ({}),
      get: async (_tenantId: string, runId: string) => ({ pipelineId: 'acme-gcp-cost-x', status: 'PENDING', fingerprint: null, runId }),
      discard: async (_tenantId: string, runId: string) => {
        discarded.push(runId);
      },
    } as unknown as RunStore,
    enqueue: async (job: PipelineRunJob) => {
      await fakes.enqueue?.();
      enqueued.push(job.pipelineLoggingId);
    },
    clock: { now: () => new Date('2024-01-02T00:00:00Z') },
    leaseMarginMs: 0,
  });
  const call = () => run({ tenantId: 'acme', provider: 'gcp', domain: 'cost', templateName: 'x', parameters: {}, userId: null, triggerType: 'api' });
  return { run: call, enqueued, refunded, discarded, later };
}

describe('a trigger whose admission was sent twice (its first reply lost)', () => {
  it('queues the run and answers created when the run in flight is its own', async () => {
    const t = trigger({ admit: (req) => ({ outcome: 'existing', runId: req.runId, reason: 'in_flight' }) });
    const result = await t.run();
    expect([result.kind, t.enqueued]).to.deep.equal(['created', [result.pipelineLoggingId]]);
  });

  it('still returns another trigger’s run in flight without queueing anything', async () => {
    const t = trigger({ admit: () => ({ outcome: 'existing', runId: 'someone-elses-run', reason: 'in_flight' }) });
    const result = await t.run();
    expect([result.kind, result.pipelineLoggingId, t.enqueued]).to.deep.equal(['existing', 'someone-elses-run', []]);
  });
});

/**
 * The run queue's master is killed after the admission: the enqueue fails, and so does the refund while the tenant's
 * master is the same one (or is failing over too). The trigger answers 503; the admission, already on the replica,
 * would stay counted with its concurrency slot held until the never-queued cleanup (5 to 20 minutes later) failed
 * the run — the quota unit lost for good. The refund (idempotent) is tried again in the background instead.
 */
describe('a trigger whose enqueue and refund both fail (a master failing over)', () => {
  const lost = new Error('Connection is closed.');

  it('answers the error and leaves the refund and discard of its run to a later try', async () => {
    const t = trigger({ enqueue: async () => Promise.reject(lost), refunds: [lost] });
    const answer = await t.run().then(() => null, (err: Error) => err.message);
    expect([answer, t.refunded, t.later.length]).to.deep.equal(['Connection is closed.', [], 1]);
    await t.later[0]!();
    expect([t.refunded.length, t.discarded]).to.deep.equal([1, t.refunded]);
  });

  it('leaves nothing for later when the refund went through', async () => {
    const t = trigger({ enqueue: async () => Promise.reject(lost) });
    const answer = await t.run().then(() => null, (err: Error) => err.message);
    expect([answer, t.refunded.length, t.discarded.length, t.later.length]).to.deep.equal(['The run queue is unavailable, retry shortly', 1, 1, 0]);
  });
});

describe('retryInBackground', () => {
  it('tries until the work succeeds', async () => {
    let tries = 0;
    let gaveUp = false;
    await retryInBackground(async () => {
      if ((tries += 1) < 3) throw new Error('still failing over');
    }, 1000, 5, () => (gaveUp = true));
    expect([tries, gaveUp]).to.deep.equal([3, false]);
  });

  it('gives up with the last error once the wait is over', async () => {
    let last = '';
    await retryInBackground(async () => Promise.reject(new Error('gone')), 30, 10, (err) => (last = err.message));
    expect(last).to.equal('gone');
  });
});
