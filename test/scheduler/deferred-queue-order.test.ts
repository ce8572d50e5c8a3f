import { expect } from 'chai';
import { processDeferredQueue } from '../../src/scheduler/deferred-queue';
import { deleteSchedule, patchSchedule } from '../../src/scheduler/schedule-store';
import { scheduledRunId, triggerDueSchedules } from '../../src/scheduler/tick';
import { addSchedule, createFixture, openWarehouse } from '../scheduler/fixture';
import type { SchedulerFixture } from '../scheduler/fixture';
import type { TestWarehouse } from '../helpers/warehouse';

/**
 * overlap_policy queue (SPEC §8): a fire while the previous run of the same config is unfinished waits for it.
 * With two fires queued behind a long run, the second queued fire waits for the first queued one — which is a
 * deferred entry, not a run yet — so it must not start while the first run is still going.
 */
describe('the deferred queue: fires in order, fires of schedules gone', () => {
  let wh: TestWarehouse;
  let f: SchedulerFixture;
  before(async () => {
    wh = await openWarehouse();
  });
  after(async () => wh.cleanup());
  beforeEach(async () => {
    f = await createFixture(wh, '2025-11-14T12:00:00Z');
  });
  afterEach(async () => f.redis.cleanup());

  it('starts nothing while the first run is still RUNNING, then the queued fires in fire order', async () => {
    const config = await addSchedule(f, 'acme_corp', { overlap_policy: 'queue' });
    const runOf = (iso: string): string => scheduledRunId(config.config_id, new Date(iso));
    f.clock.set('2025-11-15T07:00:10Z');
    await triggerDueSchedules(f.tick, f.clock.now());
    const first = runOf('2025-11-15T07:00:00Z');
    f.trigger.statuses.set(first, 'RUNNING'); // a long run
    f.clock.set('2025-11-16T07:00:10Z');
    expect(await triggerDueSchedules(f.tick, f.clock.now())).to.include({ queued: 1 });
    f.clock.set('2025-11-17T07:00:10Z');
    expect(await triggerDueSchedules(f.tick, f.clock.now())).to.include({ queued: 1 });
    f.trigger.calls.length = 0;

    const summary = await processDeferredQueue({ ...f.tick }, f.clock.now());
    // The first run is still RUNNING: neither queued fire may start (that would be two runs of one config at once).
    expect(f.trigger.runIds(), 'runs started while the first is RUNNING').to.deep.equal([]);
    expect(summary).to.include({ started: 0, still_waiting: 2 });

    f.trigger.statuses.set(first, 'COMPLETED');
    await processDeferredQueue({ ...f.tick }, f.clock.now());
    expect(f.trigger.runIds()[0]).to.equal(runOf('2025-11-16T07:00:00Z'));
  });

  /**
   * A fire that met the concurrent limit waits in the execution queue (SPEC §8). When the tenant then deletes or
   * pauses the schedule, that waiting fire belongs to a schedule that no longer exists / is paused: it must not start
   * a run (and take a unit of the daily quota) later — as Airflow does not start queued runs of a paused or deleted DAG.
   */
  describe('a queued fire of a schedule deleted or paused meanwhile', () => {
    const queueOneFire = async (): Promise<string> => {
      const config = await addSchedule(f, 'acme_corp');
      f.trigger.refuse.set('acme_corp', 'CONCURRENT_LIMIT_REACHED');
      f.clock.set('2025-11-15T07:00:10Z');
      expect(await triggerDueSchedules(f.tick, f.clock.now())).to.include({ queued: 1 });
      f.trigger.refuse.delete('acme_corp');
      f.trigger.calls.length = 0;
      return config.config_id;
    };

    it('does not start the queued fire of a deleted schedule', async () => {
      const configId = await queueOneFire();
      await deleteSchedule(f.store, 'acme_corp', configId);
      expect(await processDeferredQueue({ ...f.tick }, f.clock.now())).to.include({ started: 0, cancelled: 1, still_waiting: 0 });
      expect(f.trigger.calls.map((c) => c.configId), 'runs started for the deleted schedule').to.deep.equal([]);
      // Dropped, not kept: the next pass finds nothing waiting.
      expect(await processDeferredQueue({ ...f.tick }, f.clock.now())).to.include({ waiting_before: 0 });
    });

    it('does not start the queued fire of a paused schedule', async () => {
      const configId = await queueOneFire();
      await patchSchedule(f.store, 'acme_corp', configId, { is_active: false });
      expect(await processDeferredQueue({ ...f.tick }, f.clock.now())).to.include({ started: 0, cancelled: 1 });
      expect(f.trigger.calls.map((c) => c.configId), 'runs started for the paused schedule').to.deep.equal([]);
    });
  });
});
