import { expect } from 'chai';
import { closeRedis, createRedis, redisTargetOf } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { ManualClock } from '../../src/shared/clock';
import { newRunId } from '../../src/shared/ids';
import { createMaintenanceQueue } from '../../src/queues/maintenance';
import type { MaintenanceQueue } from '../../src/queues/maintenance';
import { scheduledRunId } from '../../src/scheduler/tick';
import { deleteProfileCache } from '../../src/tenants/profile-cache';
import { CENTRAL_DATASET, CUSTOMERS_DATASET, eventsTableName, pipelineRuns, scheduledPipelineRuns, tenantUsageQuotas } from '../../src/warehouse/tables';
import { createMaintenanceWorker } from '../../src/workers/maintenance-worker';
import type { MaintenanceWorker } from '../../src/workers/maintenance-worker';
import { interceptBigQuery } from '../helpers/fake-bigquery/faults';
import type { BqFaults, BqRequest } from '../helpers/fake-bigquery/faults';
import { closeAll, eventually } from '../helpers/polling';
import { configsWith } from '../helpers/processes';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * Warehouse calls made outside any API request — the scheduler tick, maintenance jobs, the run log writer — on
 * BigQuery (the official client and the REST path against the fake server) whose warehouse stops answering: an
 * insertAll that never answers, or query jobs that stay RUNNING. Each is given up on at PLATFORM_WAREHOUSE_TIMEOUT_MS
 * (1.5 s here), the loop goes on, and the work is done once the warehouse answers again: nothing lost, nothing twice.
 * Pipeline steps keep their own timeouts: a step's job outlives the platform deadline and completes.
 *
 * 1.5 s, not less: the system's own boot and the calls that must succeed (the fake server analyses each statement)
 * take a few hundred ms on a busy machine, and they have the same deadline.
 */
const TENANT = 'deadline_corp';
const DEADLINE_MS = '1500';
/** How long a test waits for an answer the platform deadline must bring (twice for a flush): never reached when it works. */
const NO_ANSWER_AFTER_MS = 12_000;

type Settled<T> = { value: T } | { error: string } | 'no answer';

/** How `work` settled within `ms`, or 'no answer' — what a loop stuck on the warehouse looks like. */
async function settleWithin<T>(work: Promise<T>, ms = NO_ANSWER_AFTER_MS): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), ms)));
  try {
    return await Promise.race([work.then((value) => ({ value }), (err: Error) => ({ error: err.message })), late]);
  } finally {
    clearTimeout(timer);
  }
}

const insertAllInto = (dataset: string, table: string) => (r: BqRequest): boolean =>
  r.method === 'POST' && r.path.endsWith(`/datasets/${dataset}/tables/${table}/insertAll`);

describe('platform warehouse calls outside requests get PLATFORM_WAREHOUSE_TIMEOUT_MS (BigQuery that stops answering)', function () {
  this.timeout(60_000);
  const clock = new ManualClock('2026-01-05T10:02:00Z');
  let bq: TestBigQuery;
  let faults: BqFaults;
  let t: TestSystem;
  let key: string;

  before(async () => {
    bq = await createTestBigQuery();
    faults = interceptBigQuery(bq.server);
    t = await startTestSystem({ role: 'api', warehouse: bq.warehouse, clock, env: { PLATFORM_WAREHOUSE_TIMEOUT_MS: DEADLINE_MS } });
    key = await onboard(t, TENANT, 'SCALE');
  });
  afterEach(() => {
    faults.clear();
    bq.server.setJobLatency(0);
  });
  // The fake server first: it ends requests still hanging, so whatever waits on them settles.
  after(() => closeAll(() => bq?.cleanup(), () => t?.close()));

  const createSchedule = async (cron: string): Promise<string> => {
    const res = await t.request
      .post(`/api/v1/scheduler/customer/${TENANT}/pipelines`)
      .set('X-API-Key', key)
      .send({ provider: 'GCP', domain: 'COST', pipeline_template: 'billing_cost', schedule_cron: cron, timezone: 'UTC', is_active: true, parameters: { date: '2025-12-01' } });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return (res.body as { config_id: string }).config_id;
  };
  const fireRowsOf = async (configId: string): Promise<Record<string, unknown>[]> =>
    (await bq.warehouse.query(`SELECT * FROM \`${CUSTOMERS_DATASET}.${scheduledPipelineRuns.name}\` WHERE config_id = @id`, { params: { id: configId } })).rows;
  const runsToday = async (): Promise<number> =>
    ((await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key)).body as { pipelines_run_today: number }).pipelines_run_today;

  describe('the scheduler tick, when the insert of its fire rows never answers', () => {
    it('ends with an error instead of hanging; a later tick settles the fire once (its lease ran out), with one run', async () => {
      const configId = await createSchedule('5 10 * * *');
      const runId = scheduledRunId(configId, Date.parse('2026-01-05T10:05:00Z'));
      faults.add({ when: insertAllInto(CUSTOMERS_DATASET, eventsTableName(scheduledPipelineRuns)), fault: 'hang' });
      clock.set('2026-01-05T10:05:07Z');
      const stuck = await settleWithin(t.system.scheduler.routines.tick(clock.now()));
      expect(stuck).to.have.property('error').that.contains('PLATFORM_WAREHOUSE_TIMEOUT_MS');

      faults.clear();
      clock.set('2026-01-05T10:16:00Z');
      const later = await t.system.scheduler.routines.tick(clock.now());
      expect(later).to.include({ due: 1, triggered: 1 });
      const rows = await fireRowsOf(configId);
      expect(rows.map((r) => ({ state: r.state, run: r.pipeline_logging_id }))).to.deep.equal([{ state: 'TRIGGERED', run: runId }]);
      expect(await runsToday()).to.equal(1);
    });
  });

  describe("a fire whose trigger reloads the tenant's profile while query jobs stay RUNNING (queued behind the project's slots)", () => {
    it('cancels the jobs at the deadline and queues the fire; the execution queue starts it once the warehouse answers', async () => {
      const configId = await createSchedule('20 10 * * *');
      const runId = scheduledRunId(configId, Date.parse('2026-01-05T10:20:00Z'));
      const before = await runsToday();
      // Redis lost the profile: admission asks the trigger to read it from the warehouse again.
      await deleteProfileCache(t.system.clients.redis, t.system.keys, TENANT);
      bq.server.setJobLatency(60 * 60_000);
      const cancels = (): number => bq.server.requests.filter((q) => q.kind === 'cancels').length;
      const cancelsBefore = cancels();
      clock.set('2026-01-05T10:20:05Z');
      const tick = await settleWithin(t.system.scheduler.routines.tick(clock.now()));
      expect(tick).to.have.property('value').that.includes({ due: 1, queued: 1, failed: 0 });
      await eventually('the cancel of the profile reads', async () => (cancels() > cancelsBefore ? true : undefined));

      bq.server.setJobLatency(0);
      const queue = await t.system.scheduler.routines.processQueue(clock.now());
      expect(queue).to.include({ started: 1, still_waiting: 0 });
      const rows = await fireRowsOf(configId);
      expect(rows.map((r) => ({ state: r.state, run: r.pipeline_logging_id }))).to.deep.equal([{ state: 'TRIGGERED', run: runId }]);
      expect(await runsToday()).to.equal(before + 1);
    });
  });

  describe('a maintenance job (usage refresh) whose insert never answers', () => {
    let connection: RedisClient;
    let queue: MaintenanceQueue;
    let worker: MaintenanceWorker;
    before(() => {
      connection = createRedis(redisTargetOf(t.system.config.redis), { forBullMQ: true });
      queue = createMaintenanceQueue(connection, t.system.keys);
      // The scheduler role's maintenance worker, on this system's routines.
      worker = createMaintenanceWorker({ connection, keys: t.system.keys, routines: t.system.scheduler.routines, clock });
    });
    after(() => closeAll(() => worker?.worker.close(true), () => queue?.close(), () => connection && closeRedis(connection)));

    const outcomeOf = async (jobId: string): Promise<{ state: string; reason?: string; value?: unknown }> =>
      eventually(`maintenance job ${jobId} to end`, async () => {
        const state = await queue.getJobState(jobId);
        if (state !== 'failed' && state !== 'completed') return undefined;
        // Read after its state: a job read before it ended carries no reason or value yet.
        const job = await queue.getJob(jobId);
        return state === 'failed' ? { state, reason: job?.failedReason } : { state, value: job?.returnvalue };
      }, NO_ANSWER_AFTER_MS);

    it('fails (the worker goes on) and keeps the tenant for the next refresh, which writes its row', async () => {
      const { redis } = t.system.clients;
      const { keys } = t.system;
      await redis.sadd(keys.usageDirty(), TENANT);
      faults.add({ when: insertAllInto(CENTRAL_DATASET, eventsTableName(tenantUsageQuotas)), fault: 'hang' });
      const stuck = await queue.add('usage-refresh', {});
      const failed = await outcomeOf(stuck.id as string);
      expect(failed.state).to.equal('failed');
      expect(failed.reason).to.contain('PLATFORM_WAREHOUSE_TIMEOUT_MS');
      expect(await redis.sismember(keys.usageDirty(), TENANT), 'the tenant waits for the next refresh').to.equal(1);

      faults.clear();
      const next = await queue.add('usage-refresh', {});
      const done = await outcomeOf(next.id as string);
      expect(done.state).to.equal('completed');
      const { rows } = await bq.warehouse.query(`SELECT tenant_id FROM \`${CENTRAL_DATASET}.${tenantUsageQuotas.name}\` WHERE tenant_id = @id`, { params: { id: TENANT } });
      expect(rows).to.have.length(1);
    });
  });

  describe('the run log writer, when the insert of a batch never answers', () => {
    it('fails the flush and keeps the rows; they are written once the warehouse answers', async () => {
      const runId = newRunId();
      faults.add({ when: insertAllInto(TENANT, eventsTableName(pipelineRuns)), fault: 'hang' });
      t.system.logWriter.writeRun(TENANT, {
        pipeline_logging_id: runId, pipeline_id: `${TENANT}-gcp-cost-billing_cost`, tenant_id: TENANT, user_id: null, trigger_type: 'api', status: 'COMPLETED',
        start_time: clock.now().toISOString(), end_time: clock.now().toISOString(), duration_ms: 0, parameters: {}, error_message: null, worker_instance: 'w',
        steps_total: 0, steps_done: 0, created_at: clock.now().toISOString(), bytes_processed: null, bytes_billed: null, estimated_cost_usd: null,
      }, 1);
      const stuck = await settleWithin(t.system.logWriter.flush());
      expect(stuck).to.have.property('error').that.contains('run log flush failed');
      expect(t.system.logWriter.pendingCount(), 'the row is kept for the retry').to.equal(1);

      faults.clear();
      await eventually('the row written', async () => (t.system.logWriter.pendingCount() === 0 ? true : undefined));
      const { rows } = await bq.warehouse.query(`SELECT status FROM \`${TENANT}.${pipelineRuns.name}\` WHERE pipeline_logging_id = @id`, { params: { id: runId } });
      expect(rows).to.deep.equal([{ status: 'COMPLETED' }]);
    });
  });
});

describe('pipeline steps keep their own timeouts, not PLATFORM_WAREHOUSE_TIMEOUT_MS', function () {
  this.timeout(60_000);
  let bq: TestBigQuery;
  let t: TestSystem;
  let configs: { dir: string; cleanup(): void };

  before(async () => {
    configs = configsWith({ 'gcp/test/slow_read.yml': 'description: One query\nversion: 1.0.0\ntimeout_minutes: 1\nsteps:\n  - id: read\n    type: query\n    sql: SELECT 1 AS one\n' });
    bq = await createTestBigQuery();
    t = await startTestSystem({ role: 'all', warehouse: bq.warehouse, env: { PLATFORM_WAREHOUSE_TIMEOUT_MS: DEADLINE_MS, CONFIGS_DIR: configs.dir } });
  });
  after(() => closeAll(() => t?.close(), () => bq?.cleanup(), () => configs?.cleanup()));

  it("completes a run whose query job runs longer than the platform's deadline", async () => {
    const key = await onboard(t, 'steps_corp', 'SCALE');
    // The step's job only: the platform's own reads at the run's start (the tenant's settings) keep their deadline.
    bq.server.setJobLatency(4000, (sql) => sql.includes('SELECT 1 AS one'));
    try {
      const res = await t.request.post('/api/v1/pipelines/run/steps_corp/gcp/test/slow_read').set('X-API-Key', key).send({});
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      const run = await waitForRun(t, key, (res.body as { pipeline_logging_id: string }).pipeline_logging_id, 30_000);
      expect({ status: run.status, error: run.error_message ?? null }).to.deep.equal({ status: 'COMPLETED', error: null });
    } finally {
      bq.server.setJobLatency(0);
    }
  });
});
