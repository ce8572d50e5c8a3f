import { expect } from 'chai';
import { silentLogger } from '../../src/shared/logger';
import { upgradeTenantTables } from '../../src/tenants/upgrade-tenant-tables';
import { appendStateRows, ensureStateTable } from '../../src/warehouse/state-tables';
import { TENANT_STATE_TABLES, eventsTableName, eventsTableSpec, latestViewSql, stepLogs } from '../../src/warehouse/tables';
import type { StateTable } from '../../src/warehouse/tables';
import type { Warehouse } from '../../src/warehouse/types';
import { createTestRedis } from '../helpers/redis';
import { createTestBigQuery, createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';

const TENANT = 'old_corp';

/** The table as it shipped before its `addedColumns`. */
const asFirstShipped = (t: StateTable): StateTable => {
  const added = new Set((t.addedColumns ?? []).map((c) => c.name));
  const { addedColumns: _added, ...rest } = t;
  return { ...rest, columns: t.columns.filter((c) => !added.has(c.name)) };
};

async function createOldTenant(warehouse: Warehouse): Promise<void> {
  await warehouse.createDataset(TENANT);
  for (const t of TENANT_STATE_TABLES.map(asFirstShipped)) {
    await warehouse.createTable({ dataset: TENANT, table: eventsTableName(t) }, eventsTableSpec(t));
    await warehouse.createView({ dataset: TENANT, table: t.name }, latestViewSql(TENANT, t));
  }
}

const costRow = {
  pipeline_logging_id: 'run-1', step_name: 'scan', step_type: 'query', step_index: 0, status: 'COMPLETED', attempt: 1,
  bytes_processed: 10, bytes_billed: 20, estimated_cost_usd: 0.5,
};

for (const [name, make] of [['DuckDB', createTestDuckDb], ['BigQuery (local REST server)', createTestBigQuery]] as const) {
  describe(`tenant meta tables from before the cost columns, on ${name}`, function () {
    this.timeout(30_000);
    let wh: TestWarehouse;
    before(async () => {
      wh = await make();
    });
    after(async () => wh.cleanup());

    it('gain the columns at boot (once), in the events tables and the views, and take the new rows', async () => {
      const r = await createTestRedis();
      try {
        await createOldTenant(wh.warehouse);
        await r.redis.sadd(r.keys.tenantIndex(), TENANT, 'never_onboarded_corp');
        const deps = { warehouse: wh.warehouse, redis: r.redis, keys: r.keys, logger: silentLogger() };
        expect(await upgradeTenantTables(deps)).to.equal(1);
        expect(await upgradeTenantTables(deps), 'the marker makes later boots skip it').to.equal(0);

        await appendStateRows(wh.warehouse, TENANT, stepLogs, [costRow], { seq: 1, now: new Date('2025-11-15T08:00:00Z') });
        const { rows } = await wh.warehouse.query(`SELECT bytes_billed, estimated_cost_usd FROM \`${TENANT}.x_meta_step_logs\``);
        expect(rows).to.deep.equal([{ bytes_billed: 20, estimated_cost_usd: 0.5 }]);
        const runs = await wh.warehouse.query(`SELECT bytes_processed, bytes_billed, estimated_cost_usd FROM \`${TENANT}.x_meta_pipeline_runs\``);
        expect(runs.rows).to.deep.equal([]);
        // Onboarding again (ensureStateTable) finds them present and changes nothing.
        for (const t of TENANT_STATE_TABLES) expect(await ensureStateTable(wh.warehouse, TENANT, t)).to.equal(false);
      } finally {
        await r.cleanup();
      }
    });
  });
}
