/**
 * `npm run bench`: runs every benchmark (or those named: `npm run bench -- trigger worker io scheduler bulk cost fairness`)
 * and prints, for each, our figure, the bare baseline measured in the same run, the ratio and the target.
 * Needs Redis at REDIS_URL (default redis://127.0.0.1:6379). BENCH_JSON=1 also prints the raw results.
 */
import os from 'node:os';
import { runSchedulerBulkBench } from './scheduler-bulk';
import { runSchedulerTickBench } from './scheduler-tick';
import { all202, runTriggerPathBench } from './trigger-path';
import { runWorkerPathBench } from './worker-path';
import { runWorkerIoBench } from './worker-io';
import { runWarehouseCostBench } from './warehouse-cost';
import { runFairnessBench } from './fairness';

interface Row {
  benchmark: string;
  ours: string;
  baseline: string;
  ratio: string;
  target: string;
  met: boolean | null;
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const log = (line: string): void => void process.stderr.write(`· ${line}\n`);

const BENCHES: Record<string, () => Promise<{ rows: Row[]; raw: unknown }>> = {
  async trigger() {
    const r = await runTriggerPathBench(log);
    const ok = all202(r.ours) && all202(r.fixedRate);
    const answers: Record<string, number> = {};
    for (const f of [r.ours, r.fixedRate]) for (const [code, n] of Object.entries(f.statuses)) answers[code] = (answers[code] ?? 0) + n;
    return {
      raw: r,
      rows: [
        { benchmark: `trigger path, req/s (${r.connections} conns, ${r.durationSec} s)`, ours: fmt(r.ours.requestsPerSec), baseline: fmt(r.baseline.requestsPerSec), ratio: fmt(r.ratio, 2), target: 'ratio ≥ 0.5', met: r.ratio >= 0.5 },
        { benchmark: `  ratio in each of the ${r.roundRatios.length} alternating rounds`, ours: r.roundRatios.map((x) => fmt(x, 2)).join(', '), baseline: '', ratio: '', target: '', met: null },
        { benchmark: '  latency p50 / p99 at saturation, ms', ours: `${r.ours.p50Ms} / ${r.ours.p99Ms}`, baseline: `${r.baseline.p50Ms} / ${r.baseline.p99Ms}`, ratio: '', target: '', met: null },
        { benchmark: '  latency p50 / p99 at 300 req/s, ms', ours: `${r.fixedRate.p50Ms} / ${r.fixedRate.p99Ms}`, baseline: `${r.baselineFixedRate.p50Ms} / ${r.baselineFixedRate.p99Ms}`, ratio: '', target: 'p99 ≤ 50 ms', met: r.fixedRate.p99Ms <= 50 },
        { benchmark: '  API process RSS now / peak, MB', ours: `${fmt(r.apiRss.rssMb)} / ${fmt(r.apiRss.peakMb)}`, baseline: `${fmt(r.baselineRss.rssMb)} / ${fmt(r.baselineRss.peakMb)}`, ratio: '', target: '≤ 200 MB', met: r.apiRss.peakMb <= 200 },
        { benchmark: '  Redis commands / socket reads per trigger', ours: `${fmt(r.redisCost.commandsPerTrigger, 1)} / ${fmt(r.redisCost.roundTripsPerTrigger, 1)}`, baseline: '', ratio: '', target: '', met: null },
        { benchmark: '  CPU µs per request: API process + redis-server', ours: `${fmt(r.cpuCost.ours.processCpuUsPerRequest)} + ${fmt(r.cpuCost.ours.redisCpuUsPerRequest)}`, baseline: `${fmt(r.cpuCost.baseline.processCpuUsPerRequest)} + ${fmt(r.cpuCost.baseline.redisCpuUsPerRequest)}`, ratio: `${fmt((r.cpuCost.ours.processCpuUsPerRequest + r.cpuCost.ours.redisCpuUsPerRequest) / (r.cpuCost.baseline.processCpuUsPerRequest + r.cpuCost.baseline.redisCpuUsPerRequest), 2)}×`, target: '', met: null },
        { benchmark: '  every answer 202', ours: `${JSON.stringify(answers)}, ${r.ours.errors + r.fixedRate.errors} socket errors`, baseline: '', ratio: '', target: 'all 202', met: ok },
      ],
    };
  },
  async worker() {
    const r = await runWorkerPathBench(log);
    return {
      raw: r,
      rows: [
        { benchmark: `worker path, runs/s (${r.runs} runs, concurrency ${r.concurrency})`, ours: fmt(r.oursRunsPerSec), baseline: `${fmt(r.baselineJobsPerSec)} no-op jobs/s`, ratio: fmt(r.ratio, 3), target: 'ratio ≥ 0.25', met: r.ratio >= 0.25 },
        { benchmark: '  completed / warehouse run rows', ours: `${r.completed} / ${r.warehouseRunRows}`, baseline: '', ratio: '', target: `${r.runs} / ${r.runs}`, met: r.completed === r.runs && r.warehouseRunRows === r.runs },
        { benchmark: '  CPU ms per run: process / JS thread', ours: `${fmt(r.processCpuMsPerRun, 2)} / ${fmt(r.mainThreadCpuMsPerRun, 2)}`, baseline: '', ratio: '', target: '', met: null },
        { benchmark: '  CPU ms per run excluding the warehouse, JS thread', ours: fmt(r.mainThreadCpuMsPerRunExclWarehouse, 2), baseline: `${fmt(r.bareWarehouseMainThreadCpuMsPerRun, 2)} (bare warehouse calls)`, ratio: '', target: '≤ 1.5 ms', met: r.mainThreadCpuMsPerRunExclWarehouse <= 1.5 },
        { benchmark: '  CPU ms per run excluding the warehouse, process', ours: fmt(r.cpuMsPerRunExclWarehouse, 2), baseline: `${fmt(r.bareWarehouseCpuMsPerRun, 2)} (bare warehouse calls)`, ratio: '', target: '', met: null },
      ],
    };
  },
  async io() {
    const r = await runWorkerIoBench(log);
    return {
      raw: r,
      rows: [
        { benchmark: `worker path, I/O-bound, runs/s (${r.runs} runs, 1 process, concurrency ${r.concurrency}, ${r.jobLatencyMs} ms jobs)`, ours: fmt(r.oursRunsPerSec), baseline: `${fmt(r.idealRunsPerSec)} ideal`, ratio: fmt(r.ratio, 2), target: 'ratio ≥ 0.8', met: r.ratio >= 0.8 },
        { benchmark: '  completed / warehouse run rows', ours: `${r.completed} / ${r.warehouseRunRows}`, baseline: '', ratio: '', target: `${r.runs} / ${r.runs}`, met: r.completed === r.runs && r.warehouseRunRows === r.runs },
        { benchmark: '  worker CPU ms per run / Redis commands per run', ours: `${fmt(r.workerCpuMsPerRun, 2)} / ${fmt(r.redisCommandsPerRun, 1)}`, baseline: '', ratio: '', target: '', met: null },
        { benchmark: '  jobs in flight (peak) / run p50 ms / job held p50 ms / worker RSS MB', ours: `${r.peakJobsInFlight} / ${fmt(r.runDurationP50Ms)} / ${fmt(r.jobHeldP50Ms)} / ${fmt(r.workerRssMb)}`, baseline: '', ratio: '', target: '', met: null },
      ],
    };
  },
  async scheduler() {
    log('scheduler tick: 100,000 schedules, 1,000 due');
    const r = await runSchedulerTickBench();
    return {
      raw: r,
      rows: [
        { benchmark: 'scheduler tick, 1,000 due of 100,000, ms', ours: fmt(r.tickMs, 1), baseline: fmt(r.baselineMs, 1), ratio: `${fmt(r.ratio, 1)}× slower`, target: 'O(due)', met: null },
        { benchmark: '  same tick with 1,000 defined, ms', ours: fmt(r.tickSmallMs, 1), baseline: '', ratio: `${fmt(r.scaling, 2)}×`, target: 'cost follows due, not defined', met: null },
      ],
    };
  },
  async bulk() {
    const r = await runSchedulerBulkBench(log);
    return {
      raw: r,
      rows: [
        { benchmark: `scheduler trigger, ${fmt(r.due)} due at once, ms`, ours: fmt(r.endpointMs), baseline: `${fmt(r.baselineMs)} (BullMQ addBulk)`, ratio: fmt(r.ratio, 2), target: `< ${fmt(r.deadlineMs / 1000)} s deadline, all triggered`, met: r.endpointMs < r.deadlineMs && r.triggered === r.due },
      ],
    };
  },
  async cost() {
    const r = await runWarehouseCostBench(log);
    return {
      raw: r,
      rows: [
        { benchmark: `warehouse cost, BigQuery insertAll per run (${r.runs} runs)`, ours: fmt(r.insertAllPerRun, 2), baseline: '1 per row: ' + fmt(r.insertedRowsPerRun, 1), ratio: fmt(r.insertAllPerRun / r.insertedRowsPerRun, 3), target: '≤ 3', met: r.insertAllPerRun <= 3 },
        { benchmark: '  DML statements / all requests per run', ours: `${r.dml} / ${fmt(r.requestsPerRun, 2)}`, baseline: '', ratio: '', target: 'no DML', met: r.dml === 0 },
      ],
    };
  },
  async fairness() {
    const r = await runFairnessBench(log);
    return {
      raw: r,
      rows: [
        { benchmark: `fairness: new tenant's wait behind ${r.tenants} tenants × ${r.backlog} queued, runs served before it`, ours: fmt(r.fairWait), baseline: `${fmt(r.fifoWait)} (FIFO)`, ratio: fmt(r.fairWait / Math.max(1, r.fifoWait), 2), target: '≤ 20', met: r.fairWait <= 20 },
        { benchmark: '  throughput, runs/s (concurrency 1), fair vs FIFO', ours: fmt(r.fairRunsPerSec, 1), baseline: fmt(r.fifoRunsPerSec, 1), ratio: fmt(r.throughputRatio, 2), target: 'ratio ≥ 0.95', met: r.throughputRatio >= 0.95 },
        { benchmark: '  control: FIFO, same runs arriving round-robin (fair order), runs/s', ours: fmt(r.fifoInterleavedRunsPerSec, 1), baseline: fmt(r.fifoRunsPerSec, 1), ratio: fmt(r.fifoInterleavedRunsPerSec / r.fifoRunsPerSec, 2), target: '', met: null },
        { benchmark: '  warehouse insert calls per run (log writer: one per tenant table per flush)', ours: fmt(r.fairInsertCallsPerRun, 2), baseline: fmt(r.fifoInsertCallsPerRun, 2), ratio: '', target: '', met: null },
        { benchmark: '  control: FIFO through the prioritized set (all priority 2), runs/s', ours: fmt(r.modes.prioritized.runsPerSec, 1), baseline: fmt(r.fifoRunsPerSec, 1), ratio: fmt(r.modes.prioritized.runsPerSec / r.fifoRunsPerSec, 2), target: '', met: null },
        { benchmark: '  CPU ms per run, this process (all threads), fair vs FIFO', ours: fmt(r.modes.fair.cpuMsPerRun, 2), baseline: fmt(r.modes.fifo.cpuMsPerRun, 2), ratio: fmt(r.modes.fair.cpuMsPerRun / r.modes.fifo.cpuMsPerRun, 2), target: '', met: null },
        { benchmark: '  Redis commands per run, fair vs FIFO (exact on a private Redis)', ours: fmt(r.modes.fair.redisCommandsPerRun, 1), baseline: fmt(r.modes.fifo.redisCommandsPerRun, 1), ratio: '', target: '', met: null },
      ],
    };
  },
};

function print(rows: Row[]): void {
  const cols: (keyof Row)[] = ['benchmark', 'ours', 'baseline', 'ratio', 'target', 'met'];
  const cell = (r: Row, c: keyof Row): string => (c === 'met' ? (r.met === null ? '' : r.met ? 'yes' : 'NO') : String(r[c]));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => cell(r, c).length)));
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const r of rows) console.log(line(cols.map((c) => cell(r, c))));
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(BENCHES);
  const unknown = wanted.filter((w) => !(w in BENCHES));
  if (unknown.length > 0) throw new Error(`unknown benchmark(s) ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`);
  const rows: Row[] = [];
  const raw: Record<string, unknown> = {};
  for (const name of wanted) {
    const bench = BENCHES[name];
    if (!bench) continue;
    const result = await bench();
    rows.push(...result.rows);
    raw[name] = result.raw;
  }
  console.log(`\nmachine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, node ${process.version}, ${os.platform()} ${os.release()}\n`);
  print(rows);
  if (process.env.BENCH_JSON) console.log(JSON.stringify(raw, null, 2));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
