import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import { mapDuckDbError } from './duckdb-errors';
import { toColumnValue } from './duckdb-values';
import { WarehouseError } from './types';
import type { Row, TableRef } from './types';

/**
 * Column names (and the appender's types) per `dataset.table`, so a steady stream of log appends does not read the
 * catalog each time. The adapter clears it on every DDL it runs; an append whose appender disagrees with the
 * cached columns (count or types), or whose rows name a field they lack — a table changed by SQL outside the
 * adapter — reads the catalog again.
 */
export type AppendColumnCache = Map<string, TableColumns>;

interface TableColumns {
  names: string[];
  /** The appender's column types; empty until the first append fills them. */
  types: string[];
}

export interface AppendBatch {
  ref: TableRef;
  rows: Row[];
}

/** Thrown inside a transaction when cached columns no longer match the table (nothing is appended). */
const STALE = new Error('cached columns are stale');

/**
 * Appends every batch in ONE transaction (a group commit: a log flush touching many tenants' tables commits once):
 * all rows of all batches or none. Refs were validated by the caller. Throws on any failure; the caller then
 * appends the batches one by one, so one broken table does not hold back the others.
 */
export async function appendBatches(conn: DuckDBConnection, batches: AppendBatch[], cache: AppendColumnCache): Promise<void> {
  const plans: TableColumns[] = [];
  for (const b of batches) plans.push(cache.get(cacheKey(b.ref)) ?? (await readColumns(conn, b.ref)));
  await inTransaction(conn, async () => {
    for (const [i, b] of batches.entries()) await appendInto(conn, b.ref, b.rows, plans[i] as TableColumns);
  });
  batches.forEach((b, i) => cache.set(cacheKey(b.ref), plans[i] as TableColumns));
}

/** Appends rows through DuckDB's appender inside one transaction: all rows or none. `ref` was validated by the caller. */
export async function appendRows(conn: DuckDBConnection, ref: TableRef, rows: Row[], cache: AppendColumnCache): Promise<void> {
  const key = cacheKey(ref);
  const cached = cache.get(key);
  if (cached) {
    try {
      await inTransaction(conn, () => appendInto(conn, ref, rows, cached));
      return;
    } catch {
      // Stale columns, or the table is gone or changed: the catalog says which, below.
      cache.delete(key);
    }
  }
  const fresh = await readColumns(conn, ref);
  await inTransaction(conn, () => appendInto(conn, ref, rows, fresh));
  cache.set(key, fresh);
}

const cacheKey = (ref: TableRef): string => `${ref.dataset}.${ref.table}`;

async function inTransaction(conn: DuckDBConnection, work: () => Promise<void>): Promise<void> {
  await conn.run('BEGIN TRANSACTION');
  try {
    await work();
    await conn.run('COMMIT');
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw err === STALE ? err : mapDuckDbError(err);
  }
}

/** Inside a transaction. Throws STALE when `columnsOf` came from the cache and no longer fits the table or rows. */
async function appendInto(conn: DuckDBConnection, ref: TableRef, rows: Row[], columnsOf: TableColumns): Promise<void> {
  const columns = columnsOf.names;
  const fromCache = columnsOf.types.length > 0;
  const known = new Set(columns);
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (known.has(key)) continue;
      if (fromCache) throw STALE;
      throw new WarehouseError(`no such field: ${key} in ${ref.dataset}.${ref.table}`, 'invalid_query');
    }
  }
  const appender = await conn.createAppender(ref.table, ref.dataset);
  try {
    const types: DuckDBType[] = columns.map((_, i) => appender.columnType(i));
    const typeNames = types.map((t) => t.toString());
    if (!fromCache) columnsOf.types.push(...typeNames);
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
}

async function readColumns(conn: DuckDBConnection, ref: TableRef): Promise<TableColumns> {
  const reader = await conn.runAndReadAll(
    `SELECT column_name FROM information_schema.columns
     WHERE table_catalog = current_database() AND table_schema = $d AND table_name = $t ORDER BY ordinal_position`,
    { d: ref.dataset, t: ref.table },
  );
  const names = reader.getRows().map((r) => String(r[0]));
  if (names.length === 0) throw new WarehouseError(`Table ${ref.dataset}.${ref.table} was not found`, 'not_found');
  return { names, types: [] };
}
