import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createTenantDataset, removeCreated } from '../../src/tenants/bootstrap';
import { loadSampleBillingData } from '../../src/pipelines/sample-billing';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { appendStateRows } from '../../src/warehouse/state-tables';
import { CUSTOMERS_DATASET, pipelineExecutionQueue, scheduledPipelineRuns } from '../../src/warehouse/tables';
import { tenantDataset } from '../../src/warehouse/tenant-dataset';
import { caught } from '../helpers/errors';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 9, hole 3: tenant ids that name a platform dataset or an engine catalog. Onboarding `customers`
 * with force_recreate_dataset used to drop every tenant's schedules. Each is now 422 RESERVED_TENANT_ID
 * on onboarding and a failed check on the dry run, and the dataset code itself cannot drop a dataset that
 * is not a tenant's — and after every attempt the platform's tables hold exactly the rows they held.
 */
const RESERVED = ['tenants', 'customers', 'main', 'memory', 'information_schema', 'pg_catalog', 'system', 'temp', 'warehouse', '_session', '_script_abc'];

describe('reserved tenant ids', () => {
  let t: TestSystem;

  /**
   * Row count of every table and view in the platform's datasets, but the audit log: the refused calls are
   * audited on purpose (its rows land whenever the outbox flushes, so they are left out of "nothing changed").
   */
  const platformSnapshot = async (): Promise<Record<string, number>> => {
    const out: Record<string, number> = {};
    for (const dataset of ['tenants', 'customers']) {
      for (const table of await t.warehouse.listTables(dataset)) {
        if (`${dataset}.${table}` === 'tenants.audit_log') continue;
        const { rows } = await t.warehouse.query(`SELECT COUNT(*) AS n FROM \`${dataset}.${table}\``);
        out[`${dataset}.${table}`] = Number(rows[0]?.['n']);
      }
    }
    return out;
  };
  let untouched: Record<string, number>;

  before(async () => {
    t = await startTestSystem();
    const key = await onboard(t, 'sched_corp', 'SCALE');
    const created = await t.request.post('/api/v1/scheduler/customer/sched_corp/pipelines').set('X-API-Key', key)
      .send({ provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '0 2 * * *' });
    expect(created.status).to.equal(201);
    const configId = created.body.config_id as string;
    // A fire and a deferred run, as the scheduler writes them, so every schedule table has rows to lose.
    const now = new Date();
    await appendStateRows(t.warehouse, CUSTOMERS_DATASET, scheduledPipelineRuns, [{ config_id: configId, tenant_id: 'sched_corp', scheduled_time: now, state: 'FIRED' }], { now, seq: 1 });
    await appendStateRows(t.warehouse, CUSTOMERS_DATASET, pipelineExecutionQueue, [{ queue_id: 'q1', tenant_id: 'sched_corp', config_id: configId, state: 'WAITING' }], { now, seq: 1 });
    untouched = await platformSnapshot();
    for (const table of ['customer_pipeline_configs', 'pipeline_execution_queue', 'scheduled_pipeline_runs']) {
      expect(untouched[`customers.${table}`], table).to.equal(1);
    }
  });
  after(async () => t.close());

  describe('POST /api/v1/tenants/onboard', () => {
    for (const force of [{}, { force_recreate_dataset: true }, { force_recreate_tables: true }, { force_recreate_dataset: true, force_recreate_tables: true }]) {
      it(`answers 422 RESERVED_TENANT_ID for every reserved id ${JSON.stringify(force)}, and changes nothing`, async () => {
        for (const tenantId of RESERVED) {
          const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey)
            .send({ tenant_id: tenantId, company_name: 'Wiper', admin_email: 'a@wiper.com', ...force });
          expect([res.status, res.body.code], tenantId).to.deep.equal([422, 'RESERVED_TENANT_ID']);
          expect(res.body.errors?.[0]?.field).to.equal('tenant_id');
        }
        expect(await platformSnapshot()).to.deep.equal(untouched);
        expect(await t.system.clients.redis.smembers(t.system.keys.tenantIndex())).to.deep.equal(['sched_corp']);
      });
    }
  });

  describe('POST /api/v1/tenants/dryrun', () => {
    it('reports the failed check for every reserved id, not ready, and creates nothing', async () => {
      for (const tenantId of RESERVED) {
        const res = await t.request.post('/api/v1/tenants/dryrun').set('X-Admin-Key', t.adminKey)
          .send({ tenant_id: tenantId, company_name: 'Wiper', admin_email: 'a@wiper.com', force_recreate_dataset: true });
        expect(res.status).to.equal(200);
        expect(res.body.ready_for_onboarding, tenantId).to.equal(false);
        const check = (res.body.checks as Array<{ name: string; passed: boolean; message: string }>).find((c) => c.name === 'tenant_id_not_reserved');
        expect(check, tenantId).to.include({ passed: false });
        expect(check?.message).to.contain('reserved');
        expect(JSON.stringify(res.body.checks)).not.to.contain('will be dropped');
      }
      expect(await platformSnapshot()).to.deep.equal(untouched);
    });

    it('passes the check for an ordinary id', async () => {
      const res = await t.request.post('/api/v1/tenants/dryrun').set('X-Admin-Key', t.adminKey).send({ tenant_id: 'new_corp', company_name: 'New', admin_email: 'a@new.com' });
      expect(res.body.checks).to.deep.include({ name: 'tenant_id_not_reserved', passed: true, message: "tenant_id 'new_corp' is not a reserved name" });
    });
  });

  describe('the dataset code itself (defence in depth, below the request checks)', () => {
    it('refuses to create or force-drop a platform dataset or an engine catalog', async () => {
      for (const tenantId of RESERVED) {
        for (const options of [{ forceRecreateDataset: true }, { forceRecreateTables: true }]) {
          expect((await caught(createTenantDataset({ warehouse: t.warehouse }, tenantId, options))).code, tenantId).to.equal('RESERVED_TENANT_ID');
        }
        expect((await caught(removeCreated(t.warehouse, tenantId, { datasetCreated: true, tablesCreated: ['x_meta_pipeline_runs'] }))).code).to.equal('RESERVED_TENANT_ID');
      }
      expect(await platformSnapshot()).to.deep.equal(untouched);
    });

    it('refuses to force-drop a dataset holding platform tables, whatever its name', async () => {
      await t.warehouse.createDataset('shadow_copy');
      await t.warehouse.query("CREATE TABLE `shadow_copy.customer_pipeline_configs_events` AS SELECT * FROM `customers.customer_pipeline_configs_events`");
      expect((await caught(createTenantDataset({ warehouse: t.warehouse }, 'shadow_copy', { forceRecreateDataset: true }))).code).to.equal('RESERVED_TENANT_ID');
      expect(await t.warehouse.listTables('shadow_copy')).to.deep.equal(['customer_pipeline_configs_events']);
    });

    it('cannot be handed a forged TenantDataset', async () => {
      const real = await tenantDataset(t.warehouse, 'sched_corp');
      const Ctor = real.constructor as new (...args: unknown[]) => unknown;
      expect(() => new Ctor(Symbol('tenantDataset'), 'customers')).to.throw(TypeError);
    });

    it('loads no sample data into a reserved dataset', async () => {
      expect((await caught(loadSampleBillingData(t.warehouse, 'customers', { days: 1, rowsPerDay: 1 }))).code).to.equal('RESERVED_TENANT_ID');
      expect(await t.warehouse.tableExists({ dataset: 'customers', table: 'gcp_billing_export_v1' })).to.equal(false);
    });
  });

  describe('with a DuckDB file of another name', () => {
    it("refuses the file's catalog name as a tenant id (it would make every reference to the dataset ambiguous)", async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-catalog-'));
      const warehouse = await DuckDbWarehouse.open({ path: path.join(dir, 'lake_house.duckdb'), poolSize: 1 });
      try {
        expect((await caught(tenantDataset(warehouse, 'lake_house'))).code).to.equal('RESERVED_TENANT_ID');
        expect((await caught(createTenantDataset({ warehouse }, 'lake_house'))).code).to.equal('RESERVED_TENANT_ID');
        expect(await warehouse.datasetExists('lake_house')).to.equal(false);
        expect((await tenantDataset(warehouse, 'warehouse_co')).name).to.equal('warehouse_co');
      } finally {
        await warehouse.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
