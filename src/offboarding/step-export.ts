import path from 'node:path';
import type { ExportedTable, OffboardContext, OffboardStep } from './types';

/**
 * 4. Every table of the tenant's dataset (the `x_meta_*` events tables and the destination tables) as Parquet,
 * through the warehouse adapter's own export path (`Warehouse.exportTable`): embedded, a file per table under
 * `<OFFBOARD_EXPORT_DIR>/<tenant>/<offboard id>/`; BigQuery, an extract job per table to
 * `<uri>/<tenant>/<offboard id>/<table>-*.parquet`. Views are skipped (their rows are in the tables they read).
 * Re-running overwrites the same files, so a resumed export is whole.
 */
export function exportLocationOf(kind: 'duckdb' | 'bigquery', base: string, tenantId: string, offboardId: string): string {
  return kind === 'duckdb' ? path.join(base, tenantId, offboardId) : `${base.replace(/\/+$/, '')}/${tenantId}/${offboardId}`;
}

const destinationOf = (ctx: OffboardContext, table: string): string =>
  ctx.deps.tenant.warehouse.kind === 'duckdb' ? path.join(ctx.exportLocation, `${table}.parquet`) : `${ctx.exportLocation}/${table}-*.parquet`;

export const exportStep: OffboardStep = {
  name: 'export',
  async run(ctx) {
    const wh = ctx.deps.tenant.warehouse;
    if (!(await wh.datasetExists(ctx.tenantId))) return { detail: 'no dataset: nothing to export', exported: [] };
    const exported: ExportedTable[] = [];
    let views = 0;
    for (const table of (await wh.listTables(ctx.tenantId)).sort()) {
      const result = await wh.exportTable({ dataset: ctx.tenantId, table }, destinationOf(ctx, table));
      if (result.kind === 'view') views++;
      else exported.push({ table, rows: result.rows, destination: result.destination });
    }
    const rows = exported.reduce((n, t) => n + t.rows, 0);
    return { detail: `${exported.length} tables (${rows} rows) exported to ${ctx.exportLocation}; ${views} views skipped`, exported };
  },
  async plan(ctx) {
    const wh = ctx.deps.tenant.warehouse;
    if (!(await wh.datasetExists(ctx.tenantId))) return 'no dataset: nothing to export';
    const tables = await wh.listTables(ctx.tenantId);
    return `${tables.length} tables and views (${tables.join(', ')}) would be exported as Parquet to ${ctx.exportLocation} (views skipped)`;
  },
};
