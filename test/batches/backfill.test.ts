import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { readDayTemplate } from '../helpers/templates';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { backfillWhen, countOf, getBackfill, inFlightSampler } from './helpers';
import type { Body } from './helpers';

/**
 * Issue 15.1: a backfill is one request for many runs, each admitted like any trigger. The clock is injected:
 * a UTC day change is the clock moving to the next day plus the day-close routine the maintenance queue runs.
 */
describe('backfills', function () {
  this.timeout(60_000);
  let configs: { dir: string; cleanup(): void };
  let wh: TestWarehouse;
  let clock: ManualClock;
  let t: TestSystem;
  const start = (prefix?: string): Promise<TestSystem> =>
    startTestSystem({ warehouse: wh.warehouse, clock, env: { CONFIGS_DIR: configs.dir }, ...(prefix ? { prefix } : {}) });
  const post = (tenantId: string, key: string, body: object, template = 'gcp/chaos/read_day') =>
    t.request.post(`/api/v1/pipelines/backfill/${tenantId}/${template}`).set('X-API-Key', key).set('X-User-ID', 'ana').send(body);
  /** Moves the clock to 10:00 UTC of the next day and closes the previous day, as the maintenance job does at midnight. */
  const nextDay = async (): Promise<void> => {
    clock.set(new Date(Date.UTC(clock.now().getUTCFullYear(), clock.now().getUTCMonth(), clock.now().getUTCDate() + 1, 10)));
    await t.system.scheduler.routines.resetDailyQuotas(clock.now());
    await t.system.batches.routines.tick(clock.now());
  };

  before(async () => {
    configs = configsWith({ 'gcp/chaos/read_day.yml': readDayTemplate('backfill test') });
    wh = await createTestDuckDb();
  });
  beforeEach(async () => {
    clock = new ManualClock('2026-12-04T10:00:00Z');
    t = await start();
  });
  afterEach(async () => t.close());
  after(async () => {
    await wh.cleanup();
    configs.cleanup();
  });

  describe('a 31-day backfill on a STARTER tenant (6 runs a day, 3 at once)', () => {
    it('runs 6 today, continues after each UTC day change and a restart of every process, and ends with 31 COMPLETED runs, never more than 3 in flight', async () => {
      const key = await onboard(t, 'bf_starter', 'STARTER');
      const sampler = inFlightSampler(() => t, 'bf_starter');
      const res = await post('bf_starter', key, { start_date: '2026-10-01', end_date: '2026-10-31' });
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body).to.include({ dates_total: 31, dates_to_run: 31, dates_skipped: 0, max_parallel: 3, estimated_days: 6, status: 'ACTIVE' });
      const id = res.body.backfill_id as string;

      // Re-posting the same range while it is active returns it.
      const again = await post('bf_starter', key, { start_date: '2026-10-01', end_date: '2026-10-31' });
      expect(again.status).to.equal(200);
      expect(again.body.backfill_id).to.equal(id);

      // Stop every process as soon as the first runs are admitted; a new system on the same Redis and warehouse takes over.
      await backfillWhen(() => t, key, id, 'a first date admitted', (b) => countOf(b, 'WAITING') < 31);
      const prefix = t.prefix;
      await t.system.close();
      t = await start(prefix);

      const today = await backfillWhen(() => t, key, id, '6 runs today, then a wait for tomorrow', (b) => countOf(b, 'COMPLETED') === 6 && b.waiting_until !== null);
      expect(today).to.include({ status: 'ACTIVE', last_refusal: 'DAILY_QUOTA_EXCEEDED', waiting_until: '2026-12-05T00:00:00.000Z' });
      expect(countOf(today, 'WAITING')).to.equal(25);

      let finished: Body = today;
      for (let day = 2; day <= 6; day++) {
        await nextDay();
        const expected = Math.min(6 * day, 31);
        finished = await backfillWhen(() => t, key, id, `${expected} runs by day ${day}`, (b) => countOf(b, 'COMPLETED') === expected && (expected === 31 ? b.status === 'COMPLETED' : b.waiting_until !== null));
      }
      const { max, samples } = await sampler.stop();
      expect(samples).to.be.greaterThan(0);
      expect(max).to.be.at.most(3);
      expect(finished.status).to.equal('COMPLETED');
      expect(finished.counts).to.deep.equal({ COMPLETED: 31 });

      // One run per date, no date twice: the tenant's runs are exactly the 31 backfill runs, one per day of October.
      const runs = await t.request.get('/api/v1/pipelines/runs?limit=100').set('X-API-Key', key);
      const list = runs.body.runs as Array<{ pipeline_logging_id: string; trigger_type: string; status: string; user_id: string | null; parameters: { date: string } }>;
      expect(list).to.have.length(31);
      expect(new Set(list.map((r) => r.parameters.date)).size).to.equal(31);
      expect(list.every((r) => r.trigger_type === 'backfill' && r.status === 'COMPLETED' && r.user_id === 'ana')).to.equal(true);
      const dates = finished.dates as Array<{ date: string; run_id: string }>;
      expect(new Set(dates.map((d) => d.run_id))).to.deep.equal(new Set(list.map((r) => r.pipeline_logging_id)));
    });
  });

  describe('cancelling mid-way', () => {
    it('cancels the dates not started; the started ones finish, and no later day starts another', async () => {
      const key = await onboard(t, 'bf_cancel', 'STARTER');
      const res = await post('bf_cancel', key, { start_date: '2026-11-01', end_date: '2026-11-20' });
      const id = res.body.backfill_id as string;
      await backfillWhen(() => t, key, id, 'the day’s quota used', (b) => countOf(b, 'COMPLETED') === 6 && b.waiting_until !== null);
      const cancelled = await t.request.delete(`/api/v1/pipelines/backfills/${id}`).set('X-API-Key', key);
      expect(cancelled.status).to.equal(200);
      expect(cancelled.body.status).to.equal('CANCELLED');
      expect(cancelled.body.counts).to.deep.equal({ COMPLETED: 6, CANCELLED: 14 });
      await nextDay();
      const after = await getBackfill(t, key, id);
      expect(after.counts).to.deep.equal({ COMPLETED: 6, CANCELLED: 14 });
      // The warehouse keeps the history: the latest row of customers.backfills is the cancelled backfill. A dispatch
      // pass holding the backfill's lock when the cancel came writes that row once it sees CANCELLED, so it may land
      // after the DELETE answered.
      const row = await eventually('the CANCELLED snapshot in customers.backfills', async () => {
        const latest = await t.request.post('/api/v1/admin/warehouse/query').set('X-Admin-Key', t.adminKey)
          .send({ sql: `SELECT status, counts, tenant_id FROM \`customers.backfills\` WHERE backfill_id = '${id}'` });
        return latest.body.rows?.[0]?.status === 'ACTIVE' ? undefined : latest;
      });
      expect(row.body.rows).to.have.length(1);
      expect(row.body.rows[0]).to.include({ status: 'CANCELLED', tenant_id: 'bf_cancel' });
      const counts = row.body.rows[0].counts as unknown;
      expect(typeof counts === 'string' ? JSON.parse(counts) : counts).to.deep.equal({ COMPLETED: 6, CANCELLED: 14 });
      // Once Redis forgot it (its hash expires 30 days after the end), the GET answers from that row.
      await t.system.clients.redis.del(t.system.keys.backfill('bf_cancel', id));
      const fromWarehouse = await getBackfill(t, key, id);
      expect(fromWarehouse).to.include({ status: 'CANCELLED', start_date: '2026-11-01', end_date: '2026-11-20', tenant_id: 'bf_cancel', pipeline_id: 'bf_cancel-gcp-chaos-read_day' });
      expect(fromWarehouse.counts).to.deep.equal({ COMPLETED: 6, CANCELLED: 14 });
      expect(fromWarehouse.dates).to.deep.equal(after.dates);
      const quota = await t.request.get('/api/v1/tenants/bf_cancel/quota').set('X-API-Key', key);
      expect(quota.body.pipelines_run_today).to.equal(0);
      // The same range may be backfilled again once the first one is no longer active.
      const anew = await post('bf_cancel', key, { start_date: '2026-11-01', end_date: '2026-11-20', skip_completed: true });
      expect(anew.status).to.equal(202);
      expect(anew.body.backfill_id).to.not.equal(id);
    });
  });

  describe('max_parallel and skip_completed', () => {
    it('keeps at most max_parallel runs in flight, and a second backfill skips the dates already COMPLETED', async () => {
      const key = await onboard(t, 'bf_pro', 'PROFESSIONAL');
      const sampler = inFlightSampler(() => t, 'bf_pro');
      const res = await post('bf_pro', key, { start_date: '2026-09-01', end_date: '2026-09-10', max_parallel: 2 });
      expect(res.body).to.include({ max_parallel: 2, estimated_days: 1 });
      const done = await backfillWhen(() => t, key, res.body.backfill_id as string, 'all 10 done', (b) => b.status === 'COMPLETED');
      expect(done.counts).to.deep.equal({ COMPLETED: 10 });
      const { max } = await sampler.stop();
      expect(max).to.be.at.most(2);

      // The run rows reach the warehouse through the log writer; skip_completed reads them there.
      const sql = "SELECT COUNT(*) AS n FROM `bf_pro.x_meta_pipeline_runs` WHERE status = 'COMPLETED'";
      await eventually('the 10 run rows in the warehouse', async () => {
        const rows = await t.request.post('/api/v1/admin/warehouse/query').set('X-Admin-Key', t.adminKey).send({ sql });
        return Number(rows.body.rows[0].n) === 10 ? true : undefined;
      });
      const second = await post('bf_pro', key, { start_date: '2026-09-05', end_date: '2026-09-12', skip_completed: true });
      expect(second.status).to.equal(202);
      expect(second.body).to.include({ dates_total: 8, dates_skipped: 6, dates_to_run: 2 });
      const rest = await backfillWhen(() => t, key, second.body.backfill_id as string, 'the 2 new dates done', (b) => b.status === 'COMPLETED');
      expect(rest.counts).to.deep.equal({ SKIPPED: 6, COMPLETED: 2 });
    });
  });

  describe('refusals', () => {
    it('answers 422 for a template without a date parameter, a range over the plan’s backfill_max_days, max_parallel over the plan, and 404 for another tenant’s backfill', async () => {
      const key = await onboard(t, 'bf_refused', 'STARTER');
      const otherKey = await onboard(t, 'bf_other', 'STARTER');
      const noDate = await post('bf_refused', key, { start_date: '2026-10-01', end_date: '2026-10-02' }, 'gcp/cost/dryrun');
      expect([noDate.status, noDate.body.code]).to.deep.equal([422, 'BACKFILL_NEEDS_DATE_PARAMETER']);
      const tooLong = await post('bf_refused', key, { start_date: '2026-10-01', end_date: '2026-11-01' });
      expect([tooLong.status, tooLong.body.code]).to.deep.equal([422, 'BACKFILL_TOO_LONG']);
      const tooWide = await post('bf_refused', key, { start_date: '2026-10-01', end_date: '2026-10-02', max_parallel: 4 });
      expect([tooWide.status, tooWide.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
      const backwards = await post('bf_refused', key, { start_date: '2026-10-02', end_date: '2026-10-01' });
      expect([backwards.status, backwards.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
      const withDate = await post('bf_refused', key, { start_date: '2026-10-01', end_date: '2026-10-01', parameters: { date: '2026-10-01' } });
      expect([withDate.status, withDate.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
      const ok = await post('bf_refused', key, { start_date: '2026-10-01', end_date: '2026-10-01' });
      expect(ok.status).to.equal(202);
      const foreign = await t.request.get(`/api/v1/pipelines/backfills/${ok.body.backfill_id as string}`).set('X-API-Key', otherKey);
      expect([foreign.status, foreign.body.code]).to.deep.equal([404, 'BACKFILL_NOT_FOUND']);
      const foreignCancel = await t.request.delete(`/api/v1/pipelines/backfills/${ok.body.backfill_id as string}`).set('X-API-Key', otherKey);
      expect(foreignCancel.status).to.equal(404);
    });
  });
});
