import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Which table functions a bound DuckDB plan calls.
 *
 * DuckDB has no per-connection privileges, and a few table functions change the whole instance even inside a
 * read-only transaction with the configuration locked: `enable_logging(storage := 'file', …)` redirects the
 * instance's log to a path it may not write and aborts the process, `checkpoint()` flushes the WAL,
 * `truncate_duckdb_logs()` clears the log. They are SELECT statements all the same. So the operator sandbox
 * reads the physical plan DuckDB bound for the statement — after views, `query('…')` strings and
 * replacement scans were expanded, so nothing can hide inside a string — and runs it only if every table
 * function in it is one of the readers below (deny by default; an unknown function is refused).
 */

/** Table functions that only read tables, the catalog or their arguments. */
export const READ_ONLY_TABLE_FUNCTIONS: ReadonlySet<string> = new Set([
  'seq_scan', 'range', 'generate_series', 'unnest', 'repeat', 'repeat_row', 'json_each', 'json_tree',
  'duckdb_columns', 'duckdb_constraints', 'duckdb_databases', 'duckdb_dependencies', 'duckdb_functions',
  'duckdb_indexes', 'duckdb_keywords', 'duckdb_schemas', 'duckdb_sequences', 'duckdb_tables', 'duckdb_types',
  'duckdb_views', 'duckdb_settings', 'duckdb_optimizers', 'pragma_table_info', 'table_info', 'pragma_show',
  'show', 'show_tables', 'show_tables_expanded', 'show_databases', 'summary', 'pragma_version', 'version',
  'pragma_platform', 'platform', 'pragma_collations', 'collations', 'pg_timezone_names', 'icu_calendar_names',
]);

interface PlanNode {
  name?: unknown;
  children?: unknown;
  extra_info?: { Function?: unknown };
}

/** Every table function name the engine knows, lower-case (read once per connection: the catalog of functions is fixed once extensions cannot load). */
export async function tableFunctionNames(conn: DuckDBConnection): Promise<ReadonlySet<string>> {
  const reader = await conn.runAndReadAll(`SELECT DISTINCT lower(function_name) FROM duckdb_functions() WHERE function_type = 'table'`);
  return new Set(reader.getRows().map((r) => String(r[0])));
}

/**
 * Table functions in an `EXPLAIN (FORMAT json)` plan that are not read-only. A node is a table function call when
 * DuckDB labels it with `Function`, or when its operator name is a table function of the catalog (functions
 * with a custom label, such as `seq_scan`, keep their name as the operator name).
 */
export function disallowedTableFunctions(planJson: string, known: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  const visit = (node: PlanNode): void => {
    const label = typeof node.extra_info?.Function === 'string' ? node.extra_info.Function.toLowerCase() : null;
    const name = typeof node.name === 'string' ? node.name.trim().toLowerCase() : '';
    for (const fn of [label, known.has(name) ? name : null]) {
      if (fn !== null && !READ_ONLY_TABLE_FUNCTIONS.has(fn)) found.add(fn);
    }
    if (Array.isArray(node.children)) for (const child of node.children) visit(child as PlanNode);
  };
  const roots: unknown = JSON.parse(planJson);
  for (const root of Array.isArray(roots) ? roots : [roots]) visit(root as PlanNode);
  return [...found].sort();
}
