import { lexBigQuery } from '../warehouse/sql-lexer';

/**
 * The `@name` parameters a SQL text uses, in first-use order, read with the warehouse's BigQuery lexer (so
 * `'ops@example.com'`, `` `a@b` ``, comments and `@@system_variables` are not parameters, exactly as the
 * DuckDB translation sees them). The executor binds exactly these names: DuckDB rejects values for
 * parameters a statement does not have. Malformed SQL (an unclosed string…) throws an `invalid_query` error.
 */
export function sqlParamNames(sql: string): string[] {
  const names = lexBigQuery(sql).flatMap((t) => (t.kind === 'param' && t.value !== undefined ? [t.value] : []));
  return [...new Set(names)];
}

const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;

/** The `{placeholder}` names a text uses (anywhere, literals included: that is where they are meant to go). */
export function placeholderNames(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))];
}

/** Replaces every `{name}` with `values[name]`; the caller checked beforehand that each is known. */
export function replacePlaceholders(text: string, values: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}
