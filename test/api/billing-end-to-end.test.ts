import { expect } from 'chai';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** The README's path: onboard, load sample billing data, run billing_cost for a day, read the result. */
describe('billing_cost end to end on the embedded default', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem();
    key = await onboard(t, 'acme_corp', 'PROFESSIONAL');
  });
  after(async () => t.close());

  it('loads sample data, runs the day, writes per service/SKU/project totals and PASSing data-quality rows', async () => {
    const loaded = await t.request.post('/api/v1/admin/tenants/acme_corp/sample-data').set('X-Admin-Key', t.adminKey).send({ days: 3, rows_per_day: 300 });
    expect(loaded.status).to.equal(200);
    expect(loaded.body.rows).to.equal(900);
    const day = loaded.body.to_date as string;

    const res = await t.request.post('/api/v1/pipelines/run/acme_corp/gcp/cost/billing_cost').set('X-API-Key', key).set('X-User-ID', 'alice').send({ date: day });
    expect(res.status).to.equal(202);
    const run = await waitForRun(t, key, res.body.pipeline_logging_id);
    expect(run.status, String(run.error_message)).to.equal('COMPLETED');

    const source = await t.warehouse.query('SELECT ROUND(SUM(cost), 4) AS cost FROM `acme_corp.gcp_billing_export_v1` WHERE CAST(usage_start_time AS DATE) = @d', { params: { d: day }, paramTypes: { d: 'DATE' } });
    const daily = await t.warehouse.query('SELECT COUNT(*) AS n, ROUND(SUM(cost), 4) AS cost FROM `acme_corp.gcp_cost_daily` WHERE cost_date = @d', { params: { d: day }, paramTypes: { d: 'DATE' } });
    expect(Number(daily.rows[0]?.n)).to.be.greaterThan(0);
    expect(Number(daily.rows[0]?.cost)).to.be.closeTo(Number(source.rows[0]?.cost), 0.01);

    await t.system.logWriter.flush();
    const dq = await t.warehouse.query('SELECT check_name, passed, overall_status FROM `acme_corp.x_meta_dq_results` WHERE pipeline_logging_id = @id', { params: { id: res.body.pipeline_logging_id } });
    expect(dq.rows.length).to.be.greaterThan(0);
    expect(dq.rows.every((r) => r.passed === true)).to.equal(true);

    const again = await t.request.post('/api/v1/pipelines/run/acme_corp/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: day });
    await waitForRun(t, key, again.body.pipeline_logging_id);
    const rerun = await t.warehouse.query('SELECT COUNT(*) AS n FROM `acme_corp.gcp_cost_daily` WHERE cost_date = @d', { params: { d: day }, paramTypes: { d: 'DATE' } });
    expect(rerun.rows[0]?.n).to.equal(daily.rows[0]?.n);
  });

  it('runs month-to-date cost by project too', async () => {
    const res = await t.request.post('/api/v1/pipelines/run/acme_corp/gcp/cost/mtd_cost_by_project').set('X-API-Key', key).send({});
    expect(res.status).to.equal(202);
    const run = await waitForRun(t, key, res.body.pipeline_logging_id);
    expect(run.status, String(run.error_message)).to.equal('COMPLETED');
  });
});
