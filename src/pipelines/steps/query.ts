import type { ColumnSchema, ColumnType, QueryParams, TableSpec, Warehouse } from '../../warehouse/types';
import { renderTableName, renderText } from '../render';
import { RUN_ID_COLUMN } from '../template-checks';
import type { Destination, QueryStep } from '../types';
import { StepFailure, addBytes, runSql } from './context';
import type { StepContext, StepResult } from './context';

/**
 * The `query` step: runs SQL and writes its result into a table of the tenant dataset.
 *
 * Idempotency (a run may be executed again after a crash, with the same pipeline_logging_id):
 * every destination table gets a `_pipeline_logging_id` column naming the run that wrote each row.
 *  - append: rows this run wrote before are deleted first, then inserted again;
 *  - truncate: everything is deleted, then inserted;
 *  - replace_partition: the partition (`partition_column = @partition_param`) is deleted, then only
 *    result rows of that partition are inserted — a rerun of a date replaces it, never duplicates;
 *  - merge: MERGE on `merge_keys` (null-safe), updating matches and inserting the rest.
 * The delete and the insert are two statements: readers may briefly see the partition empty.
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
  let bytes: number | undefined;

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

  let where = '';
  const extra = { params: { ...runParams.params }, types: { ...runParams.types } };
  if (dest.write_mode === 'append') {
    bytes = (await runSql(ctx, `DELETE FROM ${target} WHERE ${q(RUN_ID_COLUMN)} = @${RUN_PARAM}`, runParams)).bytesProcessed;
  } else if (dest.write_mode === 'truncate') {
    bytes = (await runSql(ctx, `DELETE FROM ${target} WHERE TRUE`)).bytesProcessed;
  } else {
    const column = dest.partition_column ?? '';
    const paramName = dest.partition_param ?? '';
    const value = ctx.params[paramName];
    if (value === null || value === undefined) throw new StepFailure(`partition parameter "${paramName}" has no value`);
    extra.params[PARTITION_PARAM] = value;
    const t = ctx.paramTypes[paramName];
    if (t) extra.types[PARTITION_PARAM] = t;
    bytes = (await runSql(ctx, `DELETE FROM ${target} WHERE ${q(column)} = @${PARTITION_PARAM}`, extra)).bytesProcessed;
    where = ` WHERE _src.${q(column)} = @${PARTITION_PARAM}`;
  }
  const insert = `INSERT INTO ${target} (${insertCols}) SELECT ${selectCols}, @${RUN_PARAM} FROM (${sql}) AS _src${where}`;
  const r = await runSql(ctx, insert, extra);
  return { rowsProcessed: r.affectedRows ?? 0, bytesProcessed: addBytes(bytes, r.bytesProcessed) };
}
