import { expect } from 'chai';
import { triggerDueSchedules } from '../../src/scheduler/tick';
import { addSchedule, createFixture, openWarehouse } from '../scheduler/fixture';
import type { SchedulerFixture } from '../scheduler/fixture';
import type { TestWarehouse } from '../helpers/warehouse';

describe('schedule.misfired webhook events from the scheduler tick', () => {
  let wh: TestWarehouse;
  let f: SchedulerFixture;
  const seen: Array<{ tenantId: string; data: Record<string, unknown> }> = [];
  const onMisfire = async (tenantId: string, data: Record<string, unknown>): Promise<void> => {
    seen.push({ tenantId, data });
  };
  before(async () => {
    wh = await openWarehouse();
  });
  after(async () => wh.cleanup());
  beforeEach(async () => {
    seen.length = 0;
    f = await createFixture(wh, '2025-11-14T12:00:00Z');
  });
  afterEach(async () => f.redis.cleanup());

  it('announces a fire missed by more than the grace, with the config, the fire time and the outcome', async () => {
    const config = await addSchedule(f, 'acme_corp', { misfire_policy: 'skip' });
    f.clock.set('2025-11-17T10:00:00Z');
    expect(await triggerDueSchedules({ ...f.tick, onMisfire }, f.clock.now())).to.include({ misfired: 1 });
    expect(seen).to.deep.equal([{
      tenantId: 'acme_corp',
      data: { config_id: config.config_id, scheduled_time: '2025-11-15T07:00:00.000Z', misfire_policy: 'skip', outcome: 'MISFIRED', pipeline_logging_id: null },
    }]);
  });

  it('stays silent for a fire handled within the grace', async () => {
    await addSchedule(f, 'acme_corp', { misfire_policy: 'skip' });
    f.clock.set('2025-11-15T07:01:30Z');
    expect(await triggerDueSchedules({ ...f.tick, onMisfire }, f.clock.now())).to.include({ triggered: 1 });
    expect(seen).to.deep.equal([]);
  });
});
