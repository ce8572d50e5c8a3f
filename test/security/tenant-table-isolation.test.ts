import { expect } from 'chai';
import { tenantErrorText } from '../../src/pipelines/error-text';
import { WarehouseError } from '../../src/warehouse/types';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { EMBEDDED_ONLY_ATTACKS, FOREIGN_TABLE_ATTACKS, expectEveryAttackRefused, storeSettingAroundTheApi } from './table-attacks';

/**
 * Issue 9, hole 2: a tenant reading another tenant's data through its own provider settings. acme_corp
 * and beta_inc both have sample billing data; acme_corp tries every way of naming beta_inc's export (or
 * the platform's tables) as its billing_export_table. Each PUT is refused and stores nothing, its runs
 * read only its own rows, a bad value stored before the fix fails the run, and no error text names
 * another tenant's tables.
 */
describe('tenant table isolation (embedded warehouse)', () => {
  let t: TestSystem;
  let acme: string;
  let day: string;

  const run = async (tenantId: string, key: string): Promise<Record<string, unknown>> => {
    const res = await t.request.post(`/api/v1/pipelines/run/${tenantId}/gcp/cost/billing_cost`).set('X-API-Key', key).send({ date: day });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return waitForRun(t, key, res.body.pipeline_logging_id as string);
  };
  const betaRowsIn = async (tenantId: string): Promise<number> => {
    if (!(await t.warehouse.tableExists({ dataset: tenantId, table: 'gcp_cost_daily' }))) return 0;
    const { rows } = await t.warehouse.query(`SELECT COUNT(*) AS n FROM \`${tenantId}.gcp_cost_daily\` WHERE project_id LIKE 'beta-inc-%'`);
    return Number(rows[0]?.['n']);
  };

  before(async () => {
    t = await startTestSystem();
    acme = await onboard(t, 'acme_corp', 'SCALE');
    await onboard(t, 'beta_inc', 'SCALE');
    for (const [tenant, seed] of [['acme_corp', 1], ['beta_inc', 2]] as const) {
      const loaded = await t.request.post(`/api/v1/admin/tenants/${tenant}/sample-data`).set('X-Admin-Key', t.adminKey).send({ days: 2, rows_per_day: 200, seed });
      expect(loaded.status).to.equal(200);
      day = loaded.body.to_date as string;
    }
  });
  after(async () => t.close());

  describe('PUT /tenants/acme_corp/providers/gcp', () => {
    it("refuses the issue's attack and every variant with 422 INVALID_TABLE_REFERENCE, and stores nothing", async () => {
      await expectEveryAttackRefused(t, acme, [...EMBEDDED_ONLY_ATTACKS, ...FOREIGN_TABLE_ATTACKS]);
      const stored = await t.request.get('/api/v1/tenants/acme_corp/providers/gcp').set('X-API-Key', acme);
      expect([stored.status, stored.body.code]).to.deep.equal([404, 'PROVIDER_NOT_FOUND']);
      const { rows } = await t.warehouse.query("SELECT COUNT(*) AS n FROM `tenants.tenant_providers_events` WHERE tenant_id = 'acme_corp'");
      expect(Number(rows[0]?.['n'])).to.equal(0);
    });

    it('refuses a project_id that is not a GCP project id, and stores nothing', async () => {
      for (const project of ["evil'; DROP TABLE tenants.tenant_api_keys; --", 'Evil-Proj', 'evil proj', 'region-us', '`evilproj`', 42]) {
        const res = await t.request.put('/api/v1/tenants/acme_corp/providers/gcp').set('X-API-Key', acme).send({ settings: { project_id: project } });
        expect([res.status, res.body.code, res.body.errors?.[0]?.field]).to.deep.equal([422, 'INVALID_TABLE_REFERENCE', 'settings.project_id']);
      }
      expect((await t.request.get('/api/v1/tenants/acme_corp/providers/gcp').set('X-API-Key', acme)).status).to.equal(404);
    });
  });

  describe("a billing_cost run for acme_corp after the attacks", () => {
    it("completes from acme_corp's own export and writes no beta_inc row", async () => {
      const result = await run('acme_corp', acme);
      expect(result.status, String(result.error_message)).to.equal('COMPLETED');
      const { rows } = await t.warehouse.query('SELECT COUNT(*) AS n FROM `acme_corp.gcp_cost_daily` WHERE project_id LIKE \'acme-corp-%\'');
      expect(Number(rows[0]?.['n'])).to.be.greaterThan(0);
      expect(await betaRowsIn('acme_corp')).to.equal(0);
    });

    it("reads the tenant's own table when the setting names one (one- and two-part)", async () => {
      // A tenant of its own: the worker caches a tenant's setting for a few seconds, and acme_corp's was just read.
      const key = await onboard(t, 'epsilon_co', 'SCALE');
      await t.request.post('/api/v1/admin/tenants/epsilon_co/sample-data').set('X-Admin-Key', t.adminKey).send({ days: 1, rows_per_day: 50 }).expect(200);
      await t.warehouse.query("CREATE TABLE `epsilon_co.my_export` AS SELECT * FROM `epsilon_co.gcp_billing_export_v1`");
      for (const name of ['epsilon_co.my_export', 'my_export']) {
        const put = await t.request.put('/api/v1/tenants/epsilon_co/providers/gcp').set('X-API-Key', key).send({ settings: { billing_export_table: name, project_id: 'epsilon-billing' } });
        expect(put.status, JSON.stringify(put.body)).to.equal(200);
        expect(put.body.settings.billing_export_table).to.equal(name);
      }
      const validated = await t.request.post('/api/v1/pipelines/validate/epsilon_co/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: day });
      expect(validated.body.steps[0].sql).to.contain('FROM `epsilon_co.my_export`');
    });
  });

  describe('a bad value stored before the fix (written around the API)', () => {
    const stale = ['evilproj.beta_inc.gcp_billing_export_v1', 'beta_inc.gcp_billing_export_v1', '`tenants.tenant_api_keys`'];
    stale.forEach((value, i) => {
      it(`fails the run clearly and reads nothing: ${value}`, async () => {
        const tenantId = `legacy_${i}`;
        const key = await onboard(t, tenantId, 'SCALE');
        await storeSettingAroundTheApi(t, tenantId, value);
        const result = await run(tenantId, key);
        expect(result.status).to.equal('FAILED');
        expect(result.error_message).to.match(/billing_export_table stored in the gcp provider settings is not a table this tenant may read/);
        expect(result.error_message).to.contain(`PUT /api/v1/tenants/${tenantId}/providers/gcp`);
        expect(JSON.stringify(result)).not.to.match(/beta_inc|tenant_api_keys/);
        expect(await t.warehouse.tableExists({ dataset: tenantId, table: 'gcp_cost_daily' })).to.equal(false);
        const validated = await t.request.post(`/api/v1/pipelines/validate/${tenantId}/gcp/cost/billing_cost`).set('X-API-Key', key).send({ date: day });
        expect([validated.status, validated.body.code]).to.deep.equal([422, 'INVALID_TABLE_REFERENCE']);
      });
    });
  });

  describe('a run whose source table is missing', () => {
    it("fails naming the tenant's own table and how to load sample data, never another tenant's table", async () => {
      const key = await onboard(t, 'delta_co', 'SCALE');
      // Precondition: DuckDB's own answer points at another tenant's export.
      const raw = await t.warehouse.query('SELECT * FROM `delta_co.gcp_billing_export_v1`').then(() => '', (err: Error) => err.message);
      const suggested = /Did you mean "(\w+)\.gcp_billing_export_v1/.exec(raw)?.[1];
      expect(suggested).to.be.oneOf(['acme_corp', 'beta_inc', 'epsilon_co']);

      const result = await run('delta_co', key);
      expect(result.status).to.equal('FAILED');
      expect(result.error_message).to.contain('delta_co.gcp_billing_export_v1 does not exist');
      expect(result.error_message).to.contain('POST /api/v1/admin/tenants/delta_co/sample-data');
      expect(result.error_message).to.contain('npm run sample-data -- --tenant delta_co');
      const others = /beta_inc|acme_corp|epsilon_co|Did you mean/;
      expect(JSON.stringify(result)).not.to.match(others);

      await t.system.logWriter.flush();
      const logged = await t.warehouse.query(
        'SELECT error_message FROM `delta_co.x_meta_step_logs` WHERE pipeline_logging_id = @id UNION ALL SELECT error_message FROM `delta_co.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id',
        { params: { id: String(result.pipeline_logging_id) } },
      );
      expect(logged.rows.some((r) => String(r['error_message']).includes('delta_co.gcp_billing_export_v1 does not exist'))).to.equal(true);
      expect(JSON.stringify(logged.rows)).not.to.match(others);

      const validated = await t.request.post('/api/v1/pipelines/validate/delta_co/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: day });
      expect(validated.body.valid).to.equal(false);
      expect(JSON.stringify(validated.body.problems)).to.contain('delta_co.gcp_billing_export_v1 does not exist');
      expect(JSON.stringify(validated.body.problems)).not.to.match(others);
    });
  });

  describe('any other engine error a tenant reads', () => {
    it("keeps the engine's text but drops its suggestions, which name other tenants' tables", async () => {
      const err = await t.warehouse.query('SELECT * FROM `delta_co.gcp_billing_export`').then(() => null, (e: unknown) => e);
      expect(String(err)).to.match(/Did you mean "\w+\.gcp_billing_export_v1/);
      const text = tenantErrorText(err, { tenant_id: 'delta_co', source_table: 'delta_co.gcp_billing_export_v1' });
      expect(text).to.match(/^Catalog Error: Table with name gcp_billing_export does not exist!/);
      expect(text).not.to.match(/beta_inc|acme_corp|epsilon_co|Did you mean/);
      const column = await t.warehouse.query('SELECT statuz FROM `beta_inc.gcp_billing_export_v1`').then(() => null, (e: unknown) => e);
      expect(tenantErrorText(column)).to.match(/Referenced column "statuz" not found/).and.not.to.match(/Candidate/);
    });

    it("drops BigQuery's suggestions too, keeping the position", () => {
      const bq = new WarehouseError('Unrecognized name: statuz; Did you mean status? at [1:8]', 'invalid_query');
      expect(tenantErrorText(bq)).to.equal('Unrecognized name: statuz at [1:8]');
    });
  });
});
