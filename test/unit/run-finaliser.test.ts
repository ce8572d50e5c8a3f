import { expect } from 'chai';
import { RunFinaliser } from '../../src/queues/run-finaliser';
import type { RunFinaliserDeps } from '../../src/queues/run-finaliser';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import type { RunStore } from '../../src/queues/run-store';
import { createMetrics } from '../../src/observability/metrics';
import { silentLogger } from '../../src/shared/logger';

const job: PipelineRunJob = {
  pipelineLoggingId: 'run-1', pipelineId: 'p', tenantId: 'acme', provider: 'gcp', domain: 'cost', templateName: 'daily',
  parameters: {}, userId: null, triggerType: 'api', admittedAt: '2026-12-04T00:00:00.000Z',
};

/** A finaliser whose webhook announcement waits until the test lets it go. */
function finaliserWithHeldAnnouncement(fresh: boolean) {
  const events: string[] = [];
  let letGo: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (letGo = resolve));
  const runStore = { terminate: async () => ({ fresh, fingerprint: null }) } as unknown as RunStore;
  const deps: RunFinaliserDeps = {
    runStore,
    clock: { now: () => new Date('2026-12-04T00:00:01.000Z') },
    logger: silentLogger(),
    metrics: createMetrics(),
    recordTerminal: async () => undefined,
    release: async () => void events.push('released'),
    onRunFinished: async () => void events.push('hook'),
    notifyRunFinished: async () => {
      events.push('announcing');
      await held;
      events.push('announced');
    },
  };
  return { finaliser: new RunFinaliser(deps), events, letGo };
}

describe('RunFinaliser (the end of a run, and what follows it)', () => {
  it('ends the run without waiting for its webhook announcement; drain waits for it', async () => {
    const { finaliser, events, letGo } = finaliserWithHeldAnnouncement(true);
    const ended = await finaliser.finishExecuted(job, {
      status: 'COMPLETED', startTime: '2026-12-04T00:00:00.500Z', endTime: '2026-12-04T00:00:01.000Z', durationMs: 500,
      steps: [], stepsDone: 1, stepsTotal: 1,
    });
    expect(ended).to.equal(true);
    expect(events).to.deep.equal(['announcing', 'released', 'hook']);
    let drained = false;
    const draining = finaliser.drain().then(() => (drained = true));
    await new Promise((r) => setImmediate(r));
    expect(drained, 'drain returns only once the announcement is out').to.equal(false);
    letGo();
    await draining;
    expect(events).to.deep.equal(['announcing', 'released', 'hook', 'announced']);
  });

  it('announces nothing for a run someone else already ended', async () => {
    const { finaliser, events } = finaliserWithHeldAnnouncement(false);
    expect(await finaliser.finishUnexecuted(job, 'CANCELLED', 'cancelled')).to.equal(false);
    await finaliser.drain();
    expect(events).to.deep.equal([]);
  });
});
