import { createHash } from 'node:crypto';
import { eventsTableName, eventsTableSpec, latestViewSql } from './tables';
import type { StateTable } from './tables';
import type { ColumnType, QueryParams, QueryValue, Row, Warehouse } from './types';

/**
 * Helpers over the table layout of tables.ts: a state table is an append-only `<name>_events`
 * table plus a view `<name>` keeping the newest snapshot per key.
 */

export interface AppendOptions {
  /**
   * Ordinal of this write: the view keeps the row with the highest seq per key (ties broken by
   * event_time). Every row of one call gets this seq, so write one row per key per call.
   */
  seq: number;
  now: Date;
}

/** Creates the events table and (re)creates the latest-row view; returns true when the table was new. */
export async function ensureStateTable(wh: Warehouse, dataset: string, t: StateTable): Promise<boolean> {
  const ref = { dataset, table: eventsTableName(t) };
  const created = await wh.createTable(ref, eventsTableSpec(t));
  // A table from before a column was added gains it (NULL in old rows), so writers and the view can name it.
  if (!created && t.addedColumns && t.addedColumns.length > 0) await wh.addColumns(ref, t.addedColumns);
  // Always replaced: the view text may change between releases, and replacing is idempotent.
  await wh.createView({ dataset, table: t.name }, latestViewSql(dataset, t));
  return created;
}

const keyText = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

/** Deterministic insert id: a retried append of the same snapshot is de-duplicated by BigQuery. */
export function stateInsertId(t: StateTable, row: Row, seq: number): string {
  const id = `${t.name}:${t.key.map((k) => keyText(row[k])).join('|')}:${seq}`;
  return id.length <= 100 ? id : createHash('sha256').update(id).digest('hex');
}

function withEventColumns(rows: Row[], opts: AppendOptions): Row[] {
  return rows.map((row) => ({ ...row, event_time: opts.now, event_seq: opts.seq }));
}

/** Appends snapshots with one streaming insert (the hot path: no DML). */
export async function appendStateRows(wh: Warehouse, dataset: string, t: StateTable, rows: Row[], opts: AppendOptions): Promise<void> {
  if (rows.length === 0) return;
  await wh.insertRows({ dataset, table: eventsTableName(t) }, withEventColumns(rows, opts), {
    insertIds: rows.map((row) => stateInsertId(t, row, opts.seq)),
  });
}

/**
 * Appends snapshots with one INSERT … VALUES statement, values as parameters. For rows that may have
 * to be deleted soon after (onboarding rollback): BigQuery cannot DELETE streamed rows for ~30 min.
 */
export async function stateRowsViaDml(wh: Warehouse, dataset: string, t: StateTable, rows: Row[], opts: AppendOptions): Promise<number> {
  if (rows.length === 0) return 0;
  const spec = eventsTableSpec(t);
  const names = spec.columns.map((c) => c.name);
  const params: QueryParams = {};
  const paramTypes: Record<string, ColumnType> = {};
  const tuples = withEventColumns(rows, opts).map((row, r) => {
    const slots = spec.columns.map((c, i) => {
      const p = `r${r}_${i}`;
      params[p] = toQueryValue(row[c.name], c.type);
      paramTypes[p] = c.type;
      return `@${p}`;
    });
    return `(${slots.join(', ')})`;
  });
  const sql = `INSERT INTO \`${dataset}.${eventsTableName(t)}\` (${names.join(', ')}) VALUES ${tuples.join(', ')}`;
  const result = await wh.query(sql, { params, paramTypes });
  return result.affectedRows ?? rows.length;
}

function toQueryValue(v: unknown, type: ColumnType): QueryValue {
  if (v === undefined || v === null) return null;
  if (type === 'JSON') return typeof v === 'string' ? v : JSON.stringify(v);
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
  if (v instanceof Date || Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  return JSON.stringify(v);
}
