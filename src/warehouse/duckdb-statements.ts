import { StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBPreparedStatement } from '@duckdb/node-api';
import { WarehouseError } from './types';

/** How DuckDB's own parser reads a text: how many statements, and the type of a single one (prepared, not run). */

export interface ParsedText {
  count: number;
  /** The statement, prepared, when the text holds exactly one; the caller destroys it. */
  single: DuckDBPreparedStatement | null;
}

export async function parseText(conn: DuckDBConnection, sql: string): Promise<ParsedText> {
  let extracted;
  try {
    extracted = await conn.extractStatements(sql);
  } catch (err) {
    // A parser error arrives prefixed "Failed to extract statements:"; a text with no statement at all (blank,
    // comments only) makes the binding throw without any message of DuckDB's.
    if (err instanceof Error && err.message.startsWith('Failed to extract statements:')) throw err;
    return { count: 0, single: null };
  }
  if (extracted.count !== 1) return { count: extracted.count, single: null };
  return { count: 1, single: await extracted.prepare(0) };
}

export const statementTypeName = (type: StatementType): string => StatementType[type] ?? `statement type ${type}`;

/** Exactly one statement, or a `not_single_statement` refusal. */
export async function prepareSingle(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  const parsed = await parseText(conn, sql);
  if (parsed.single === null) {
    const why = parsed.count === 0 ? 'The text holds no SQL statement' : `The text holds ${parsed.count} statements`;
    throw new WarehouseError(`${why}; send exactly one SELECT`, 'not_single_statement');
  }
  return parsed.single;
}
