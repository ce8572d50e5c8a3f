/**
 * Warehouse-cost benchmark: BigQuery requests per run, counted at the local BigQuery REST server
 * (test/helpers/fake-bigquery) while runs are triggered and executed at the same time. The worker
 * uses the real BigQuery adapter; the log writer batches run, step and validation rows into
 * insertAll calls. Target: ≤ 3 insertAll requests per run and no DML at all.
 *
 *   npx tsx bench/warehouse-cost.ts        (REDIS_URL; BENCH_COST_RUNS, default 300)
 */
import type { FakeBigQueryStats } from '../test/helpers/fake-bigquery/server';
import { createTestBigQuery } from '../test/helpers/warehouse';
import { startBenchSystem, until } from './support';

export interface WarehouseCostResult {
  runs: number;
  completed: number;
  insertAllPerRun: number;
  insertedRowsPerRun: number;
  /** Every request kind per run (metadata gets, query jobs, result polls, …). */
  requestsPerRun: number;
  queryJobsPerRun: number;
  dml: number;
  dmlByKind: Record<string, number>;
  stats: FakeBigQueryStats;
}

const RUNS = Number(process.env.BENCH_COST_RUNS ?? 300);

export async function runWarehouseCostBench(log: (line: string) => void = () => undefined): Promise<WarehouseCostResult> {
  const bq = await createTestBigQuery();
  // The production default flush interval (500 ms), so batching is what a deployment would get.
  const bench = await startBenchSystem({ warehouse: bq.warehouse, env: { WORKER_CONCURRENCY: '10' } });
  try {
    const { system } = bench;
    await system.start('worker');
    bq.server.resetStats();
    log(`warehouse cost: ${RUNS} dryrun runs against the local BigQuery server, triggered while the worker runs`);
    await bench.triggerMany(RUNS, 0, 25);
    let completed = 0;
    await until('every run to finish', async () => {
      const counts = await system.runs.queue.getJobCounts('completed', 'failed');
      completed = counts.completed ?? 0;
      return completed + (counts.failed ?? 0) >= RUNS;
    }, 300_000, 50);
    await system.logWriter.flush();
    const stats = bq.server.stats();
    return {
      runs: RUNS,
      completed,
      insertAllPerRun: stats.insertAll / RUNS,
      insertedRowsPerRun: stats.insertedRows / RUNS,
      requestsPerRun: stats.requests / RUNS,
      queryJobsPerRun: (stats.queryJobs + stats.jobsQuery) / RUNS,
      dml: stats.dml,
      dmlByKind: stats.dmlByKind,
      stats,
    };
  } finally {
    await bench.close();
    await bq.cleanup();
  }
}

if (require.main === module) {
  runWarehouseCostBench((line) => console.error(line))
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
