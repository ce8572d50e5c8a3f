import { expect } from 'chai';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { FOREIGN_TABLE_ATTACKS, expectEveryAttackRefused, storeSettingAroundTheApi } from './table-attacks';

/**
 * Issue 9, hole 2 on BigQuery (the official client against the local fake server, whose project is
 * `test-project` = GCP_PROJECT_ID): a three-part name may point at the tenant's own billing-export
 * project, never at the platform's project, where every dataset is a tenant's or the platform's.
 */
/** The SQL text of a query job or a synchronous query, null for any other request. */
function statementOf(request: { body: unknown }): string | null {
  const body = request.body as { query?: unknown; configuration?: { query?: { query?: unknown } } } | null;
  const sql = body?.configuration?.query?.query ?? body?.query;
  return typeof sql === 'string' ? sql : null;
}

describe('tenant table isolation (BigQuery)', () => {
  let bq: TestBigQuery;
  let t: TestSystem;
  let acme: string;
  const PLATFORM = 'test-project';

  before(async () => {
    bq = await createTestBigQuery();
    t = await startTestSystem({ warehouse: bq.warehouse, env: { WAREHOUSE: 'bigquery', GCP_PROJECT_ID: PLATFORM } });
    acme = await onboard(t, 'acme_corp', 'SCALE');
    await onboard(t, 'beta_inc', 'SCALE');
  });
  after(async () => {
    await t.close();
    await bq.cleanup();
  });

  const put = (settings: Record<string, unknown>) => t.request.put('/api/v1/tenants/acme_corp/providers/gcp').set('X-API-Key', acme).send({ settings });

  describe('PUT /tenants/acme_corp/providers/gcp', () => {
    it("refuses the platform's project in every spelling, other tenants' datasets and the reserved ones, storing nothing", async () => {
      await expectEveryAttackRefused(t, acme, [
        ...FOREIGN_TABLE_ATTACKS,
        `${PLATFORM}.beta_inc.gcp_billing_export_v1`,
        `${PLATFORM}.acme_corp.gcp_billing_export_v1`,
        `${PLATFORM}.tenants.tenant_api_keys`,
        `${PLATFORM}.customers.customer_pipeline_configs`,
        `\`${PLATFORM}\`.beta_inc.gcp_billing_export_v1`,
        `\`${PLATFORM}.beta_inc.gcp_billing_export_v1\``,
        'Test-Project.beta_inc.gcp_billing_export_v1',
        `${PLATFORM} .beta_inc.gcp_billing_export_v1`,
        `${PLATFORM}.beta_inc.gcp_billing_export_v1.`,
        'acme-billing.tenants.tenant_api_keys',
        'acme-billing.INFORMATION_SCHEMA.TABLES',
        'acme-billing.information_schema.tables',
        'region-eu.INFORMATION_SCHEMA.JOBS_BY_PROJECT',
        'example.com:acme-billing.billing.gcp_billing_export_v1',
      ]);
      const stored = await t.request.get('/api/v1/tenants/acme_corp/providers/gcp').set('X-API-Key', acme);
      expect([stored.status, stored.body.code]).to.deep.equal([404, 'PROVIDER_NOT_FOUND']);
    });

    it("refuses the platform's project as project_id", async () => {
      const res = await put({ project_id: PLATFORM });
      expect([res.status, res.body.code, res.body.errors?.[0]?.field]).to.deep.equal([422, 'INVALID_TABLE_REFERENCE', 'settings.project_id']);
    });

    it("accepts the tenant's own billing-export project, and the run renders exactly that table", async () => {
      const res = await put({ billing_export_table: 'acme-billing.billing_export.gcp_billing_export_v1', project_id: 'acme-billing' });
      expect(res.status, JSON.stringify(res.body)).to.equal(200);
      const validated = await t.request.post('/api/v1/pipelines/validate/acme_corp/gcp/cost/billing_cost').set('X-API-Key', acme).send({ date: '2025-11-14' });
      expect(validated.status).to.equal(200);
      expect(validated.body.steps[0].sql).to.contain('FROM `acme-billing.billing_export.gcp_billing_export_v1`');
    });
  });

  describe("a three-part value naming the platform's project stored before the fix", () => {
    it("fails the run, sends BigQuery no statement naming beta_inc's dataset, and writes nothing", async () => {
      const key = await onboard(t, 'legacy_bq', 'SCALE');
      await storeSettingAroundTheApi(t, 'legacy_bq', `${PLATFORM}.beta_inc.gcp_billing_export_v1`);
      const firstRequest = bq.server.requests.length;
      const res = await t.request.post('/api/v1/pipelines/run/legacy_bq/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: '2025-11-14' });
      expect(res.status).to.equal(202);
      const run = await waitForRun(t, key, res.body.pipeline_logging_id as string);
      expect(run.status).to.equal('FAILED');
      expect(run.error_message).to.match(/billing_export_table stored in the gcp provider settings is not a table this tenant may read/);
      expect(JSON.stringify(run)).not.to.match(/beta_inc|test-project/);
      // No statement the platform sent BigQuery during the run names beta_inc's dataset, and no request
      // addresses it. Parameters may carry the name as a value (the audit outbox's flush of beta_inc's
      // onboarding row, every second, can land in this window on a loaded machine): that reads nothing.
      const sent = bq.server.requests.slice(firstRequest);
      const statements = sent.map(statementOf).filter((sql): sql is string => sql !== null);
      expect(statements.length).to.be.greaterThan(0);
      expect(statements.filter((sql) => /beta_inc/i.test(sql))).to.deep.equal([]);
      expect(sent.filter((r) => /beta_inc/i.test(r.path)).map((r) => `${r.method} ${r.path}`)).to.deep.equal([]);
      expect(await t.warehouse.tableExists({ dataset: 'legacy_bq', table: 'gcp_cost_daily' })).to.equal(false);
    });
  });
});
