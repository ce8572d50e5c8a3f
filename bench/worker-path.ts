/**
 * Worker-path benchmark: N one-step runs (the dryrun template) are admitted and queued, then the
 * pipeline worker starts and the clock runs until every run is COMPLETED and its run/step/validation
 * rows are flushed to the warehouse (embedded DuckDB, as `npm start` uses). Baseline: a bare BullMQ
 * worker with a no-op processor over N queued jobs, same Redis, same concurrency.
 *
 *   npx tsx bench/worker-path.ts           (REDIS_URL; BENCH_RUNS, default 1000; BENCH_WORKER_PROFILE=<file.cpuprofile>
 *                                           for a V8 CPU profile of the timed window only)
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import inspector from 'node:inspector';
import { Queue, Worker } from 'bullmq';
import { createRedis, closeRedis } from '../src/redis/connection';
import type { Warehouse } from '../src/warehouse/types';
import { createTestDuckDb } from '../test/helpers/warehouse';
import { BENCH_TENANT, cpuMsOf, dropPrefix, REDIS_URL, startBenchSystem, until } from './support';

export interface WorkerPathResult {
  runs: number;
  concurrency: number;
  oursRunsPerSec: number;
  baselineJobsPerSec: number;
  ratio: number;
  completed: number;
  failed: number;
  /** Run rows in the warehouse view after the flush (must equal `runs`). */
  warehouseRunRows: number;
  /** CPU of this whole process per run, ms: our code, V8's helper threads and DuckDB's own execution. */
  processCpuMsPerRun: number;
  /**
   * CPU of the JavaScript thread per run, ms: the worker, executor, log writer, ioredis, BullMQ and the JS side
   * of DuckDB calls (binding, result conversion). DuckDB executes statements on its own and libuv's threads,
   * which are not in it: this is the figure "excluding the warehouse's own execution" (target ≤ 1.5 ms).
   */
  mainThreadCpuMsPerRun: number;
  /**
   * The same warehouse calls the runs made (recorded during the run, same arguments and batches), replayed
   * one after another with nothing else going on: CPU per run, ms. The warehouse's own cost.
   */
  bareWarehouseCpuMsPerRun: number;
  /** processCpuMsPerRun − bareWarehouseCpuMsPerRun: the worker's CPU per run excluding the warehouse (target ≤ 1.5 ms). */
  cpuMsPerRunExclWarehouse: number;
  /** The replay's JavaScript-thread CPU per run, ms: the warehouse adapter and DuckDB binding's share of that thread. */
  bareWarehouseMainThreadCpuMsPerRun: number;
  /**
   * mainThreadCpuMsPerRun − bareWarehouseMainThreadCpuMsPerRun: the JavaScript thread's CPU per run outside the
   * warehouse calls. Steadier than cpuMsPerRunExclWarehouse: DuckDB's own threads, whose share swings with the
   * machine's load, are in neither term.
   */
  mainThreadCpuMsPerRunExclWarehouse: number;
}

interface Recorded {
  method: string;
  args: unknown[];
}

/** The warehouse, recording every call made while `on` (the bare-query baseline replays them). */
function recording(warehouse: Warehouse): { warehouse: Warehouse; calls: Recorded[]; on: boolean } {
  const state = { calls: [] as Recorded[], on: false, warehouse };
  state.warehouse = new Proxy(warehouse, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (state.on) state.calls.push({ method: String(prop), args });
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return state;
}

/** A V8 CPU profile of this process from now until the returned function is called (written to `file`). */
async function profileWindow(file: string | undefined): Promise<() => Promise<void>> {
  if (!file) return async () => undefined;
  const session = new inspector.Session();
  session.connect();
  const post = (method: string): Promise<unknown> => new Promise((resolve, reject) => session.post(method, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async () => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

/** Replays recorded calls one by one; returns the CPU they took (process, and the JavaScript thread alone), ms. */
async function replayCpuMs(warehouse: Warehouse, calls: Recorded[]): Promise<{ processMs: number; mainThreadMs: number }> {
  const cpu0 = process.cpuUsage();
  const main0 = cpuMsOf(process.pid, process.pid);
  for (const call of calls) {
    const fn = (warehouse as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[call.method];
    await fn?.apply(warehouse, call.args);
  }
  const cpu = process.cpuUsage(cpu0);
  return { processMs: (cpu.user + cpu.system) / 1000, mainThreadMs: cpuMsOf(process.pid, process.pid) - main0 };
}

const RUNS = Number(process.env.BENCH_RUNS ?? 1000);
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 5);

async function timeOurs(): Promise<{ perSec: number; completed: number; failed: number; warehouseRunRows: number; processCpuMs: number; mainThreadCpuMs: number; bareWarehouseCpuMs: { processMs: number; mainThreadMs: number } }> {
  const duck = await createTestDuckDb();
  const recorder = recording(duck.warehouse);
  const bench = await startBenchSystem({ warehouse: recorder.warehouse, env: { WORKER_CONCURRENCY: String(CONCURRENCY) } });
  try {
    const { system } = bench;
    await bench.triggerMany(RUNS);
    const queue = system.runs.queue;
    const started = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    const main0 = cpuMsOf(process.pid, process.pid);
    recorder.on = true;
    const stopProfile = await profileWindow(process.env.BENCH_WORKER_PROFILE);
    await system.start('worker');
    let counts: Record<string, number> = {};
    await until('every run to finish', async () => {
      counts = await queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0) >= RUNS;
    }, 120_000, 50);
    await system.logWriter.flush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await stopProfile();
    const cpu = process.cpuUsage(cpu0);
    const mainThreadCpuMs = cpuMsOf(process.pid, process.pid) - main0;
    recorder.on = false;
    const { rows } = await duck.warehouse.query(`SELECT count(*) AS n FROM \`${BENCH_TENANT}.x_meta_pipeline_runs\` WHERE status = 'COMPLETED'`);
    const warehouseRunRows = Number(rows[0]?.n ?? 0);
    // Every run has ended: the worker is idle while the bare warehouse calls are timed.
    const bareWarehouseCpuMs = await replayCpuMs(duck.warehouse, recorder.calls);
    return { perSec: RUNS / seconds, completed: counts.completed ?? 0, failed: counts.failed ?? 0, warehouseRunRows, processCpuMs: (cpu.user + cpu.system) / 1000, mainThreadCpuMs, bareWarehouseCpuMs };
  } finally {
    await bench.close();
    await duck.cleanup();
  }
}

async function timeBaseline(): Promise<number> {
  const prefix = `benchbase${randomBytes(3).toString('hex')}`;
  const connection = createRedis(REDIS_URL, { forBullMQ: true });
  const queue = new Queue('baseline-noop', { connection, prefix });
  try {
    await queue.addBulk(Array.from({ length: RUNS }, (_, i) => ({ name: 'noop', data: { n: i }, opts: { removeOnComplete: { count: RUNS } } })));
    let done = 0;
    const started = process.hrtime.bigint();
    const worker = new Worker('baseline-noop', async () => undefined, { connection, prefix, concurrency: CONCURRENCY });
    worker.on('completed', () => (done += 1));
    await until('every baseline job to finish', async () => done >= RUNS);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    await worker.close();
    return RUNS / seconds;
  } finally {
    await queue.close();
    await closeRedis(connection);
    await dropPrefix(prefix);
  }
}

export async function runWorkerPathBench(log: (line: string) => void = () => undefined): Promise<WorkerPathResult> {
  log(`worker path: ${RUNS} dryrun runs, concurrency ${CONCURRENCY} (product)`);
  const ours = await timeOurs();
  log(`worker path: ${RUNS} no-op jobs, concurrency ${CONCURRENCY} (baseline)`);
  const baselineJobsPerSec = await timeBaseline();
  return {
    runs: RUNS,
    concurrency: CONCURRENCY,
    oursRunsPerSec: ours.perSec,
    baselineJobsPerSec,
    ratio: ours.perSec / baselineJobsPerSec,
    completed: ours.completed,
    failed: ours.failed,
    warehouseRunRows: ours.warehouseRunRows,
    processCpuMsPerRun: ours.processCpuMs / RUNS,
    mainThreadCpuMsPerRun: ours.mainThreadCpuMs / RUNS,
    bareWarehouseCpuMsPerRun: ours.bareWarehouseCpuMs.processMs / RUNS,
    cpuMsPerRunExclWarehouse: (ours.processCpuMs - ours.bareWarehouseCpuMs.processMs) / RUNS,
    bareWarehouseMainThreadCpuMsPerRun: ours.bareWarehouseCpuMs.mainThreadMs / RUNS,
    mainThreadCpuMsPerRunExclWarehouse: (ours.mainThreadCpuMs - ours.bareWarehouseCpuMs.mainThreadMs) / RUNS,
  };
}

if (require.main === module) {
  runWorkerPathBench((line) => console.error(line))
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
