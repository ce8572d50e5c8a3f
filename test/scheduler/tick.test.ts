import { expect } from 'chai';
import { UUID_PATTERN } from '../../src/shared/ids';
import { encodeConfig } from '../../src/scheduler/config-hash';
import { dueMember } from '../../src/scheduler/due-index';
import type { ScheduleConfig } from '../../src/scheduler/types';
import type { Warehouse } from '../../src/warehouse/types';
import { getSchedule } from '../../src/scheduler/schedule-store';
import { scheduledRunId, triggerDueSchedules } from '../../src/scheduler/tick';
import type { TickSummary } from '../../src/scheduler/tick';
import { addSchedule, createFixture, fireRows, openWarehouse, storedConfig } from './fixture';
import type { SchedulerFixture } from './fixture';
import type { TestWarehouse } from '../helpers/warehouse';

// Created 2025-11-14 12:00Z; "0 2 * * *" America/New_York first fires 2025-11-15 02:00 EST = 07:00Z.
const CREATED = '2025-11-14T12:00:00Z';
const FIRST_FIRE = '2025-11-15T07:00:00.000Z';
const SECOND_FIRE = '2025-11-16T07:00:00.000Z';

/** A config written straight to Redis, for volume tests (the store would also write the warehouse). */
const bulkConfig = (configId: string, tenantId: string): ScheduleConfig => storedConfig(configId, tenantId, { created_at: CREATED, updated_at: CREATED });

describe('scheduler tick', () => {
  let wh: TestWarehouse;
  let f: SchedulerFixture;
  before(async () => {
    wh = await openWarehouse();
  });
  after(async () => wh.cleanup());
  beforeEach(async () => {
    f = await createFixture(wh, CREATED);
  });
  afterEach(async () => f.redis.cleanup());

  const tickAt = (at: string): Promise<TickSummary> => {
    f.clock.set(at);
    return triggerDueSchedules(f.tick, f.clock.now());
  };
  const rowsOf = async (configId: string): Promise<Record<string, unknown>[]> => (await fireRows(wh)).filter((r) => r.config_id === configId);

  describe('scheduledRunId', () => {
    it('is a UUID v4 derived from config and fire time only', () => {
      const id = scheduledRunId('cfg-1', new Date(FIRST_FIRE));
      expect(id).to.match(UUID_PATTERN);
      expect(scheduledRunId('cfg-1', Date.parse(FIRST_FIRE))).to.equal(id);
      expect(scheduledRunId('cfg-1', new Date(SECOND_FIRE))).not.to.equal(id);
      expect(scheduledRunId('cfg-2', new Date(FIRST_FIRE))).not.to.equal(id);
    });
  });

  describe('when nothing is due', () => {
    it('triggers nothing', async () => {
      await addSchedule(f, 'acme_corp');
      expect(await tickAt('2025-11-15T06:59:59Z')).to.deep.equal({ due: 0, triggered: 0, skipped: 0, queued: 0, skipped_quota: 0, misfired: 0, failed: 0 });
      expect(f.trigger.calls).to.deep.equal([]);
    });
  });

  describe('when 10 ticks run at once, and one more after them, for the same minute', () => {
    it('triggers every due schedule exactly once, with its deterministic run id', async () => {
      const configs = await Promise.all(Array.from({ length: 25 }, (_, i) => addSchedule(f, i % 2 ? 'acme_corp' : 'other_co')));
      f.clock.set('2025-11-15T07:00:20Z');
      const connections = Array.from({ length: 10 }, () => f.redis.redis.duplicate());
      try {
        const summaries = await Promise.all(connections.map((redis) => triggerDueSchedules({ ...f.tick, redis }, f.clock.now())));
        summaries.push(await triggerDueSchedules(f.tick, f.clock.now()));
        expect(summaries.reduce((n, s) => n + s.triggered, 0)).to.equal(25);
        expect(summaries.reduce((n, s) => n + s.due, 0)).to.equal(25);
      } finally {
        await Promise.all(connections.map((c) => c.quit()));
      }
      const expected = configs.map((c) => scheduledRunId(c.config_id, new Date(FIRST_FIRE))).sort();
      expect(f.trigger.runIds().sort()).to.deep.equal(expected);
      const call = f.trigger.calls[0];
      expect(call).to.include({ triggerType: 'scheduler', userId: null, scheduledTime: FIRST_FIRE, provider: 'gcp', templateName: 'billing_cost' });
      const rows = (await fireRows(wh)).filter((r) => configs.some((c) => c.config_id === r.config_id));
      expect(rows).to.have.length(25);
      expect(rows.every((r) => r.state === 'TRIGGERED')).to.equal(true);
    });

    it('advances each schedule to its next fire and records the last run on the config', async () => {
      const config = await addSchedule(f, 'acme_corp');
      await tickAt('2025-11-15T07:00:20Z');
      const view = await getSchedule(f.store, 'acme_corp', config.config_id);
      expect(view).to.include({ next_run_time: SECOND_FIRE, last_run_time: FIRST_FIRE, last_run_status: 'TRIGGERED' });
      expect(await f.redis.redis.zcard(f.redis.keys.scheduleInflight())).to.equal(0);
    });
  });

  describe('when a tick died after claiming a fire', () => {
    it('a later tick takes the fire over once its lease expired, with the same run id', async () => {
      const config = await addSchedule(f, 'acme_corp');
      const { keys, redis } = f.redis;
      // What a dead tick leaves: the score advanced, the fire leased and never settled.
      const member = dueMember({ tenantId: 'acme_corp', configId: config.config_id });
      await redis.zadd(keys.scheduleDue(), Date.parse(SECOND_FIRE), member);
      await redis.zadd(keys.scheduleInflight(), Date.parse('2025-11-15T07:10:00Z'), `${member}|${Date.parse(FIRST_FIRE)}`);
      expect((await tickAt('2025-11-15T07:05:00Z')).due).to.equal(0);
      const summary = await tickAt('2025-11-15T07:10:01Z');
      expect(summary).to.include({ due: 1, triggered: 1 });
      expect(f.trigger.runIds()).to.deep.equal([scheduledRunId(config.config_id, new Date(FIRST_FIRE))]);
      expect((await tickAt('2025-11-15T07:30:00Z')).due).to.equal(0);
    });
  });

  describe('overlap policies, while the previous run is still RUNNING', () => {
    const secondFireWhileRunning = async (policy: string): Promise<{ configId: string; summary: TickSummary }> => {
      const config = await addSchedule(f, 'acme_corp', { overlap_policy: policy });
      await tickAt('2025-11-15T07:00:10Z');
      f.trigger.statuses.set(scheduledRunId(config.config_id, new Date(FIRST_FIRE)), 'RUNNING');
      return { configId: config.config_id, summary: await tickAt('2025-11-16T07:00:10Z') };
    };

    it('skip records the fire SKIPPED and starts nothing', async () => {
      const { configId, summary } = await secondFireWhileRunning('skip');
      expect(summary).to.include({ due: 1, skipped: 1, triggered: 0 });
      expect(f.trigger.calls).to.have.length(1);
      const row = (await rowsOf(configId)).find((r) => r.scheduled_time === SECOND_FIRE);
      expect(row).to.include({ state: 'SKIPPED' });
      expect(String(row?.reason)).to.match(/RUNNING/);
    });

    it('queue puts the fire in the execution queue, waiting for the previous run', async () => {
      const { configId, summary } = await secondFireWhileRunning('queue');
      expect(summary).to.include({ queued: 1, triggered: 0 });
      const runId = scheduledRunId(configId, new Date(SECOND_FIRE));
      const entry = JSON.parse((await f.redis.redis.hget(f.redis.keys.deferredEntries(), runId)) ?? '{}') as Record<string, unknown>;
      expect(entry).to.include({ config_id: configId, after_run_id: scheduledRunId(configId, new Date(FIRST_FIRE)) });
      const { rows } = await wh.warehouse.query('SELECT state FROM `customers.pipeline_execution_queue` WHERE queue_id = @id', { params: { id: runId } });
      expect(rows).to.deep.equal([{ state: 'QUEUED' }]);
    });

    it('allow starts the fire anyway', async () => {
      const { summary } = await secondFireWhileRunning('allow');
      expect(summary).to.include({ triggered: 1 });
      expect(f.trigger.calls).to.have.length(2);
    });

    it('a finished previous run does not block the next fire', async () => {
      const config = await addSchedule(f, 'acme_corp');
      await tickAt('2025-11-15T07:00:10Z');
      f.trigger.statuses.set(scheduledRunId(config.config_id, new Date(FIRST_FIRE)), 'COMPLETED');
      expect(await tickAt('2025-11-16T07:00:10Z')).to.include({ triggered: 1 });
    });
  });

  describe('after downtime (fires missed by more than the grace)', () => {
    it('misfire_policy skip records MISFIRED, starts nothing and moves past now', async () => {
      const config = await addSchedule(f, 'acme_corp', { misfire_policy: 'skip' });
      const summary = await tickAt('2025-11-17T10:00:00Z');
      expect(summary).to.include({ due: 1, misfired: 1, triggered: 0 });
      expect(f.trigger.calls).to.deep.equal([]);
      expect((await getSchedule(f.store, 'acme_corp', config.config_id)).next_run_time).to.equal('2025-11-18T07:00:00.000Z');
      expect((await rowsOf(config.config_id)).map((r) => r.state)).to.deep.equal(['MISFIRED']);
    });

    it('misfire_policy run_once starts one catch-up run, never one per missed fire', async () => {
      const config = await addSchedule(f, 'acme_corp', { schedule_cron: '0 * * * *', timezone: 'UTC' });
      const first = await tickAt('2025-11-14T17:10:00Z'); // five hourly fires missed
      expect(first).to.include({ due: 1, triggered: 1 });
      expect(await tickAt('2025-11-14T17:10:30Z')).to.include({ due: 0 });
      expect(f.trigger.calls).to.have.length(1);
      expect(f.trigger.calls[0]?.scheduledTime).to.equal('2025-11-14T13:00:00.000Z');
      expect((await getSchedule(f.store, 'acme_corp', config.config_id)).next_run_time).to.equal('2025-11-14T18:00:00.000Z');
      const row = (await rowsOf(config.config_id))[0];
      expect(String(row?.reason)).to.match(/catch-up/);
    });

    it('a fire handled within the grace is on time', async () => {
      await addSchedule(f, 'acme_corp', { misfire_policy: 'skip' });
      expect(await tickAt('2025-11-15T07:01:30Z')).to.include({ triggered: 1, misfired: 0 });
    });
  });

  describe('when the trigger refuses', () => {
    it('records SKIPPED_QUOTA for the daily quota', async () => {
      const config = await addSchedule(f, 'acme_corp');
      f.trigger.refuse.set('acme_corp', 'DAILY_QUOTA_EXCEEDED');
      expect(await tickAt('2025-11-15T07:00:10Z')).to.include({ skipped_quota: 1 });
      expect(await rowsOf(config.config_id)).to.have.length(1);
      expect((await rowsOf(config.config_id))[0]).to.include({ state: 'SKIPPED_QUOTA', reason: 'DAILY_QUOTA_EXCEEDED' });
    });

    it('records SKIPPED_QUOTA for the monthly quota', async () => {
      await addSchedule(f, 'acme_corp');
      f.trigger.refuse.set('acme_corp', 'MONTHLY_QUOTA_EXCEEDED');
      expect(await tickAt('2025-11-15T07:00:10Z')).to.include({ skipped_quota: 1 });
    });

    it('queues the fire when the tenant is at its concurrent limit', async () => {
      const config = await addSchedule(f, 'acme_corp');
      f.trigger.refuse.set('acme_corp', 'CONCURRENT_LIMIT_REACHED');
      expect(await tickAt('2025-11-15T07:00:10Z')).to.include({ queued: 1 });
      expect(await f.redis.redis.zrange(f.redis.keys.tenantDeferred('acme_corp'), 0, -1)).to.deep.equal([
        scheduledRunId(config.config_id, new Date(FIRST_FIRE)),
      ]);
      expect((await rowsOf(config.config_id))[0]).to.include({ state: 'QUEUED' });
    });

    it('queues the fire when a dependency is unavailable (Redis trouble, the warehouse past its deadline), instead of losing it', async () => {
      const config = await addSchedule(f, 'acme_corp');
      f.trigger.refuse.set('acme_corp', 'DEPENDENCY_UNAVAILABLE');
      expect(await tickAt('2025-11-15T07:00:10Z')).to.include({ queued: 1, failed: 0 });
      expect(await f.redis.redis.zrange(f.redis.keys.tenantDeferred('acme_corp'), 0, -1)).to.deep.equal([
        scheduledRunId(config.config_id, new Date(FIRST_FIRE)),
      ]);
      expect((await rowsOf(config.config_id))[0]).to.include({ state: 'QUEUED', reason: 'DEPENDENCY_UNAVAILABLE; waits in the execution queue' });
    });

    it('records FAILED with the reason for other refusals, and still advances', async () => {
      const config = await addSchedule(f, 'acme_corp');
      f.trigger.refuse.set('acme_corp', 'TEMPLATE_NOT_FOUND');
      expect(await tickAt('2025-11-15T07:00:10Z')).to.include({ failed: 1 });
      expect(String((await rowsOf(config.config_id))[0]?.reason)).to.match(/^TEMPLATE_NOT_FOUND/);
      expect((await getSchedule(f.store, 'acme_corp', config.config_id)).next_run_time).to.equal(SECOND_FIRE);
    });
  });

  describe('when 10,000 schedules are due at once', () => {
    it('triggers them all in one tick, well inside 3 minutes, with one warehouse write', async () => {
      const { redis, keys } = f.redis;
      const fireMs = Date.parse(FIRST_FIRE);
      // Configs of 100 tenants sit in 100 cluster slots: one command each, issued together.
      for (let start = 0; start < 10_000; start += 2_500) {
        await Promise.all(
          Array.from({ length: 2_500 }, (_, j) => {
            const id = `bulk-${start + j}`;
            const tenantId = `tenant_${(start + j) % 100}`;
            return Promise.all([redis.hset(keys.schedule(tenantId, id), encodeConfig(bulkConfig(id, tenantId))), redis.zadd(keys.scheduleDue(), fireMs, dueMember({ tenantId, configId: id }))]);
          }),
        );
      }
      let inserts = 0;
      // Same warehouse, counting its inserts (the prototype keeps every other method).
      const counting = Object.create(wh.warehouse) as Warehouse;
      counting.insertRows = async (ref, rows, options) => {
        inserts += 1;
        return wh.warehouse.insertRows(ref, rows, options);
      };
      const summary = await triggerDueSchedules({ ...f.tick, warehouse: counting }, new Date('2025-11-15T07:00:30Z'));
      expect(summary).to.include({ due: 10_000, triggered: 10_000 });
      expect(new Set(f.trigger.runIds()).size).to.equal(10_000);
      expect(inserts).to.equal(1);
      expect(await redis.zcount(keys.scheduleDue(), '-inf', Date.parse('2025-11-15T07:00:30Z'))).to.equal(0);
    });
  });
});
