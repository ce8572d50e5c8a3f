/**
 * Worker path, I/O-bound: runs that spend their time waiting on the warehouse, as on BigQuery. N one-step runs
 * (`gcp/cost/query_bench`: one query job each) are queued while the run queue is paused; then ONE worker
 * process (`node dist/main.js worker`, WORKER_CONCURRENCY=C, BigQuery adapter) starts against the local
 * BigQuery REST server, on which every query job takes L ms before it is DONE. The clock runs from the queue's
 * resume until every run is COMPLETED and its COMPLETED row is in the warehouse view x_meta_pipeline_runs.
 *
 * Ideal: C runs in flight all the time, each taking exactly L: C / L runs/s. Ratio = ours / ideal.
 * CPU ms per run: the worker process's own CPU (/proc/<pid>/stat, every thread) over the timed window; the
 * fake server, Redis and this process are not in it. Redis commands per run: INFO commandstats delta over the
 * same window, on a redis-server of its own (AOF on; every client counts: the idle API process and this
 * process's progress polls are in it, a few %).
 *
 *   npx tsx bench/worker-io.ts   (redis-server on PATH; BENCH_IO_RUNS 2000, BENCH_IO_CONCURRENCY 100, BENCH_IO_LATENCY_MS 500,
 *                                 BENCH_IO_PROFILE=<dir> for a CPU profile of the worker)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import { PIPELINE_RUNS_QUEUE } from '../src/queues/pipeline-runs';
import { readRedisCounters } from './redis-cost';
import { closeRedis, createRedis } from '../src/redis/connection';
import { RedisKeys } from '../src/redis/keys';
import { callApi, createCluster, onboardTenant, startFakeBigQuery, startPrivateRedis } from '../test/helpers/processes';
import { BENCH_PLAN, BENCH_TENANT, QUERY_BENCH_TEMPLATE, UNTHROTTLED_ENV, benchConfigs, cpuMsOf, redisCommandCount, rssOf, until } from './support';

export interface WorkerIoResult {
  runs: number;
  concurrency: number;
  jobLatencyMs: number;
  oursRunsPerSec: number;
  idealRunsPerSec: number;
  ratio: number;
  seconds: number;
  completed: number;
  failed: number;
  /** COMPLETED rows in the warehouse view x_meta_pipeline_runs (must equal `runs`). */
  warehouseRunRows: number;
  workerCpuMsPerRun: number;
  redisCommandsPerRun: number;
  /** Query jobs the server saw in the window (one per run expected). */
  queryJobs: number;
  /** Most query jobs RUNNING at once on the server (the worker keeps up to `concurrency` in flight). */
  peakJobsInFlight: number;
  /** CPU of this process (the fake BigQuery server and the progress polls) per run, ms. */
  serverCpuMsPerRun: number;
  /** Share of every core busy during the window, all processes (other work on the machine included). */
  machineBusyPct: number;
  /** Median duration_ms of the runs (from start to end inside the worker; the job itself is jobLatencyMs). */
  runDurationP50Ms: number;
  /** Median time the worker held a job (BullMQ processedOn → finishedOn): the run plus the Redis bookkeeping around it. */
  jobHeldP50Ms: number;
  /** Peak resident set size of the worker process, MB. */
  workerRssMb: number;
}

const RUNS = Number(process.env.BENCH_IO_RUNS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_IO_CONCURRENCY ?? 100);
const LATENCY_MS = Number(process.env.BENCH_IO_LATENCY_MS ?? 500);

/** Busy and total jiffies of all cores (/proc/stat). */
function machineCpu(): { busy: number; total: number } {
  const cpu = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total };
}

async function triggerAll(apiUrl: string, apiKey: string, parallel = 50): Promise<void> {
  const route = `/api/v1/pipelines/run/${BENCH_TENANT}/${QUERY_BENCH_TEMPLATE.provider}/${QUERY_BENCH_TEMPLATE.domain}/${QUERY_BENCH_TEMPLATE.name}`;
  for (let start = 0; start < RUNS; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, RUNS - start) }, (_, i) => callApi(apiUrl, 'POST', route, { apiKey, body: { n: start + i } }));
    for (const res of await Promise.all(batch)) if (res.status !== 202) throw new Error(`trigger answered ${res.status} ${JSON.stringify(res.body)}`);
  }
}

export async function runWorkerIoBench(log: (line: string) => void = () => undefined): Promise<WorkerIoResult> {
  // A Redis of its own: INFO commandstats then counts this benchmark only (the shared one serves other work).
  const redis = await startPrivateRedis();
  const bigquery = await startFakeBigQuery({ jobLatencyMs: LATENCY_MS });
  const configs = benchConfigs();
  log('worker path, I/O-bound: building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: path.resolve(__dirname, '..'), stdio: 'ignore' });
  const cluster = createCluster({
    bigquery,
    redis: { kind: 'standalone', url: redis.url },
    compiled: true,
    env: { CONFIGS_DIR: configs.dir, ...UNTHROTTLED_ENV, WORKER_CONCURRENCY: String(CONCURRENCY) },
  });
  const connection = createRedis(redis.url, { forBullMQ: true });
  const queue = new Queue(PIPELINE_RUNS_QUEUE, { connection, prefix: new RedisKeys(cluster.prefix).bullPrefix });
  try {
    const api = await cluster.start('api');
    const apiKey = await onboardTenant(api, cluster.adminKey, BENCH_TENANT, BENCH_PLAN);
    await queue.pause();
    log(`worker path, I/O-bound: queueing ${RUNS} one-query runs (queue paused)`);
    await triggerAll(api.url, apiKey);
    // BENCH_IO_PROFILE=<dir>: the worker writes a V8 CPU profile there when it stops (node --cpu-prof).
    const profileDir = process.env.BENCH_IO_PROFILE;
    const worker = await cluster.start('worker', {}, profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
    log(`worker path, I/O-bound: one worker process, concurrency ${CONCURRENCY}, every query job ${LATENCY_MS} ms`);
    bigquery.server.resetStats();
    const cpu0 = cpuMsOf(worker.pid);
    const benchCpu0 = process.cpuUsage();
    const machine0 = machineCpu();
    const commands0 = await redisCommandCount(redis.url);
    const byCommand0 = process.env.BENCH_IO_DEBUG ? await readRedisCounters(redis.url) : null;
    const started = process.hrtime.bigint();
    await queue.resume();
    let counts: Record<string, number> = {};
    await until('every run to finish', async () => {
      counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0) >= RUNS;
    }, 600_000, 100);
    let warehouseRunRows = 0;
    await until('every COMPLETED run row in the warehouse', async () => {
      const { rows } = await bigquery.duckdb.query(`SELECT count(*) AS n FROM \`${BENCH_TENANT}.x_meta_pipeline_runs\` WHERE status = 'COMPLETED'`);
      warehouseRunRows = Number(rows[0]?.['n'] ?? 0);
      return warehouseRunRows >= (counts.completed ?? 0);
    }, 60_000, 100);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuMs = cpuMsOf(worker.pid) - cpu0;
    const benchCpu = process.cpuUsage(benchCpu0);
    const machine1 = machineCpu();
    const commands = (await redisCommandCount(redis.url)) - commands0;
    const workerRssMb = rssOf(worker.pid).peakMb;
    if (profileDir) {
      worker.kill('SIGTERM');
      await worker.exited;
    }
    const ours = RUNS / seconds;
    const { rows: durations } = await bigquery.duckdb.query(`SELECT median(duration_ms) AS p50 FROM \`${BENCH_TENANT}.x_meta_pipeline_runs\` WHERE status = 'COMPLETED'`);
    const stats = bigquery.server.stats();
    // How long the worker held each job (BullMQ processedOn → finishedOn): the run plus its bookkeeping before and after.
    const held = (await queue.getJobs(['completed'], 0, RUNS)).map((j) => (j.finishedOn ?? 0) - (j.processedOn ?? 0)).sort((a, b) => a - b);
    if (byCommand0) {
      // Redis commands per run by name (BullMQ's scripts show as evalsha, ours too).
      const { calls } = await readRedisCounters(redis.url);
      const perRun = Object.entries(calls).map(([name, n]) => [name, (n - (byCommand0.calls[name] ?? 0)) / RUNS] as const).filter(([, n]) => n > 0.01);
      log(JSON.stringify(Object.fromEntries(perRun.sort((a, b) => b[1] - a[1]))));
      const bySql: Record<string, number> = {};
      for (const r of bigquery.server.requests) {
        const sql = (r.body as { configuration?: { query?: { query?: string } } }).configuration?.query?.query;
        const key = `${r.kind} ${sql ? sql.slice(0, 60) : ''}`;
        bySql[key] = (bySql[key] ?? 0) + 1;
      }
      log(JSON.stringify(bySql, null, 1));
    }
    const ideal = (CONCURRENCY * 1000) / LATENCY_MS;
    return {
      runs: RUNS,
      concurrency: CONCURRENCY,
      jobLatencyMs: LATENCY_MS,
      oursRunsPerSec: ours,
      idealRunsPerSec: ideal,
      ratio: ours / ideal,
      seconds,
      completed: counts.completed ?? 0,
      failed: counts.failed ?? 0,
      warehouseRunRows,
      workerCpuMsPerRun: cpuMs / RUNS,
      redisCommandsPerRun: commands / RUNS,
      queryJobs: stats.queryJobs,
      peakJobsInFlight: stats.peakRunningJobs,
      serverCpuMsPerRun: (benchCpu.user + benchCpu.system) / 1000 / RUNS,
      machineBusyPct: (100 * (machine1.busy - machine0.busy)) / Math.max(1, machine1.total - machine0.total),
      runDurationP50Ms: Number(durations[0]?.['p50'] ?? 0),
      jobHeldP50Ms: held[Math.floor(held.length / 2)] ?? 0,
      workerRssMb,
    };
  } finally {
    await queue.close();
    await closeRedis(connection);
    await cluster.close();
    await bigquery.close();
    await redis.close();
    configs.cleanup();
  }
}

if (require.main === module) {
  runWorkerIoBench((line) => console.error(line))
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
