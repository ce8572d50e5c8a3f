import { expect } from 'chai';
import { processDeferredQueue } from '../../src/scheduler/deferred-queue';
import type { DeferredDeps } from '../../src/scheduler/deferred-queue';
import { getSchedule } from '../../src/scheduler/schedule-store';
import { scheduledRunId, triggerDueSchedules } from '../../src/scheduler/tick';
import { addSchedule, createFixture, fireRows, openWarehouse } from './fixture';
import type { SchedulerFixture } from './fixture';
import type { TestWarehouse } from '../helpers/warehouse';
import { warehouseOutage } from '../helpers/warehouse-outage';

const FIRST_FIRE = '2025-11-15T07:00:00.000Z';

describe('execution queue (deferred runs)', () => {
  let wh: TestWarehouse;
  let f: SchedulerFixture;
  let deps: DeferredDeps;
  before(async () => {
    wh = await openWarehouse();
  });
  after(async () => wh.cleanup());
  beforeEach(async () => {
    f = await createFixture(wh, '2025-11-14T12:00:00Z');
    deps = { ...f.tick };
  });
  afterEach(async () => f.redis.cleanup());

  /** Fires `count` schedules of a tenant while it is at its concurrent limit, so they queue. */
  const queueFires = async (tenantId: string, count: number, alsoTenants: string[] = []): Promise<string[]> => {
    const configs = [];
    for (let i = 0; i < count; i += 1) configs.push(await addSchedule(f, tenantId));
    for (const other of alsoTenants) await addSchedule(f, other);
    for (const t of [tenantId, ...alsoTenants]) f.trigger.refuse.set(t, 'CONCURRENT_LIMIT_REACHED');
    f.clock.set('2025-11-15T07:00:10Z');
    await triggerDueSchedules(f.tick, f.clock.now());
    return configs.map((c) => c.config_id);
  };
  const queueState = async (runId: string): Promise<unknown> =>
    (await wh.warehouse.query('SELECT state FROM `customers.pipeline_execution_queue` WHERE queue_id = @id', { params: { id: runId } })).rows[0]?.state;

  describe('when a slot has freed', () => {
    it('starts waiting runs in enqueue order with their own run ids and removes them', async () => {
      const configIds = await queueFires('acme_corp', 3);
      f.trigger.refuse.delete('acme_corp');
      f.trigger.calls.length = 0;
      const summary = await processDeferredQueue(deps, f.clock.now());
      expect(summary).to.include({ waiting_before: 3, started: 3, still_waiting: 0 });
      const expected = configIds.map((id) => scheduledRunId(id, new Date(FIRST_FIRE)));
      expect(f.trigger.runIds().sort()).to.deep.equal([...expected].sort());
      expect(await f.redis.redis.zcard(f.redis.keys.deferredQueue())).to.equal(0);
      expect(await f.redis.redis.hlen(f.redis.keys.deferredEntries())).to.equal(0);
      expect(await queueState(expected[0] ?? '')).to.equal('STARTED');
      const rows = (await fireRows(wh)).filter((r) => configIds.includes(String(r.config_id)));
      expect(rows.map((r) => r.state)).to.deep.equal(['TRIGGERED', 'TRIGGERED', 'TRIGGERED']);
      expect((await getSchedule(f.store, 'acme_corp', configIds[0] ?? '')).last_run_status).to.equal('TRIGGERED');
    });

    it('processes one tenant only when asked to', async () => {
      await queueFires('acme_corp', 1, ['other_co']);
      f.trigger.refuse.clear();
      const summary = await processDeferredQueue(deps, f.clock.now(), { tenantId: 'other_co' });
      expect(summary).to.include({ waiting_before: 1, started: 1 });
      expect(f.trigger.calls.at(-1)?.tenantId).to.equal('other_co');
      expect(await f.redis.redis.zcard(f.redis.keys.tenantDeferred('acme_corp'))).to.equal(1);
    });
  });

  describe('when the warehouse fails (or passes its deadline) writing the rows of the runs it started', () => {
    it('keeps the entries, so the next pass finds the runs started (same ids, not started again) and writes their rows', async () => {
      const [configId] = await queueFires('acme_corp', 1);
      const runId = scheduledRunId(configId ?? '', new Date(FIRST_FIRE));
      f.trigger.refuse.delete('acme_corp');
      f.trigger.calls.length = 0;
      const outage = warehouseOutage(wh.warehouse);
      outage.down(['insertRows']);
      const failed = await processDeferredQueue({ ...deps, warehouse: outage.warehouse }, f.clock.now()).then(() => 'written', (err: Error) => err.message);
      expect(failed).to.equal('warehouse down');
      expect(await f.redis.redis.zrange(f.redis.keys.tenantDeferred('acme_corp'), 0, -1)).to.deep.equal([runId]);

      outage.up();
      expect(await processDeferredQueue({ ...deps, warehouse: outage.warehouse }, f.clock.now())).to.include({ started: 1, still_waiting: 0 });
      // Asked twice with the same run id: the trigger answers the second time with the run it started (`existing`).
      expect(f.trigger.runIds()).to.deep.equal([runId, runId]);
      expect(await queueState(runId)).to.equal('STARTED');
      expect((await fireRows(wh)).filter((r) => r.config_id === configId).map((r) => r.state)).to.deep.equal(['TRIGGERED']);
      expect(await f.redis.redis.zcard(f.redis.keys.deferredQueue())).to.equal(0);
    });
  });

  describe('when the tenant is still at its concurrent limit', () => {
    it('leaves every entry waiting and tries the tenant once', async () => {
      await queueFires('acme_corp', 3);
      f.trigger.calls.length = 0;
      const summary = await processDeferredQueue(deps, f.clock.now());
      expect(summary).to.include({ started: 0, still_waiting: 3 });
      expect(f.trigger.calls).to.have.length(1);
      expect(await f.redis.redis.zcard(f.redis.keys.deferredQueue())).to.equal(3);
    });
  });

  describe('when the daily quota is used up meanwhile', () => {
    it('drops the entries as SKIPPED_QUOTA', async () => {
      const [configId] = await queueFires('acme_corp', 1);
      f.trigger.refuse.set('acme_corp', 'DAILY_QUOTA_EXCEEDED');
      expect(await processDeferredQueue(deps, f.clock.now())).to.include({ skipped_quota: 1 });
      const runId = scheduledRunId(configId ?? '', new Date(FIRST_FIRE));
      expect(await queueState(runId)).to.equal('SKIPPED_QUOTA');
      expect((await fireRows(wh)).find((r) => r.config_id === configId)).to.include({ state: 'SKIPPED_QUOTA' });
      expect(await f.redis.redis.zcard(f.redis.keys.deferredQueue())).to.equal(0);
    });
  });

  describe('when an entry waits for the previous run of its config (overlap queue)', () => {
    it('starts it only once that run has finished', async () => {
      const config = await addSchedule(f, 'acme_corp', { overlap_policy: 'queue' });
      f.clock.set('2025-11-15T07:00:10Z');
      await triggerDueSchedules(f.tick, f.clock.now());
      const firstRun = scheduledRunId(config.config_id, new Date(FIRST_FIRE));
      f.trigger.statuses.set(firstRun, 'RUNNING');
      f.clock.set('2025-11-16T07:00:10Z');
      expect(await triggerDueSchedules(f.tick, f.clock.now())).to.include({ queued: 1 });

      expect(await processDeferredQueue(deps, f.clock.now())).to.include({ started: 0, still_waiting: 1 });
      f.trigger.statuses.set(firstRun, 'COMPLETED');
      expect(await processDeferredQueue(deps, f.clock.now())).to.include({ started: 1 });
      expect(f.trigger.runIds().at(-1)).to.equal(scheduledRunId(config.config_id, new Date('2025-11-16T07:00:00Z')));
    });
  });
});
