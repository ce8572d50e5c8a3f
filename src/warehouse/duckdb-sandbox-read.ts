import type { DuckDBPreparedStatement, DuckDBType } from '@duckdb/node-api';
import { fromDuckDb } from './duckdb-values';
import { ResultBudget } from './result-budget';
import type { Row, SandboxResult } from './types';

/**
 * Streams an operator query's rows, converting one value at a time, and stops at the first row past `maxRows` or
 * the first row that would pass `maxBytes` (result-budget.ts): either way the answer says `truncated`. A chunk of
 * wide rows is never converted whole, so the JS heap holds at most the budget plus one row.
 */
export async function readCapped(prepared: DuckDBPreparedStatement, maxRows: number, maxBytes: number): Promise<SandboxResult> {
  const result = await prepared.stream();
  const names = result.deduplicatedColumnNames();
  const types = result.columnTypes();
  const budget = new ResultBudget(maxBytes);
  const rows: Row[] = [];
  for (;;) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) return { rows, truncated: false };
    for (let i = 0; i < chunk.rowCount; i++) {
      if (rows.length >= maxRows) return { rows, truncated: true };
      const raw = chunk.getRowValues(i);
      const row: Row = {};
      names.forEach((name, c) => {
        row[name] = fromDuckDb(raw[c] ?? null, types[c] as DuckDBType);
      });
      if (!budget.fits(row)) return { rows, truncated: true };
      rows.push(row);
    }
  }
}
