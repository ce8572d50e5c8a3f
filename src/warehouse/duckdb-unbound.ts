import type { DuckDBConnection } from '@duckdb/node-api';
import { READ_ONLY_TABLE_FUNCTIONS } from './duckdb-plan';
import { WarehouseError } from './types';

/**
 * What an operator statement would read, taken from DuckDB's parse tree before anything is bound.
 *
 * Binding already opens files: `read_csv` sniffs its file, `read_parquet` reads the schema, a glob lists a
 * directory, and a replacement scan (`FROM 'file.csv'`) does all of that for a name that is no table. In the
 * directories the lockdown allows (exports, temp) a binder error then quotes the file's header, and "no such file"
 * tells whether it exists. So before the statement is prepared, DuckDB serialises its parse tree
 * (`json_serialize_sql`, a parser round trip that binds nothing) and the sandbox refuses:
 *  - a text that does not serialise as a SELECT (PRAGMA, CALL, COPY, EXPORT, SET, DDL, DML) — not_read_only;
 *  - a table function of the catalog that is not a reader of tables, the catalog or its arguments (duckdb-plan.ts),
 *    and `query(…)` unless its argument is a literal whose own statement passes the same check — function_not_allowed;
 *  - a table name that is no table or view of the catalog and no CTE of the statement — not_found, without the
 *    replacement scan that would have read it as a file.
 * The bound plan is still checked after this (duckdb-plan.ts): views expand only there.
 */

interface Node {
  [key: string]: unknown;
}

interface TableName {
  catalog: string;
  schema: string;
  name: string;
}

/** A table name as written, with the CTE names in scope where it is written. */
interface TableRef extends TableName {
  ctes: ReadonlySet<string>;
}

interface Refs {
  functions: Array<{ name: string; args: unknown[] }>;
  tables: TableRef[];
}

/** query('…') inside query('…') at most this deep. */
const MAX_NESTING = 4;

const lower = (value: unknown): string => (typeof value === 'string' ? value.toLowerCase() : '');

/**
 * The table functions and table names of a parse tree, each name with the CTEs it can see — as DuckDB binds them:
 * a query's CTEs are visible in the rest of that query and in the queries nested in it, not outside it; a CTE's body
 * sees the CTEs defined before it (and of enclosing queries) but not itself, unless it is recursive. A name that is
 * a CTE where it is written is never read as a file; the same name elsewhere is checked against the catalog.
 */
function collect(root: unknown): Refs {
  const refs: Refs = { functions: [], tables: [] };
  const visit = (value: unknown, ctes: ReadonlySet<string>): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, ctes);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Node;
    let scope = ctes;
    if (node['type'] === 'RECURSIVE_CTE_NODE' && typeof node['cte_name'] === 'string') scope = new Set([...scope, lower(node['cte_name'])]);
    const cteMap = node['cte_map'] as { map?: Array<{ key?: unknown; value?: unknown }> } | undefined;
    for (const entry of cteMap?.map ?? []) {
      visit(entry.value, scope);
      scope = new Set([...scope, lower(entry.key)]);
    }
    if (node['type'] === 'TABLE_FUNCTION' && typeof node['function'] === 'object' && node['function'] !== null) {
      const fn = node['function'] as Node;
      refs.functions.push({ name: lower(fn['function_name']), args: Array.isArray(fn['children']) ? fn['children'] : [] });
    }
    if (node['type'] === 'BASE_TABLE') {
      refs.tables.push({ catalog: lower(node['catalog_name']), schema: lower(node['schema_name']), name: lower(node['table_name']), ctes: scope });
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'cte_map') visit(child, scope);
  };
  visit(root, new Set());
  return refs;
}

/** The text of a `query('…')` argument when it is one string literal; null otherwise. */
function literalText(args: unknown[]): string | null {
  const [arg] = args;
  if (args.length !== 1 || arg === null || typeof arg !== 'object') return null;
  const node = arg as { class?: unknown; value?: { is_null?: unknown; value?: unknown; type?: { id?: unknown } } };
  if (node.class !== 'CONSTANT' || node.value?.type?.id !== 'VARCHAR' || node.value.is_null) return null;
  return typeof node.value.value === 'string' ? node.value.value : null;
}

async function serialize(conn: DuckDBConnection, sql: string): Promise<{ error?: boolean; error_type?: string; error_message?: string; statements?: unknown[] }> {
  const reader = await conn.runAndReadAll('SELECT json_serialize_sql($sql::VARCHAR) AS tree', { sql });
  return JSON.parse(String(reader.getRows()[0]?.[0] ?? '{}')) as { error?: boolean; statements?: unknown[] };
}

async function catalogNames(conn: DuckDBConnection): Promise<TableName[]> {
  const reader = await conn.runAndReadAll(
    `SELECT lower(database_name), lower(schema_name), lower(table_name) FROM duckdb_tables()
     UNION ALL SELECT lower(database_name), lower(schema_name), lower(view_name) FROM duckdb_views()`,
  );
  return reader.getRows().map((r) => ({ catalog: String(r[0]), schema: String(r[1]), name: String(r[2]) }));
}

/** Leniently: a name that could resolve to some table or view (search path and default schema aside). */
function inCatalog(ref: TableRef, catalog: TableName[]): boolean {
  if (ref.catalog === '' && ref.schema === '' && ref.ctes.has(ref.name)) return true;
  return catalog.some((entry) => {
    if (entry.name !== ref.name) return false;
    if (ref.catalog !== '') return entry.catalog === ref.catalog && entry.schema === ref.schema;
    if (ref.schema !== '') return entry.schema === ref.schema || entry.catalog === ref.schema;
    return true;
  });
}

const displayName = (ref: TableName): string => [ref.catalog, ref.schema, ref.name].filter((part) => part !== '').join('.');

/** Refuses what binding `sql` would read or run beyond tables, views and the catalog (see above); binds nothing. */
export async function assertUnboundReadsOnly(conn: DuckDBConnection, sql: string, tableFunctions: ReadonlySet<string>, depth = 0): Promise<void> {
  const tree = await serialize(conn, sql);
  if (tree.error) {
    // Only SELECT statements serialise; anything else is refused before it is prepared (and bound).
    if (/only select/i.test(tree.error_message ?? '')) {
      if (depth > 0) throw new WarehouseError('query(…) runs a SELECT only here', 'function_not_allowed');
      throw new WarehouseError('Only a SELECT runs here; DuckDB does not parse this text as a SELECT query', 'not_read_only');
    }
    // A nested text that does not parse fails when the outer statement is prepared, before it reads anything.
    if (depth > 0) return;
    throw new WarehouseError(`The statement cannot be checked: ${tree.error_message ?? 'unknown parser error'}`, 'invalid_query');
  }
  const refs = collect(tree.statements);
  for (const fn of refs.functions) {
    if (fn.name === 'query') {
      const text = literalText(fn.args);
      if (text === null || depth >= MAX_NESTING) {
        throw new WarehouseError('query(…) takes one string literal here (its statement is checked like the outer one)', 'function_not_allowed');
      }
      await assertUnboundReadsOnly(conn, text, tableFunctions, depth + 1);
    } else if (!READ_ONLY_TABLE_FUNCTIONS.has(fn.name) && tableFunctions.has(fn.name)) {
      throw new WarehouseError(`Table function ${fn.name} is not available here: operator queries read tables, views and the catalog only`, 'function_not_allowed');
    }
  }
  if (refs.tables.length === 0) return;
  const catalog = await catalogNames(conn);
  const missing = refs.tables.find((ref) => !inCatalog(ref, catalog));
  if (missing) {
    throw new WarehouseError(
      `Catalog Error: Table with name ${displayName(missing)} does not exist (operator queries read tables, views and CTEs; a name that is none of them is not read as a file)`,
      'not_found',
    );
  }
}
