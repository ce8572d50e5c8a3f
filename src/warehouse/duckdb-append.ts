import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import { mapDuckDbError } from './duckdb-errors';
import { toColumnValue } from './duckdb-values';
import { WarehouseError } from './types';
import type { Row, TableRef } from './types';

/**
 * Column names per `dataset.table`, so a steady stream of log appends does not read the catalog each time. The
 * adapter clears it on every DDL it runs; an append whose appender disagrees with the cached columns (count or
 * types — a table changed by SQL outside the adapter) reads the catalog again.
 */
export type AppendColumnCache = Map<string, { names: string[]; types: string[] }>;

/** Appends rows through DuckDB's appender inside one transaction: all rows or none. `ref` was validated by the caller. */
export async function appendRows(conn: DuckDBConnection, ref: TableRef, rows: Row[], cache?: AppendColumnCache): Promise<void> {
  const key = `${ref.dataset}.${ref.table}`;
  const cached = cache?.get(key);
  if (cached) {
    try {
      if (await appendWith(conn, ref, rows, cached)) return;
    } catch {
      // The table may be gone or changed: the catalog says which, below.
    }
    cache?.delete(key);
  }
  const names = await columnNames(conn, ref);
  if (names.length === 0) throw new WarehouseError(`Table ${ref.dataset}.${ref.table} was not found`, 'not_found');
  const fresh = { names, types: [] as string[] };
  await appendWith(conn, ref, rows, fresh);
  cache?.set(key, fresh);
}

/**
 * One transaction. With `columnsOf.types` filled (a cached entry) it returns false, appending nothing, when the
 * table's appender no longer matches them; with `types` empty it records the appender's types into it.
 */
async function appendWith(conn: DuckDBConnection, ref: TableRef, rows: Row[], columnsOf: { names: string[]; types: string[] }): Promise<boolean> {
  const columns = columnsOf.names;
  const known = new Set(columns);
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (known.has(key)) continue;
      if (columnsOf.types.length > 0) return false;
      throw new WarehouseError(`no such field: ${key} in ${ref.dataset}.${ref.table}`, 'invalid_query');
    }
  }
  await conn.run('BEGIN TRANSACTION');
  try {
    const appender = await conn.createAppender(ref.table, ref.dataset);
    try {
      const types: DuckDBType[] = columns.map((_, i) => appender.columnType(i));
      const typeNames = types.map((t) => t.toString());
      if (columnsOf.types.length === 0) columnsOf.types.push(...typeNames);
      else if (appender.columnCount !== columns.length || typeNames.some((t, i) => t !== columnsOf.types[i])) throw STALE;
      for (const row of rows) {
        columns.forEach((col, i) => {
          const type = types[i] as DuckDBType;
          const value = toColumnValue(row[col], type, col);
          if (value === null) appender.appendNull();
          else appender.appendValue(value, type);
        });
        appender.endRow();
      }
      appender.flushSync();
    } catch (err) {
      appender.clear();
      throw err;
    } finally {
      appender.closeSync();
    }
    await conn.run('COMMIT');
    return true;
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    if (err === STALE) return false;
    throw mapDuckDbError(err);
  }
}

/** Thrown inside the transaction when a cached column list no longer matches the table. */
const STALE = new Error('cached columns are stale');

async function columnNames(conn: DuckDBConnection, ref: TableRef): Promise<string[]> {
  const reader = await conn.runAndReadAll(
    `SELECT column_name FROM information_schema.columns
     WHERE table_catalog = current_database() AND table_schema = $d AND table_name = $t ORDER BY ordinal_position`,
    { d: ref.dataset, t: ref.table },
  );
  return reader.getRows().map((r) => String(r[0]));
}
