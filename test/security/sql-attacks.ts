import type { ErrorCode } from '../../src/shared/errors';

/**
 * Attacks on the operator SQL sandbox (issue 9, part 1): the ones reported, verbatim, then variants. Each names the
 * 422 code it must get and, where it would write, the path that must stay absent. `dataDir` holds the keyring;
 * `out` is a fresh path prefix under the temporary directory.
 */
export interface SqlAttack {
  sql: string;
  code: ErrorCode;
  /** A path the attack would create if it ran. */
  writes?: string;
}

export function sqlAttacks(dataDir: string, out: string): SqlAttack[] {
  const keyring = `${dataDir}/keyring.json`;
  return [
    // Reported in the issue. A name that is no table, view or CTE is answered "does not exist" from the parse tree,
    // before DuckDB's replacement scan could open it as a file (duckdb-unbound.ts).
    { sql: `SELECT * FROM '${keyring}'`, code: 'WAREHOUSE_ERROR' },
    // In BigQuery SQL (what the endpoint speaks) "read_text" is a string literal, so these are not even valid
    // queries; their backtick spellings below are the identifier form and reach the sandbox itself.
    { sql: `SELECT * FROM "read_text"('/etc/hostname')`, code: 'WAREHOUSE_ERROR' },
    // '' inside a literal is two literals in BigQuery (refused by the translation); the double-quoted string carries it.
    { sql: `SELECT * FROM query('SELECT * FROM read_text(''${keyring}'')')`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM query("SELECT * FROM read_text('${keyring}')")`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT * FROM "read_csv"('/etc/passwd')`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM "glob"('/root/*')`, code: 'WAREHOUSE_ERROR' },
    { sql: "SELECT * FROM `read_text`('/etc/hostname')", code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: "SELECT * FROM `read_csv`('/etc/passwd')", code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: "SELECT * FROM `glob`('/root/*')", code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT '--' AS a; COPY (SELECT * FROM tenants.tenant_profiles) TO '${out}-copy.csv'`, code: 'SQL_NOT_SINGLE_STATEMENT', writes: `${out}-copy.csv` },
    { sql: 'CREATE SCHEMA pwned', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'SET enable_external_access = true', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'PRAGMA threads = 1', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'PRAGMA enable_profiling', code: 'SQL_NOT_READ_ONLY' },
    { sql: `CALL enable_logging(storage := 'file', storage_path := '${out}-logs')`, code: 'SQL_NOT_READ_ONLY', writes: `${out}-logs` },
    { sql: `ATTACH '${out}-attach.duckdb' AS evil`, code: 'SQL_NOT_READ_ONLY', writes: `${out}-attach.duckdb` },
    { sql: 'INSTALL httpfs', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'LOAD httpfs', code: 'SQL_NOT_READ_ONLY' },
    // Only a SELECT serialises as a parse tree, so EXPORT, COPY and CREATE are refused before anything is bound.
    { sql: `EXPORT DATABASE '${out}-export'`, code: 'SQL_NOT_READ_ONLY', writes: `${out}-export` },
    // Quoting and qualified names.
    { sql: `SELECT * FROM "READ_TEXT"('/etc/hostname')`, code: 'WAREHOUSE_ERROR' },
    { sql: "SELECT * FROM `READ_TEXT`('/etc/hostname')", code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT * FROM system.main.read_text('${keyring}')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    // Comments that hide a statement boundary from a lexer (DuckDB's parser sees it).
    { sql: `/* c */ COPY (SELECT 1) TO '${out}-comment.csv'`, code: 'SQL_NOT_READ_ONLY', writes: `${out}-comment.csv` },
    { sql: `SELECT 1 -- ; harmless\n; COPY (SELECT 1) TO '${out}-line.csv'`, code: 'SQL_NOT_SINGLE_STATEMENT', writes: `${out}-line.csv` },
    { sql: 'SELECT 1 /* ; */ ; DROP SCHEMA tenants CASCADE', code: 'SQL_NOT_SINGLE_STATEMENT' },
    { sql: 'SELECT 1 # BigQuery comment\n; DROP SCHEMA tenants CASCADE', code: 'SQL_NOT_SINGLE_STATEMENT' },
    // Dollar-quoted strings.
    // DuckDB's $$ strings are not BigQuery SQL: the translation refuses them before DuckDB's parser sees them.
    { sql: `SELECT $$'$$ AS a; COPY (SELECT 1) TO '${out}-dollar.csv'; --'`, code: 'WAREHOUSE_ERROR', writes: `${out}-dollar.csv` },
    { sql: `SELECT * FROM read_text($k$${keyring}$k$)`, code: 'WAREHOUSE_ERROR' },
    // Unicode look-alikes and escapes.
    { sql: `ＳＥＬＥＣＴ * FROM read_text('/etc/hostname')`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM reаd_text('/etc/hostname')`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM U&"read\\005ftext"('/etc/hostname')`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM read_text(E'\\x2fetc\\x2fpasswd')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT * FROM read_text(chr(47) || 'etc/passwd')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    // CTEs and subqueries wrapping file reads.
    { sql: `WITH k AS (SELECT * FROM read_text('${keyring}')) SELECT * FROM k`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT 1 AS a WHERE EXISTS (SELECT * FROM read_blob('${keyring}'))`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    // Other readers, table functions via FROM, the environment, remote files, extensions. File readers are refused
    // from the parse tree, before binding could open a file (in an allowed directory it would have).
    { sql: `SELECT * FROM query_table('${keyring}')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: "SELECT getenv('ADMIN_API_KEY') AS k", code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM read_blob('${keyring}')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT * FROM parquet_scan('${keyring}')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT * FROM read_json('${keyring}')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `FROM read_text('${keyring}')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: `SELECT * FROM sqlite_scan('${out}-x.db', 't')`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM 'https://example.com/data.csv'`, code: 'WAREHOUSE_ERROR' },
    { sql: `SELECT * FROM read_csv('s3://bucket/data.csv')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    // Macros.
    { sql: `CREATE MACRO m() AS TABLE SELECT * FROM read_text('${keyring}')`, code: 'SQL_NOT_READ_ONLY' },
    { sql: 'CREATE TEMP MACRO m2(x) AS x + 1', code: 'SQL_NOT_READ_ONLY' },
    // PIVOT without an IN list expands to several statements (an enum type, then the query).
    { sql: 'PIVOT tenants.tenant_profiles ON status', code: 'SQL_NOT_SINGLE_STATEMENT' },
    { sql: `PIVOT (SELECT * FROM read_text('${keyring}')) ON filename`, code: 'SQL_NOT_SINGLE_STATEMENT' },
    // SELECTs whose table functions change the instance.
    { sql: `SELECT * FROM enable_logging(storage := 'file', storage_path := '${out}-logs2')`, code: 'SQL_FUNCTION_NOT_ALLOWED', writes: `${out}-logs2` },
    { sql: `SELECT * FROM query('SELECT * FROM enable_logging()')`, code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: 'SELECT * FROM checkpoint()', code: 'SQL_FUNCTION_NOT_ALLOWED' },
    { sql: 'SELECT * FROM duckdb_secrets()', code: 'SQL_FUNCTION_NOT_ALLOWED' },
    // Transactions and writes.
    { sql: 'COMMIT', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'ROLLBACK; DROP SCHEMA tenants CASCADE', code: 'SQL_NOT_SINGLE_STATEMENT' },
    { sql: 'EXPLAIN ANALYZE DELETE FROM tenants.tenant_profiles_events', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'DELETE FROM tenants.tenant_profiles_events', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'DROP SCHEMA acme_corp CASCADE', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'CHECKPOINT', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'USE system', code: 'SQL_NOT_READ_ONLY' },
    { sql: 'SET VARIABLE x = 1', code: 'SQL_NOT_READ_ONLY' },
    { sql: '  -- a comment and nothing else', code: 'SQL_NOT_SINGLE_STATEMENT' },
  ];
}
