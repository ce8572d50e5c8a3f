import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Instance-wide isolation of the embedded warehouse, applied once at open, after the boot setup (time zone,
 * macros, memory and temp-space caps: duckdb-resources.ts) and before any query from outside runs.
 *
 * `enable_external_access`, `allowed_directories` and `lock_configuration` are global settings in DuckDB: they
 * cannot be scoped to one connection. So the whole instance runs with external access off — the operator
 * sandbox needs it, and it is defence in depth for pipeline templates, which never read or write files either.
 * With it off, DuckDB refuses every file, glob, URL, ATTACH of a file, COPY, EXPORT, INSTALL and LOAD, except
 * the database file itself, its temporary directory, and the directories allowed here. Only `exportsDir` can be
 * allowed (tenant offboarding will write Parquet there) — never the data directory itself, which holds
 * `keyring.json` and `admin-key`. `lock_configuration` then freezes every setting, these included, so no
 * statement on any connection (`SET`, `RESET`, `PRAGMA`) can turn them back.
 */
export interface LockdownOptions {
  /** Database file, or ':memory:'. */
  databasePath: string;
  /** The one directory the instance may read and write besides its own files (tenant exports). */
  exportsDir?: string;
}

const sqlString = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export function allowedDirectories(options: LockdownOptions): string[] {
  if (options.exportsDir === undefined) return [];
  const dir = path.resolve(options.exportsDir) + path.sep;
  if (options.databasePath !== ':memory:' && (path.resolve(path.dirname(options.databasePath)) + path.sep).startsWith(dir)) {
    // An allowed directory holding the database would also hold its neighbours (the keyring, the admin key).
    throw new Error(`The DuckDB exports directory ${options.exportsDir} must not contain the database file; use a subdirectory such as DATA_DIR/exports`);
  }
  return [dir];
}

export async function lockDown(conn: DuckDBConnection, options: LockdownOptions): Promise<void> {
  const dirs = allowedDirectories(options);
  // Extensions are linked in (json, parquet, icu); nothing may be fetched or loaded from disk at query time.
  await conn.run('SET GLOBAL autoinstall_known_extensions = false');
  await conn.run('SET GLOBAL autoload_known_extensions = false');
  // Must precede enable_external_access = false: DuckDB refuses to change the list afterwards.
  await conn.run(`SET GLOBAL allowed_directories = [${dirs.map(sqlString).join(', ')}]`);
  await conn.run('SET GLOBAL enable_external_access = false');
  await conn.run('SET GLOBAL lock_configuration = true');
}
