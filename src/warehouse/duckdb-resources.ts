import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * Memory and temp-disk caps of the embedded instance, set at open before its configuration is locked
 * (duckdb-lockdown.ts), so no statement can raise them. DuckDB's own defaults (80 % of RAM, 90 % of the free disk)
 * assume it has the machine to itself; here it shares the process with the API and the workers, and an operator
 * query shares the instance with the pipelines. A statement that needs more than the cap fails with DuckDB's
 * out-of-memory error (operators get 422 WAREHOUSE_ERROR); sorts, joins and aggregates spill to the temp directory
 * first.
 */
export interface DuckDbResourceLimits {
  /** DuckDB `memory_limit`, e.g. '4GiB' (DUCKDB_MEMORY_LIMIT). Default: half the memory the process may use. */
  memoryLimit?: string;
  /** DuckDB `max_temp_directory_size` (DUCKDB_MAX_TEMP_DIRECTORY_SIZE). Default: half the disk free at open. */
  maxTempDirectorySize?: string;
}

const MIB = 1024 ** 2;
const mib = (bytes: number): string => `${Math.max(64, Math.floor(bytes / MIB))}MiB`;

/** The memory this process may use: the machine's, or a lower container (cgroup) limit. */
function usableMemory(): number {
  const total = os.totalmem();
  const constrained = typeof process.constrainedMemory === 'function' ? process.constrainedMemory() : 0;
  return constrained !== undefined && constrained > 0 && constrained < total ? constrained : total;
}

/** Free space of the disk DuckDB spills to: the database's directory (its temp directory sits beside the file). */
function freeDisk(databasePath: string): number | null {
  try {
    const stats = fs.statfsSync(databasePath === ':memory:' ? process.cwd() : path.dirname(path.resolve(databasePath)));
    return stats.bavail * stats.bsize;
  } catch {
    return null;
  }
}

/** The caps to set; no temp cap when the free disk cannot be read (DuckDB's default then applies). */
export function resolveResourceLimits(databasePath: string, limits: DuckDbResourceLimits): { memoryLimit: string; maxTempDirectorySize: string | null } {
  const free = limits.maxTempDirectorySize === undefined ? freeDisk(databasePath) : null;
  return {
    memoryLimit: limits.memoryLimit ?? mib(usableMemory() / 2),
    maxTempDirectorySize: limits.maxTempDirectorySize ?? (free === null ? null : mib(free / 2)),
  };
}

const sqlString = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export async function applyResourceLimits(conn: DuckDBConnection, databasePath: string, limits: DuckDbResourceLimits): Promise<void> {
  const resolved = resolveResourceLimits(databasePath, limits);
  await conn.run(`SET GLOBAL memory_limit = ${sqlString(resolved.memoryLimit)}`);
  if (resolved.maxTempDirectorySize !== null) await conn.run(`SET GLOBAL max_temp_directory_size = ${sqlString(resolved.maxTempDirectorySize)}`);
}
