import { expect } from 'chai';
import { Worker } from 'bullmq';
import { createRedis, closeRedis, redisTargetOf } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { silentLogger } from '../../src/shared/logger';
import { Admission } from '../../src/tenants/admission';
import { PIPELINE_RUNS_QUEUE } from '../../src/queues/pipeline-runs';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { PipelineWorker } from '../../src/workers/pipeline-worker';
import { configsWith } from '../helpers/processes';
import { closeAll, eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 14.2, fair dispatch on the real Redis and BullMQ: runs are loaded while no worker serves the queue
 * (a saturated worker, frozen), then one worker of concurrency 1 serves them; the order it starts them in is
 * the dispatch order. The backlog each admission counts (admit.lua) is checked after every way a queued run
 * leaves it: started, cancelled, refunded, and started by a worker that died (its job re-delivered).
 */
const N_TEMPLATE = `description: A dryrun with a number, so that runs of one tenant are distinct
version: 1.0.0
timeout_minutes: 5
parameters:
  n:
    type: integer
    required: false
    default: 0
    description: Makes each run distinct
steps:
  - id: check_infrastructure
    type: dryrun
`;
const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

describe('fair dispatch across tenants (admit.lua priority, BullMQ prioritized jobs)', function () {
  this.timeout(60_000);
  let t: TestSystem;
  let configs: { dir: string; cleanup(): void };
  let subscriber: RedisClient;
  let admission: Admission;
  let worker: PipelineWorker | null = null;
  let failEnqueue = false;
  const keys: Record<string, string> = {};
  let n = 0;

  before(async () => {
    configs = configsWith({ 'gcp/cost/dryrun_n.yml': N_TEMPLATE });
    // No pipeline worker in the system: each test starts its own once the queue is loaded.
    t = await startTestSystem({
      role: 'api',
      env: { CONFIGS_DIR: configs.dir },
      runFaults: { beforeEnqueue: async () => {
        if (failEnqueue) throw new Error('Connection is closed.');
      } },
    });
    for (const tenant of ['fa_corp', 'fb_corp', 'fc_corp', 'fd_corp', 'fe_corp', 'ff_corp']) keys[tenant] = await onboard(t, tenant, 'SCALE');
    subscriber = createRedis(redisTargetOf(t.system.config.redis), { forBullMQ: true });
    admission = new Admission({ redis: t.system.clients.redis, keys: t.system.keys, clock: { now: () => new Date() } });
  });
  afterEach(async () => {
    await stopWorker();
    failEnqueue = false;
  });
  after(() => closeAll(() => worker?.close(2000), () => subscriber && closeRedis(subscriber), () => t?.close(), () => configs?.cleanup()));

  const trigger = async (tenantId: string): Promise<string> => {
    n += 1;
    const result = await t.system.runs.trigger({ tenantId, provider: 'gcp', domain: 'cost', templateName: 'dryrun_n', parameters: { n }, userId: null, triggerType: 'api' });
    expect(result.kind).to.equal('created');
    return result.pipelineLoggingId;
  };
  const triggerMany = async (tenantId: string, count: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) ids.push(await trigger(tenantId));
    return ids;
  };
  /** The one worker of the queue, concurrency 1: `served` gets each run id as the worker picks its job up. */
  const startWorker = async (served: string[], hold?: (job: PipelineRunJob) => Promise<void>): Promise<void> => {
    const { runs } = t.system;
    worker = new PipelineWorker({
      connection: t.system.clients.bull, subscriber, keys: t.system.keys, runStore: runs.runStore, logger: silentLogger(), clock: { now: () => new Date() },
      concurrency: 1, lockDurationMs: 2000, finaliser: runs.finaliser, execute: runs.execute,
      hooks: {
        beforeStart: async (job) => {
          served.push(job.pipelineLoggingId);
        },
        ...(hold ? { beforeFinish: (job: PipelineRunJob) => hold(job) } : {}),
      },
    });
    await worker.waitUntilReady();
  };
  const allEnded = (tenantId: string, ids: string[]) =>
    eventually(`${ids.length} runs of ${tenantId} to end`, async () => {
      const statuses = await Promise.all(ids.map(async (id) => (await t.system.runs.runStore.get(tenantId, id))?.status));
      return statuses.every((s) => s !== undefined && TERMINAL.has(s)) ? statuses : undefined;
    });
  const stopWorker = async (): Promise<void> => {
    await worker?.close(2000);
    worker = null;
  };
  const backlog = async (tenantId: string): Promise<Record<string, number>> => Object.fromEntries(await admission.dispatchBacklog(tenantId));

  describe('when three tenants load backlogs of 5, 3 and 1 runs, in that order, before the worker serves any', () => {
    it('serves them round-robin: every tenant’s k-th run before any tenant’s (k+1)-th, FIFO within a round', async () => {
      const a = await triggerMany('fa_corp', 5);
      const b = await triggerMany('fb_corp', 3);
      const c = await triggerMany('fc_corp', 1);
      expect(Object.values(await backlog('fa_corp'))).to.deep.equal([1, 2, 3, 4, 5]);
      const served: string[] = [];
      await startWorker(served);
      await allEnded('fa_corp', a);
      await allEnded('fb_corp', b);
      await allEnded('fc_corp', c);
      // FIFO would have been a1…a5, b1…b3, c1.
      expect(served).to.deep.equal([a[0], b[0], c[0], a[1], b[1], a[2], b[2], a[3], a[4]]);
      expect(await backlog('fa_corp')).to.deep.equal({});
      expect(await backlog('fb_corp')).to.deep.equal({});
    });
  });

  describe('when a tenant’s queued runs leave its backlog', () => {
    it('counts a run cancelled while queued out, and the next admission takes its place', async () => {
      const [first, second, third] = await triggerMany('fd_corp', 3);
      expect(await backlog('fd_corp')).to.deep.equal({ [first!]: 1, [second!]: 2, [third!]: 3 });

      const cancel = await t.request.delete(`/api/v1/pipelines/runs/${second!}`).set('X-API-Key', keys.fd_corp!);
      expect(cancel.status).to.equal(200);
      expect(cancel.body.status).to.equal('CANCELLED');
      expect(await backlog('fd_corp')).to.deep.equal({ [first!]: 1, [third!]: 3 });

      // Two runs queued: the next is third in line, and never ahead of the tenant's own earlier run (priority 3).
      const fourth = await trigger('fd_corp');
      expect(await backlog('fd_corp')).to.deep.equal({ [first!]: 1, [third!]: 3, [fourth]: 3 });
      await startWorker([]);
      await allEnded('fd_corp', [first!, third!, fourth]);
      expect(await backlog('fd_corp')).to.deep.equal({});
      // An empty backlog: the tenant's next run is first in line again.
      await stopWorker();
      const fifth = await trigger('fd_corp');
      expect(await backlog('fd_corp')).to.deep.equal({ [fifth]: 1 });
      await startWorker([]);
      await allEnded('fd_corp', [fifth]);
    });

    it('takes a run out as soon as a worker starts it, and does not count a refunded admission', async () => {
      const [first, second] = await triggerMany('fe_corp', 2);
      failEnqueue = true;
      let refused: unknown;
      await trigger('fe_corp').catch((err: unknown) => (refused = err));
      expect(refused).to.have.property('code', 'DEPENDENCY_UNAVAILABLE');
      failEnqueue = false;
      // The refunded run left the running set in the refund script: it is not in the backlog.
      expect(await backlog('fe_corp')).to.deep.equal({ [first!]: 1, [second!]: 2 });
      const third = await trigger('fe_corp');
      expect(await backlog('fe_corp')).to.deep.equal({ [first!]: 1, [second!]: 2, [third]: 3 });

      // Hold the worker inside the first run (started, not finished): it is out of the backlog already.
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      const served: string[] = [];
      await startWorker(served, async (job) => {
        if (job.pipelineLoggingId === first) await released;
      });
      await eventually('the first run to start', async () => ((await t.system.runs.runStore.get('fe_corp', first!))?.status === 'RUNNING' ? true : undefined));
      expect(await backlog('fe_corp')).to.deep.equal({ [second!]: 2, [third]: 3 });
      release();
      await allEnded('fe_corp', [first!, second!, third]);
      expect(served).to.deep.equal([first, second, third]);
      expect(await backlog('fe_corp')).to.deep.equal({});
    });

    it('takes out a run started by a worker that died, once, and its re-delivered job completes', async () => {
      const [first, second] = await triggerMany('ff_corp', 2);
      // A worker takes the first job and starts the run, then dies: no completion, no lock renewal.
      const doomedConnection = createRedis(redisTargetOf(t.system.config.redis), { forBullMQ: true });
      const doomed = new Worker<PipelineRunJob>(PIPELINE_RUNS_QUEUE, null, { connection: doomedConnection, prefix: t.system.keys.bullPrefix, lockDuration: 1000 });
      try {
        const job = await doomed.getNextJob('doomed-token');
        expect(job?.id).to.equal(first);
        expect((await t.system.runs.runStore.start('ff_corp', first!, new Date(), 'doomed')).outcome).to.equal('started');
      } finally {
        await doomed.close(true);
        await closeRedis(doomedConnection);
      }
      expect(await backlog('ff_corp')).to.deep.equal({ [second!]: 2 });

      // A live worker serves the waiting run and, once the dead worker's lock expired, the re-delivered one.
      const served: string[] = [];
      await startWorker(served);
      const statuses = await allEnded('ff_corp', [first!, second!]);
      expect(statuses).to.deep.equal(['COMPLETED', 'COMPLETED']);
      expect(served).to.include.members([first, second]);
      expect(await backlog('ff_corp')).to.deep.equal({});
      await stopWorker();
      const third = await trigger('ff_corp');
      expect(await backlog('ff_corp')).to.deep.equal({ [third]: 1 });
      await startWorker([]);
      await allEnded('ff_corp', [third]);
    });
  });
});
