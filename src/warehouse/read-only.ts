import { AppError } from '../shared/errors';

const WRITE_OR_SYSTEM = /\b(insert|update|delete|merge|drop|create|alter|truncate|copy|attach|detach|install|load|pragma|set|call|export|import|grant|revoke|begin|commit|rollback|vacuum|checkpoint)\b/i;
const FILE_FUNCTIONS = /\b(read_\w+|glob|sniff_csv|parquet_\w+|query_table|getenv)\s*\(/i;

/** Strips string literals and comments so keywords inside them do not count. */
const code = (sql: string): string =>
  sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/'(?:[^']|'')*'/g, "''")
    .replace(/"(?:[^"]|"")*"/g, '""');

/**
 * Admits only a single SELECT (or WITH … SELECT) statement without file or system functions: the admin
 * query endpoint exists to run the guide's SQL against the embedded warehouse, not to change it.
 */
export function assertReadOnlySql(sql: string): string {
  const trimmed = sql.trim().replace(/;\s*$/, '');
  const bare = code(trimmed);
  const reject = (why: string): never => {
    throw new AppError(422, 'VALIDATION_ERROR', `Only a single read-only SELECT is allowed: ${why}`, { errors: [{ field: 'sql', message: why }] });
  };
  if (!/^\s*(select|with)\b/i.test(bare)) reject('must start with SELECT or WITH');
  if (bare.includes(';')) reject('must be one statement');
  if (WRITE_OR_SYSTEM.test(bare)) reject('contains a statement that writes or changes settings');
  if (FILE_FUNCTIONS.test(bare)) reject('reads files or the environment');
  return trimmed;
}
