import { expect } from 'chai';
import { createRedis, closeRedis, redisTargetOf } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { silentLogger } from '../../src/shared/logger';
import { PipelineWorker } from '../../src/workers/pipeline-worker';
import type { ExecutionOutcome, PipelineWorkerHooks } from '../../src/workers/pipeline-worker';
import { configsWith } from '../helpers/processes';
import { closeAll, eventually } from '../helpers/polling';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 11.1 and 11.2: a cancel is never lost, whichever moment it lands in, and a run that does not
 * complete is a failed job. The worker is held at a hook while a DELETE lands, so each race is played
 * in a fixed order instead of hoped for.
 */
const FAILING = `description: A run whose only step fails
version: 1.0.0
timeout_minutes: 5
steps:
  - id: broken
    type: query
    sql: SELECT * FROM no_such_table_for_this_test
`;
const TENANT = 'race_corp';

/** A hook that parks the worker until the test opens it, and says when the worker got there. */
function gate(): { hook(): Promise<void>; reached: Promise<void>; open(): void } {
  let open!: () => void;
  let arrive!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  const reached = new Promise<void>((r) => (arrive = r));
  return {
    hook: async () => {
      arrive();
      await opened;
    },
    reached,
    open,
  };
}

describe('a run and a cancel racing each other', function () {
  this.timeout(60_000);
  let t: TestSystem;
  let key: string;
  let configs: { dir: string; cleanup(): void };
  let subscriber: RedisClient;
  let worker: PipelineWorker;
  let executions: string[];
  let hooks: PipelineWorkerHooks;

  before(async () => {
    configs = configsWith({ 'gcp/test/broken.yml': FAILING });
    // No worker in the system: this suite's own worker, with hooks, is the only one.
    t = await startTestSystem({ role: 'api', env: { CONFIGS_DIR: configs.dir } });
    key = await onboard(t, TENANT, 'SCALE');
    subscriber = createRedis(redisTargetOf(t.system.config.redis), { forBullMQ: true });
    executions = [];
    hooks = {};
    const { runs } = t.system;
    worker = new PipelineWorker({
      connection: t.system.clients.bull, subscriber, keys: t.system.keys, runStore: runs.runStore, logger: silentLogger(), clock: { now: () => new Date() },
      concurrency: 2, lockDurationMs: 5000, finaliser: runs.finaliser,
      execute: (job, options) => {
        executions.push(job.pipelineLoggingId);
        return runs.execute(job, options);
      },
      hooks: {
        beforeStart: (job) => hooks.beforeStart?.(job) ?? Promise.resolve(),
        beforeFinish: (job, outcome) => hooks.beforeFinish?.(job, outcome) ?? Promise.resolve(),
      },
    });
    await worker.waitUntilReady();
  });
  afterEach(() => {
    hooks = {};
  });
  after(() => closeAll(() => worker?.close(), () => subscriber && closeRedis(subscriber), () => t?.close(), () => configs?.cleanup()));

  const trigger = async (template = 'gcp/cost/dryrun'): Promise<string> => {
    const res = await t.request.post(`/api/v1/pipelines/run/${TENANT}/${template}`).set('X-API-Key', key).send({});
    expect(res.status).to.equal(202);
    return res.body.pipeline_logging_id as string;
  };
  const cancelFlagSet = (id: string) => eventually('the cancel flag', async () => ((await t.system.runs.runStore.get(TENANT, id))?.cancelRequested ? true : undefined));
  const jobOf = async (id: string) => {
    const job = await t.system.runs.queue.getJob(id);
    if (!job) throw new Error(`job ${id} is gone`);
    return { state: await job.getState(), failedReason: job.failedReason, attemptsMade: job.attemptsMade };
  };
  const runningSlots = async (): Promise<number> =>
    (await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key)).body.concurrent_pipelines_running as number;

  describe('when the DELETE lands after the worker took the job but before it started the run', () => {
    it('ends the run CANCELLED without executing a step, as a failed job', async () => {
      const held = gate();
      hooks.beforeStart = held.hook;
      const id = await trigger();
      await held.reached;
      const cancel = t.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key).then((res) => res);
      await cancelFlagSet(id);
      held.open();

      const res = await cancel;
      expect(res.status).to.equal(200);
      expect(res.body.status).to.equal('CANCELLED');
      const run = await waitForRun(t, key, id);
      expect(run.status).to.equal('CANCELLED');
      expect(run.steps).to.deep.equal([]);
      expect(executions).not.to.include(id);
      expect(await eventually('the job to fail', async () => ((await jobOf(id)).state === 'failed' ? jobOf(id) : undefined))).to.deep.equal({
        state: 'failed', failedReason: 'Cancelled by user', attemptsMade: 1,
      });
      expect(await runningSlots()).to.equal(0);
    });
  });

  describe('when the DELETE lands after the run executed but before it was marked finished', () => {
    it('answers 409 RUN_ALREADY_FINISHED with the final status, and the run stays COMPLETED', async () => {
      const held = gate();
      let executed: ExecutionOutcome | undefined;
      hooks.beforeFinish = async (_job, outcome) => {
        executed = outcome;
        await held.hook();
      };
      const id = await trigger();
      await held.reached;
      const cancel = t.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key).then((res) => res);
      await cancelFlagSet(id);
      held.open();

      const res = await cancel;
      expect(res.status).to.equal(409);
      expect(res.body).to.include({ code: 'RUN_ALREADY_FINISHED', status: 'COMPLETED' });
      expect(executed?.status).to.equal('COMPLETED');
      expect((await waitForRun(t, key, id)).status).to.equal('COMPLETED');
      expect((await eventually('the job to complete', async () => ((await jobOf(id)).state === 'completed' ? jobOf(id) : undefined))).attemptsMade).to.equal(1);
      expect(await runningSlots()).to.equal(0);
    });
  });

  describe('when the run fails', () => {
    it('fails its job with the run’s error as the reason, once, without a second execution', async () => {
      const id = await trigger('gcp/test/broken');
      const run = await waitForRun(t, key, id);
      expect(run.status).to.equal('FAILED');
      const job = await eventually('the job to fail', async () => ((await jobOf(id)).state === 'failed' ? jobOf(id) : undefined));
      expect(job.attemptsMade).to.equal(1);
      expect(job.failedReason).to.equal(run.error_message);
      expect(job.failedReason).to.include('no_such_table_for_this_test');
      expect(executions.filter((e) => e === id)).to.have.length(1);
      // One terminal row: the failed handler did not finalise it a second time.
      await t.system.logWriter.flush();
      const rows = await t.warehouse.query(`SELECT status FROM \`${TENANT}.x_meta_pipeline_runs\` WHERE pipeline_logging_id = @id`, { params: { id } });
      expect(rows.rows.map((r) => r.status)).to.deep.equal(['FAILED']);
      expect(await runningSlots()).to.equal(0);
    });
  });
});
