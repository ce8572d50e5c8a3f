import { expect } from 'chai';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** Every SQL query of the user guide, as written, through the admin query endpoint (what `npm run sql` calls). */
describe('the guide’s SQL against the embedded warehouse', () => {
  let t: TestSystem;
  let key: string;
  let runId: string;
  const sql = (text: string) => t.request.post('/api/v1/admin/warehouse/query').set('X-Admin-Key', t.adminKey).send({ sql: text });

  before(async () => {
    t = await startTestSystem();
    key = await onboard(t, 'acme_corp', 'PROFESSIONAL');
    const run = await t.request.post('/api/v1/pipelines/run/acme_corp/gcp/cost/dryrun').set('X-API-Key', key).set('X-User-ID', 'alice_uuid_123');
    runId = run.body.pipeline_logging_id;
    await waitForRun(t, key, runId);
    await t.system.logWriter.flush();
    await t.request.post('/api/v1/scheduler/reset-daily-quotas').set('X-Admin-Key', t.adminKey);
    await t.system.scheduler.routines.refreshUsage(new Date());
  });
  after(async () => t.close());

  it('section 3 step 4, pipeline runs: one row per run with its current status', async () => {
    const res = await sql('SELECT pipeline_logging_id, pipeline_id, tenant_id, user_id, status, start_time, duration_ms\nFROM `acme_corp.x_meta_pipeline_runs`\nORDER BY start_time DESC LIMIT 10');
    expect(res.status).to.equal(200);
    expect(res.body.rows).to.have.length(1);
    expect(res.body.rows[0]).to.include({ pipeline_logging_id: runId, pipeline_id: 'acme_corp-gcp-cost-dryrun', tenant_id: 'acme_corp', user_id: 'alice_uuid_123', status: 'COMPLETED' });
  });

  it('section 3 step 4, step logs: one row per step', async () => {
    const res = await sql(`SELECT pipeline_logging_id, step_name, status, rows_processed, duration_ms\nFROM \`acme_corp.x_meta_step_logs\`\nWHERE pipeline_logging_id = '${runId}'\nORDER BY start_time`);
    expect(res.status).to.equal(200);
    expect(res.body.rows).to.have.length(1);
    expect(res.body.rows[0].status).to.equal('COMPLETED');
  });

  it('section 4, quota: today’s usage row', async () => {
    const res = await sql("SELECT tenant_id, pipelines_run_today, daily_limit,\n       (daily_limit - pipelines_run_today) as remaining\nFROM `tenants.tenant_usage_quotas`\nWHERE tenant_id = 'acme_corp' AND usage_date = CURRENT_DATE()");
    expect(res.status).to.equal(200);
    expect(res.body.rows).to.have.length(1);
    expect(res.body.rows[0]).to.include({ tenant_id: 'acme_corp', pipelines_run_today: 1, daily_limit: 25, remaining: 24 });
  });

  it('troubleshooting 401: the tenant’s keys', async () => {
    const res = await sql("SELECT tenant_id, is_active FROM tenants.tenant_api_keys WHERE tenant_id='acme_corp'");
    expect(res.status).to.equal(200);
    expect(res.body.rows).to.deep.equal([{ tenant_id: 'acme_corp', is_active: true }]);
  });

  it('troubleshooting 429: usage against the limit', async () => {
    const res = await sql("SELECT pipelines_run_today, daily_limit FROM tenants.tenant_usage_quotas\n          WHERE tenant_id='acme_corp' AND usage_date=CURRENT_DATE()");
    expect(res.status).to.equal(200);
    expect(res.body.rows).to.deep.equal([{ pipelines_run_today: 1, daily_limit: 25 }]);
  });

  it('refuses anything but one read-only SELECT with 422', async () => {
    for (const bad of ['DROP SCHEMA acme_corp CASCADE', "SELECT 1; DELETE FROM tenants.tenant_profiles_events", "SELECT * FROM read_csv('/etc/passwd')"]) {
      const res = await sql(bad);
      expect(res.status, bad).to.equal(422);
    }
    expect(await t.warehouse.datasetExists('acme_corp')).to.equal(true);
  });

  it('answers 422 WAREHOUSE_ERROR for a query on a missing table, not 500', async () => {
    const res = await sql('SELECT * FROM `acme_corp.nope`');
    expect(res.status).to.equal(422);
    expect(res.body.code).to.equal('WAREHOUSE_ERROR');
  });
});
