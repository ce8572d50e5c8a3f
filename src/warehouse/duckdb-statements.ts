import { StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBExtractedStatements, DuckDBPreparedStatement } from '@duckdb/node-api';
import { WarehouseError } from './types';

/** How DuckDB's own parser reads a text: how many statements, and the type of a single one (prepared, not run). */

export interface ParsedText {
  count: number;
  /** The statement, prepared, when the text holds exactly one; the caller destroys it. */
  single: DuckDBPreparedStatement | null;
}

/** The statements of a text as DuckDB's parser splits it (nothing bound yet); null for a text without any. */
async function extract(conn: DuckDBConnection, sql: string): Promise<DuckDBExtractedStatements | null> {
  try {
    return await conn.extractStatements(sql);
  } catch (err) {
    // A parser error arrives prefixed "Failed to extract statements:"; a text with no statement at all (blank,
    // comments only) makes the binding throw without any message of DuckDB's.
    if (err instanceof Error && err.message.startsWith('Failed to extract statements:')) throw err;
    return null;
  }
}

export async function parseText(conn: DuckDBConnection, sql: string): Promise<ParsedText> {
  const extracted = await extract(conn, sql);
  if (extracted === null) return { count: 0, single: null };
  if (extracted.count !== 1) return { count: extracted.count, single: null };
  return { count: 1, single: await extracted.prepare(0) };
}

export const statementTypeName = (type: StatementType): string => StatementType[type] ?? `statement type ${type}`;

/**
 * Exactly one statement, or a `not_single_statement` refusal, split by the parser and not bound yet: the answer
 * prepares it (which binds it), so a caller can check the parse tree first.
 */
export async function extractSingle(conn: DuckDBConnection, sql: string): Promise<() => Promise<DuckDBPreparedStatement>> {
  const extracted = await extract(conn, sql);
  const count = extracted?.count ?? 0;
  if (extracted === null || count !== 1) {
    const why = count === 0 ? 'The text holds no SQL statement' : `The text holds ${count} statements`;
    throw new WarehouseError(`${why}; send exactly one SELECT`, 'not_single_statement');
  }
  return () => extracted.prepare(0);
}

/** Exactly one statement, prepared, or a `not_single_statement` refusal. */
export async function prepareSingle(conn: DuckDBConnection, sql: string): Promise<DuckDBPreparedStatement> {
  return (await extractSingle(conn, sql))();
}
