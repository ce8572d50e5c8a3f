import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { DISABLE_AUTH_WARNING } from '../../src/system/system';
import { captureLogger, onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** The guide's own calls, as written, on the embedded default (issue 11, point 6). */
describe('the guide’s calls on the embedded default', function () {
  this.timeout(60_000);

  describe('billing_cost for the guide’s day 2025-11-14', () => {
    let t: TestSystem;
    let key: string;
    before(async () => {
      t = await startTestSystem();
      key = await onboard(t, 'acme_corp', 'PROFESSIONAL');
    });
    after(async () => t.close());

    it('loads sample data ending on end_date (the README call) and the guide’s exact trigger body completes with rows', async () => {
      const loaded = await t.request.post('/api/v1/admin/tenants/acme_corp/sample-data').set('X-Admin-Key', t.adminKey).set('Content-Type', 'application/json').send('{"end_date": "2025-11-14"}');
      expect(loaded.status, JSON.stringify(loaded.body)).to.equal(200);
      expect(loaded.body).to.deep.include({ rows: 30 * 500, from_date: '2025-10-16', to_date: '2025-11-14' });

      // The guide's curl, verbatim: header names, body text and all.
      const res = await t.request
        .post('/api/v1/pipelines/run/acme_corp/gcp/cost/billing_cost')
        .set('X-API-Key', key)
        .set('X-User-ID', 'alice_uuid_123')
        .set('Content-Type', 'application/json')
        .send('{"date": "2025-11-14"}');
      expect(res.status, JSON.stringify(res.body)).to.equal(202);
      expect(res.body).to.include({ pipeline_id: 'acme_corp-gcp-cost-billing_cost', status: 'PENDING' });
      const run = await waitForRun(t, key, res.body.pipeline_logging_id as string, 30_000);
      expect(run.status, String(run.error_message)).to.equal('COMPLETED');
      const daily = await t.warehouse.query('SELECT COUNT(*) AS n FROM `acme_corp.gcp_cost_daily` WHERE cost_date = @d', { params: { d: '2025-11-14' }, paramTypes: { d: 'DATE' } });
      expect(Number(daily.rows[0]?.n)).to.be.greaterThan(0);
    });

    it('refuses an end_date that is not a calendar day and days outside 1–400 with 422, an unknown tenant with 404', async () => {
      const post = (tenant: string, body: object) => t.request.post(`/api/v1/admin/tenants/${tenant}/sample-data`).set('X-Admin-Key', t.adminKey).send(body);
      for (const body of [{ end_date: '2025-02-30' }, { end_date: '14/11/2025' }, { days: 0 }, { days: 401 }]) {
        const res = await post('acme_corp', body);
        expect([res.status, res.body.code], JSON.stringify(body)).to.deep.equal([422, 'VALIDATION_ERROR']);
      }
      const unknown = await post('ghost_co', { end_date: '2025-11-14', days: 1 });
      expect([unknown.status, unknown.body.code]).to.deep.equal([404, 'TENANT_NOT_FOUND']);
    });

    it('documents end_date on the sample-data route', async () => {
      const doc = (await t.request.get('/openapi.json')).body as { paths: Record<string, Record<string, { requestBody: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> };
      const props = doc.paths['/api/v1/admin/tenants/{tenant_id}/sample-data']?.post?.requestBody.content['application/json']?.schema.properties ?? {};
      expect(props).to.have.all.keys('days', 'rows_per_day', 'seed', 'end_date', 'append');
    });

    it('fails a run whose source table is missing with the table, the run’s date and how to load sample data', async () => {
      const otherKey = await onboard(t, 'nodata_co', 'PROFESSIONAL');
      const res = await t.request.post('/api/v1/pipelines/run/nodata_co/gcp/cost/billing_cost').set('X-API-Key', otherKey).send({ date: '2025-11-14' });
      expect(res.status).to.equal(202);
      const run = await waitForRun(t, otherKey, res.body.pipeline_logging_id as string, 30_000);
      expect(run.status).to.equal('FAILED');
      const message = String(run.error_message);
      expect(message).to.contain('Source table nodata_co.gcp_billing_export_v1 does not exist');
      expect(message).to.contain('POST /api/v1/admin/tenants/nodata_co/sample-data with {"end_date": "2025-11-14"}');
      expect(message).to.contain('npm run sample-data -- --tenant nodata_co --end-date 2025-11-14');
      expect(message).not.to.match(/Catalog Error|Did you mean|acme_corp/);
      const steps = run.steps as Array<Record<string, unknown>>;
      expect(steps.some((s) => String(s.error_message ?? s.errorMessage).includes('--end-date 2025-11-14'))).to.equal(true);
    });
  });

  describe('POST /api/v1/scheduler/reset-daily-quotas', () => {
    let t: TestSystem;
    let key: string;
    const clock = new ManualClock('2026-03-10T15:00:00Z');
    before(async () => {
      t = await startTestSystem({ role: 'api', clock });
      key = await onboard(t, 'reset_co', 'STARTER');
    });
    after(async () => t.close());

    it('says it closed the previous UTC day and did not reset today’s counters', async () => {
      expect((await t.request.post('/api/v1/pipelines/run/reset_co/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: '2026-03-09' })).status).to.equal(202);
      const res = await t.request.post('/api/v1/scheduler/reset-daily-quotas').set('X-Admin-Key', t.adminKey);
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ closed_day: '2026-03-09', today: '2026-03-10', today_reset: false, already_closed: false });
      expect(res.body.message).to.contain('Closed the previous UTC day 2026-03-09');
      expect(res.body.message).to.contain('Today\'s counters (2026-03-10) are not reset');
      const quota = await t.request.get('/api/v1/tenants/reset_co/quota').set('X-API-Key', key);
      expect(quota.body.pipelines_run_today).to.equal(1);

      const doc = (await t.request.get('/openapi.json')).body as { paths: Record<string, Record<string, { summary: string }>> };
      expect(doc.paths['/api/v1/scheduler/reset-daily-quotas']?.post?.summary).to.match(/Close the previous UTC day.*does not reset today’s counters/);
    });
  });

  describe('a DISABLE_AUTH=true start', () => {
    it('logs a loud WARN that every tenant’s data is open', async () => {
      const captured = captureLogger();
      const t = await startTestSystem({ role: 'api', env: { DISABLE_AUTH: 'true' }, logger: captured.logger });
      try {
        const warnings = captured.lines.map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.msg === DISABLE_AUTH_WARNING);
        expect(warnings).to.have.length(1);
        expect(warnings[0]?.level).to.equal(40); // pino's WARN
        expect(warnings[0]?.msg).to.contain('EVERY TENANT\'S DATA IS OPEN');
      } finally {
        await t.close();
      }
    });

    it('logs no such warning otherwise', async () => {
      const captured = captureLogger();
      const t = await startTestSystem({ role: 'api', logger: captured.logger });
      try {
        expect(captured.lines.join('\n')).not.to.contain('DISABLE_AUTH');
      } finally {
        await t.close();
      }
    });
  });
});
