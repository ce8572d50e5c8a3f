import path from 'node:path';
import type { Config } from '../config';
import type { Logger } from '../shared/logger';
import type { Warehouse } from './types';

export type { Warehouse } from './types';

export interface CreateWarehouseDeps {
  dataDir: string;
  logger: Logger;
}

/**
 * Builds the configured warehouse. DuckDB takes the cross-process lock first, so a second role
 * process against the same file fails at boot with a message naming the fix. BigQuery uses
 * Application Default Credentials unless an API endpoint override (a local server) is configured.
 */
export async function createWarehouse(cfg: Config['warehouse'], deps: CreateWarehouseDeps): Promise<Warehouse> {
  // Adapters load on demand: a BigQuery process never loads DuckDB's native library, and vice versa.
  if (cfg.kind === 'duckdb') {
    const { DuckDbWarehouse } = require('./duckdb') as typeof import('./duckdb');
    // OFFBOARD_EXPORT_DIR (default DATA_DIR/exports) is the one directory the embedded instance may use besides its own files (see duckdb-lockdown.ts).
    const resources = {
      ...(cfg.duckdbMemoryLimit ? { memoryLimit: cfg.duckdbMemoryLimit } : {}),
      ...(cfg.duckdbMaxTempDirectorySize ? { maxTempDirectorySize: cfg.duckdbMaxTempDirectorySize } : {}),
    };
    const wh = await DuckDbWarehouse.open({ path: cfg.duckdbPath, exportsDir: cfg.exportDir, resources });
    deps.logger.info({ path: cfg.duckdbPath }, 'warehouse: duckdb opened');
    return wh;
  }
  if (!cfg.gcpProjectId) throw new Error('GCP_PROJECT_ID is required when WAREHOUSE=bigquery');
  const { BigQueryWarehouse } = require('./bigquery') as typeof import('./bigquery');
  const wh = await BigQueryWarehouse.create({
    projectId: cfg.gcpProjectId,
    location: cfg.bigqueryLocation,
    ...(cfg.bigqueryApiEndpoint ? { apiEndpoint: cfg.bigqueryApiEndpoint } : {}),
    logger: deps.logger,
    defaultMaxBytesBilled: cfg.platformMaxBytesBilled,
  });
  deps.logger.info({ projectId: cfg.gcpProjectId, location: cfg.bigqueryLocation }, 'warehouse: bigquery client ready');
  return wh;
}
