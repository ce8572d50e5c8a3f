import fs from 'node:fs';
import path from 'node:path';
import { WarehouseError } from './types';

/**
 * Where an offboarding export of the embedded warehouse may go: a `.parquet` file strictly inside the exports
 * directory (the one the lockdown allows, duckdb-lockdown.ts), its parent created here. The check is the
 * adapter's own, before DuckDB's: a destination elsewhere is refused with `access_denied` without asking the
 * engine, and DuckDB would refuse it anyway (external access is off outside that directory).
 */
export function exportFilePath(exportsDir: string | null, destination: string): string {
  if (exportsDir === null) throw new WarehouseError('This warehouse has no exports directory (OFFBOARD_EXPORT_DIR)', 'access_denied');
  const root = path.resolve(exportsDir) + path.sep;
  const file = path.resolve(destination);
  if (!file.startsWith(root) || path.extname(file) !== '.parquet' || /['\0]/.test(file)) {
    throw new WarehouseError('An export must be a .parquet file inside the exports directory', 'access_denied');
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  return file;
}

/** The COPY statement; the table name was validated and quoted by the caller, the path by exportFilePath. */
export const copyToParquetSql = (quotedTable: string, file: string): string => `COPY ${quotedTable} TO '${file}' (FORMAT PARQUET)`;
