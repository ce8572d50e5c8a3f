import type { ColumnSchema, ColumnType, QueryParams, TableSpec, Warehouse } from '../../warehouse/types';
import { renderTableName, renderText } from '../render';
import { RUN_ID_COLUMN } from '../template-checks';
import type { Destination, QueryStep } from '../types';
import { StepFailure, runSql } from './context';
import type { StepContext, StepResult } from './context';

/**
 * The `query` step: runs SQL and writes its result into a table of the tenant dataset.
 *
 * Idempotency (a run may be executed again after a crash, with the same pipeline_logging_id):
 * every destination table gets a `_pipeline_logging_id` column naming the run that wrote each row.
 *  - append: the rows this run wrote before are replaced by the new result;
 *  - truncate: the whole table is replaced;
 *  - replace_partition: the partition (`partition_column = @partition_param`) is replaced by the result
 *    rows of that partition — a rerun of a date replaces it, never duplicates;
 *  - merge: MERGE on `merge_keys` (null-safe), updating matches and inserting the rest.
 * The first three are one `MERGE … ON FALSE` statement each (delete what the write owns, insert the new
 * rows), so readers never see a half-written partition and a late statement from a killed attempt cannot
 * leave duplicates behind.
 */
const RUN_PARAM = '_pipeline_logging_id';
const PARTITION_PARAM = '_partition_value';

export function stepSql(step: QueryStep, kind: Warehouse['kind']): string {
  return step.sql_overrides?.[kind] ?? step.sql;
}

export function destinationSpec(dest: Destination): TableSpec {
  const columns: ColumnSchema[] = [...dest.schema.columns, { name: RUN_ID_COLUMN, type: 'STRING', description: 'Run that wrote the row' }];
  return {
    columns,
    ...(dest.schema.partition_by ? { partitionBy: { column: dest.schema.partition_by } } : {}),
    ...(dest.schema.cluster_by ? { clusterBy: dest.schema.cluster_by } : {}),
  };
}

const q = (name: string): string => `\`${name}\``;

export async function runQueryStep(step: QueryStep, ctx: StepContext): Promise<StepResult> {
  const sql = renderText(stepSql(step, ctx.warehouse.kind), ctx.render);
  const dest = step.destination;
  if (!dest) {
    const r = await runSql(ctx, sql);
    return { rowsProcessed: r.affectedRows ?? r.rows.length, bytesProcessed: r.bytesProcessed };
  }
  const table = renderTableName(dest.table, ctx.render);
  const ref = { dataset: ctx.dataset, table };
  await ctx.warehouse.createTable(ref, destinationSpec(dest));

  const target = q(`${ctx.dataset}.${table}`);
  const cols = dest.schema.columns.map((c) => c.name);
  const runParams: { params: QueryParams; types: Record<string, ColumnType> } = {
    params: { [RUN_PARAM]: ctx.pipelineLoggingId },
    types: { [RUN_PARAM]: 'STRING' },
  };
  const insertCols = [...cols, RUN_ID_COLUMN].map(q).join(', ');
  const selectCols = cols.map((c) => `_src.${q(c)}`).join(', ');

  if (dest.write_mode === 'merge') {
    const on = (dest.merge_keys ?? []).map((k) => `_dst.${q(k)} IS NOT DISTINCT FROM _src.${q(k)}`).join(' AND ');
    const set = [...cols.map((c) => `${q(c)} = _src.${q(c)}`), `${q(RUN_ID_COLUMN)} = @${RUN_PARAM}`].join(', ');
    const merge =
      `MERGE INTO ${target} AS _dst USING (SELECT ${selectCols} FROM (${sql}) AS _src) AS _src ON ${on} ` +
      `WHEN MATCHED THEN UPDATE SET ${set} ` +
      `WHEN NOT MATCHED THEN INSERT (${insertCols}) VALUES (${selectCols}, @${RUN_PARAM})`;
    const r = await runSql(ctx, merge, runParams);
    return { rowsProcessed: r.affectedRows ?? 0, bytesProcessed: r.bytesProcessed };
  }

  // One MERGE replaces exactly the rows this write owns (this run's rows, the whole table, or the
  // partition) with the new result. Being one atomic statement, it stays correct in any order: a killed
  // worker's statement that lands after its re-delivered replacement swaps the same rows again.
  const extra = { params: { ...runParams.params }, types: { ...runParams.types } };
  let owned: string;
  let where = '';
  if (dest.write_mode === 'append') {
    owned = `_dst.${q(RUN_ID_COLUMN)} = @${RUN_PARAM}`;
  } else if (dest.write_mode === 'truncate') {
    owned = 'TRUE';
  } else {
    const column = dest.partition_column ?? '';
    const paramName = dest.partition_param ?? '';
    const value = ctx.params[paramName];
    if (value === null || value === undefined) throw new StepFailure(`partition parameter "${paramName}" has no value`);
    extra.params[PARTITION_PARAM] = value;
    const t = ctx.paramTypes[paramName];
    if (t) extra.types[PARTITION_PARAM] = t;
    owned = `_dst.${q(column)} = @${PARTITION_PARAM}`;
    where = ` WHERE _src.${q(column)} = @${PARTITION_PARAM}`;
  }
  const replace =
    `MERGE INTO ${target} AS _dst USING (SELECT ${selectCols} FROM (${sql}) AS _src${where}) AS _src ON FALSE ` +
    `WHEN NOT MATCHED BY SOURCE AND ${owned} THEN DELETE ` +
    `WHEN NOT MATCHED THEN INSERT (${insertCols}) VALUES (${selectCols}, @${RUN_PARAM})`;
  const r = await runSql(ctx, replace, extra);
  return { rowsProcessed: r.affectedRows ?? 0, bytesProcessed: r.bytesProcessed };
}
