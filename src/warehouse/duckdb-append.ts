import type { DuckDBConnection, DuckDBType } from '@duckdb/node-api';
import { mapDuckDbError } from './duckdb-errors';
import { toColumnValue } from './duckdb-values';
import { WarehouseError } from './types';
import type { Row, TableRef } from './types';

/** Appends rows through DuckDB's appender inside one transaction: all rows or none. `ref` was validated by the caller. */
export async function appendRows(conn: DuckDBConnection, ref: TableRef, rows: Row[]): Promise<void> {
  const columns = await columnNames(conn, ref);
  if (columns.length === 0) throw new WarehouseError(`Table ${ref.dataset}.${ref.table} was not found`, 'not_found');
  const known = new Set(columns);
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!known.has(key)) throw new WarehouseError(`no such field: ${key} in ${ref.dataset}.${ref.table}`, 'invalid_query');
    }
  }
  await conn.run('BEGIN TRANSACTION');
  try {
    const appender = await conn.createAppender(ref.table, ref.dataset);
    try {
      const types: DuckDBType[] = columns.map((_, i) => appender.columnType(i));
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
  } catch (err) {
    await conn.run('ROLLBACK').catch(() => undefined);
    throw mapDuckDbError(err);
  }
}

async function columnNames(conn: DuckDBConnection, ref: TableRef): Promise<string[]> {
  const reader = await conn.runAndReadAll(
    `SELECT column_name FROM information_schema.columns
     WHERE table_catalog = current_database() AND table_schema = $d AND table_name = $t ORDER BY ordinal_position`,
    { d: ref.dataset, t: ref.table },
  );
  return reader.getRows().map((r) => String(r[0]));
}
