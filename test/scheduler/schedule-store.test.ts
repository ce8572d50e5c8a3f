import { expect } from 'chai';
import { AppError } from '../../src/shared/errors';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, patchSchedule } from '../../src/scheduler/schedule-store';
import { addSchedule, createFixture, openWarehouse, scheduleBody } from './fixture';
import type { SchedulerFixture } from './fixture';
import type { TestWarehouse } from '../helpers/warehouse';
import { dueMember } from '../../src/scheduler/due-index';

/** Runs `fn` and returns the AppError it throws. */
async function appErrorOf(fn: () => Promise<unknown>): Promise<AppError> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
  throw new Error('expected an AppError');
}

describe('schedule configs', () => {
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

  describe('when created with the guide body', () => {
    it('stores provider and domain lower-case, fills the defaults and shows the next five fires', async () => {
      const view = await createSchedule(f.store, 'acme_corp', scheduleBody());
      expect(view).to.include({
        tenant_id: 'acme_corp',
        provider: 'gcp',
        domain: 'cost',
        pipeline_template: 'billing_cost',
        schedule_cron: '0 2 * * *',
        timezone: 'America/New_York',
        is_active: true,
        overlap_policy: 'skip',
        misfire_policy: 'run_once',
        next_run_time: '2025-11-15T07:00:00.000Z',
      });
      expect(view.parameters).to.deep.equal({});
      expect(view.next_run_times).to.have.length(5);
      expect(view.next_run_times[1]).to.equal('2025-11-16T07:00:00.000Z');
      expect(view).not.to.have.property('last_run_id');
    });

    it('puts the config in the due index at its next fire time', async () => {
      const view = await addSchedule(f, 'acme_corp');
      expect(await f.redis.redis.zscore(f.redis.keys.scheduleDue(), dueMember({ tenantId: 'acme_corp', configId: view.config_id }))).to.equal(String(Date.parse('2025-11-15T07:00:00Z')));
    });

    it('writes a row the guide table shows', async () => {
      const view = await addSchedule(f, 'acme_corp', { parameters: { date: '2025-11-14' } });
      const { rows } = await wh.warehouse.query('SELECT * FROM `customers.customer_pipeline_configs` WHERE config_id = @id', {
        params: { id: view.config_id },
      });
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ tenant_id: 'acme_corp', provider: 'gcp', schedule_cron: '0 2 * * *', is_active: true });
      expect(rows[0]?.parameters).to.deep.equal({ date: '2025-11-14' });
    });

    it('keeps an inactive config out of the due index', async () => {
      const view = await addSchedule(f, 'acme_corp', { is_active: false });
      expect(view.next_run_time).to.equal(null);
      expect(await f.redis.redis.zscore(f.redis.keys.scheduleDue(), dueMember({ tenantId: 'acme_corp', configId: view.config_id }))).to.equal(null);
    });
  });

  describe('when the body is invalid', () => {
    it('answers 422 naming a bad cron expression', async () => {
      const err = await appErrorOf(() => addSchedule(f, 'acme_corp', { schedule_cron: '0 25 * * *' }));
      expect(err.status).to.equal(422);
      expect(err.code).to.equal('VALIDATION_ERROR');
      expect(err.errors?.map((e) => e.field)).to.deep.equal(['schedule_cron']);
    });

    it('answers 422 naming an unknown time zone', async () => {
      const err = await appErrorOf(() => addSchedule(f, 'acme_corp', { timezone: 'Mars/Olympus' }));
      expect(err.code).to.equal('VALIDATION_ERROR');
      expect(err.errors?.[0]?.field).to.equal('timezone');
    });

    it('answers 422 for unknown policies and missing fields, all at once', async () => {
      const err = await appErrorOf(() => createSchedule(f.store, 'acme_corp', { provider: 'gcp', overlap_policy: 'sometimes' }));
      expect(err.errors?.map((e) => e.field).sort()).to.deep.equal(['domain', 'overlap_policy', 'pipeline_template', 'schedule_cron']);
    });

    it('answers 404 TEMPLATE_NOT_FOUND for a template that does not exist', async () => {
      const err = await appErrorOf(() => addSchedule(f, 'acme_corp', { pipeline_template: 'nope' }));
      expect(err.status).to.equal(404);
      expect(err.code).to.equal('TEMPLATE_NOT_FOUND');
    });

    it('passes on the provider limit refusal', async () => {
      f.store.touchProvider = async () => {
        throw new AppError(403, 'PROVIDER_LIMIT_REACHED', 'Provider limit reached');
      };
      const err = await appErrorOf(() => addSchedule(f, 'acme_corp'));
      expect(err.code).to.equal('PROVIDER_LIMIT_REACHED');
      expect(await listSchedules(f.store, 'acme_corp')).to.deep.equal([]);
    });
  });

  describe('reading, changing and deleting', () => {
    it('lists only the tenant’s own configs', async () => {
      const mine = await addSchedule(f, 'acme_corp');
      await addSchedule(f, 'other_co');
      const list = await listSchedules(f.store, 'acme_corp');
      expect(list.map((v) => v.config_id)).to.deep.equal([mine.config_id]);
    });

    it('moves the next fire when the cron changes and drops it when paused', async () => {
      const view = await addSchedule(f, 'acme_corp');
      const moved = await patchSchedule(f.store, 'acme_corp', view.config_id, { schedule_cron: '0 */6 * * *', timezone: 'UTC' });
      expect(moved.next_run_time).to.equal('2025-11-14T18:00:00.000Z');
      const paused = await patchSchedule(f.store, 'acme_corp', view.config_id, { is_active: false });
      expect(paused.next_run_time).to.equal(null);
      expect(await f.redis.redis.zscore(f.redis.keys.scheduleDue(), dueMember({ tenantId: 'acme_corp', configId: view.config_id }))).to.equal(null);
      const resumed = await getSchedule(f.store, 'acme_corp', view.config_id);
      expect(resumed.schedule_cron).to.equal('0 */6 * * *');
    });

    it('deletes a config everywhere and leaves a tombstone in the warehouse', async () => {
      const view = await addSchedule(f, 'acme_corp');
      await deleteSchedule(f.store, 'acme_corp', view.config_id);
      expect((await appErrorOf(() => getSchedule(f.store, 'acme_corp', view.config_id))).code).to.equal('SCHEDULE_NOT_FOUND');
      expect(await f.redis.redis.zscore(f.redis.keys.scheduleDue(), dueMember({ tenantId: 'acme_corp', configId: view.config_id }))).to.equal(null);
      const { rows } = await wh.warehouse.query('SELECT * FROM `customers.customer_pipeline_configs` WHERE config_id = @id', {
        params: { id: view.config_id },
      });
      expect(rows).to.deep.equal([]);
    });
  });

  describe('when another tenant’s config id is used', () => {
    it('answers 404 SCHEDULE_NOT_FOUND to get, patch and delete, and changes nothing', async () => {
      const theirs = await addSchedule(f, 'other_co');
      for (const call of [
        () => getSchedule(f.store, 'acme_corp', theirs.config_id),
        () => patchSchedule(f.store, 'acme_corp', theirs.config_id, { is_active: false }),
        () => deleteSchedule(f.store, 'acme_corp', theirs.config_id),
      ]) {
        const err = await appErrorOf(call);
        expect(err.status).to.equal(404);
        expect(err.code).to.equal('SCHEDULE_NOT_FOUND');
      }
      expect((await getSchedule(f.store, 'other_co', theirs.config_id)).is_active).to.equal(true);
    });

    it('answers 404 for an id that is not a UUID', async () => {
      expect((await appErrorOf(() => getSchedule(f.store, 'acme_corp', '../etc'))).code).to.equal('SCHEDULE_NOT_FOUND');
    });
  });
});
