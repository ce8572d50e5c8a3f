import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { BigQueryWarehouse, localAuthClient } from '../../src/warehouse/bigquery';
import type { RetryPolicy } from '../../src/warehouse/bigquery-errors';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { FakeBigQueryServer } from './fake-bigquery/server';
import type { FakeBigQueryOptions } from './fake-bigquery/server';
import type { Warehouse } from '../../src/warehouse/types';

export interface TestWarehouse {
  warehouse: Warehouse;
  /** Closes the warehouse and removes its files. */
  cleanup(): Promise<void>;
}

/** A DuckDB warehouse in a fresh temporary file, private to one test (or one describe block). */
export async function createTestDuckDb(options: { poolSize?: number; exportsDir?: string } = {}): Promise<TestWarehouse & { warehouse: DuckDbWarehouse; dir: string }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cv-wh-${randomBytes(3).toString('hex')}-`));
  const warehouse = await DuckDbWarehouse.open({
    path: path.join(dir, 'warehouse.duckdb'),
    poolSize: options.poolSize ?? 4,
    ...(options.exportsDir ? { exportsDir: options.exportsDir } : {}),
  });
  return {
    warehouse,
    dir,
    async cleanup() {
      await warehouse.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestBigQuery extends TestWarehouse {
  warehouse: BigQueryWarehouse;
  server: FakeBigQueryServer;
}

/**
 * The BigQuery adapter talking to a local fake BigQuery server (which runs the queries on its own
 * DuckDB file). `server.stats()` counts requests by kind; `failNext(n)` injects 5xx answers.
 */
export async function createTestBigQuery(options: { retry?: RetryPolicy } & FakeBigQueryOptions = {}): Promise<TestBigQuery> {
  const backing = await createTestDuckDb(options.gcsDir ? { exportsDir: options.gcsDir } : {});
  const server = await new FakeBigQueryServer(backing.warehouse, undefined, undefined, options).start();
  const warehouse = await BigQueryWarehouse.create({
    projectId: server.projectId,
    location: server.location,
    apiEndpoint: server.url,
    authClient: localAuthClient(),
    retry: options.retry ?? { attempts: 4, baseDelayMs: 5 },
  });
  return {
    warehouse,
    server,
    async cleanup() {
      await warehouse.close();
      await server.stop();
      await backing.cleanup();
    },
  };
}
