import { expect } from 'chai';
import { RunStore } from '../../src/queues/run-store';
import { RunFinaliser } from '../../src/queues/run-finaliser';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { Admission } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { createMetrics } from '../../src/observability/metrics';
import { ManualClock, utcDay } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import { STARTER_PROFILE } from '../helpers/profiles';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/**
 * A run's end is two steps: the terminal mark (run-terminal.lua), then the slot's release (release.lua). Redis going
 * down between the two (seen once in `npm run chaos -- redis-restart`) left the run COMPLETED with its slot held; the
 * job then failed, and the `failed` handler's finalisation found the run ended and did nothing, so only the lease
 * (template timeout + ORPHAN_MARGIN_MINUTES) freed the slot. A finalisation that finds the run ended now releases
 * again (idempotent), counting the outcome once, under the status the run ended with.
 */
const TENANT = 'lost_release_corp';
const clock = new ManualClock('2026-12-04T10:00:00.000Z');
const job: PipelineRunJob = {
  pipelineLoggingId: 'run-lost-release', pipelineId: `${TENANT}-gcp-cost-dryrun`, tenantId: TENANT, provider: 'gcp', domain: 'cost', templateName: 'dryrun',
  parameters: {}, userId: null, triggerType: 'api', admittedAt: clock.now().toISOString(),
};
const completed = { status: 'COMPLETED' as const, startTime: '2026-12-04T10:00:00.000Z', endTime: '2026-12-04T10:00:01.000Z', durationMs: 1000, steps: [], stepsDone: 1, stepsTotal: 1 };

describe('a run whose slot release was lost after its terminal mark', () => {
  let t: TestRedis;
  let store: RunStore;
  let admission: Admission;
  let releases: string[];
  let failNextRelease: boolean;
  let finaliser: RunFinaliser;
  const running = () => t.redis.zcard(t.keys.running(TENANT));
  const counted = () => t.redis.hgetall(t.keys.dailyUsage(TENANT, utcDay(clock.now())));

  beforeEach(async () => {
    t = await createTestRedis();
    store = new RunStore(t.redis, t.keys, { terminalTtlSeconds: 600, recentPerTenant: 1000 });
    admission = new Admission({ redis: t.redis, keys: t.keys, clock });
    await writeProfileCache(t.redis, t.keys, TENANT, STARTER_PROFILE);
    releases = [];
    failNextRelease = false;
    finaliser = new RunFinaliser({
      runStore: store, clock, logger: silentLogger(), metrics: createMetrics(), recordTerminal: async () => undefined, onRunFinished: async () => undefined,
      release: async (j, status, fingerprint) => {
        releases.push(status);
        if (failNextRelease) {
          failNextRelease = false;
          throw new Error('Connection is closed.');
        }
        await admission.release(j.tenantId, j.pipelineLoggingId, status === 'PENDING' || status === 'RUNNING' ? 'FAILED' : status, fingerprint ?? undefined);
      },
    });
    expect((await admission.admit({ tenantId: TENANT, runId: job.pipelineLoggingId, leaseMs: 3_600_000 })).outcome).to.equal('admitted');
    await store.createPending(job);
  });
  afterEach(async () => t.cleanup());

  it('frees the slot when the failed job is finalised, counting the run once as it ended', async () => {
    failNextRelease = true;
    let thrown: unknown;
    await finaliser.finishExecuted(job, completed).catch((err: unknown) => (thrown = err));
    expect((thrown as Error | undefined)?.message).to.equal('Connection is closed.');
    expect((await store.get(TENANT, job.pipelineLoggingId))?.status).to.equal('COMPLETED');
    expect(await running(), 'held after the lost release').to.equal(1);

    // What the worker's `failed` handler does with the job that threw.
    expect(await finaliser.finishUnexecuted(job, 'FAILED', 'Connection is closed.')).to.equal(false);
    expect(await running()).to.equal(0);
    expect(releases).to.deep.equal(['COMPLETED', 'COMPLETED']);
    expect(await counted()).to.include({ succeeded: '1' }).and.not.have.property('failed');
    expect((await store.get(TENANT, job.pipelineLoggingId))?.status, 'the end stays as it was').to.equal('COMPLETED');
  });

  it('changes nothing when the first release went through', async () => {
    await finaliser.finishExecuted(job, completed);
    expect(await finaliser.finishUnexecuted(job, 'CANCELLED', 'too late')).to.equal(false);
    expect(await finaliser.finishExecuted(job, { ...completed, status: 'FAILED' })).to.equal(false);
    expect(await running()).to.equal(0);
    expect(await counted()).to.include({ succeeded: '1' }).and.not.have.any.keys('failed', 'cancelled');
  });
});
