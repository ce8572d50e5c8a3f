/**
 * Fairness benchmark (issue 14.2): 20 tenants each load a 10-run backlog, one tenant after the other, while
 * no worker serves the queue (a saturated worker, frozen); then a new tenant triggers one run. One pipeline
 * worker of concurrency 1 then serves all 201 runs (the dryrun template on embedded DuckDB). Reported: how
 * many runs were served before the new tenant's (target ≤ 20; FIFO ≈ 200) and the throughput of fair dispatch
 * against FAIR_DISPATCH=false (one FIFO queue) in the same process, rounds alternating (target ≥ 0.95). A control
 * mode serves the same runs FIFO but arriving round-robin across tenants (fair dispatch's tenant mix), and each
 * mode counts the warehouse row-insert calls per run: the run log writer writes one per tenant table per flush,
 * so consecutive runs of different tenants batch less than a burst of one tenant's runs. A second control serves
 * the bursts FIFO but every job through BullMQ's prioritized set (all at priority 2): fair dispatch's Redis path
 * without its tenant mix. Figures that hold on a shared machine: this process's CPU per run (all threads, DuckDB's
 * included) and Redis commands and CPU per run (INFO; exact only on a Redis no one else uses).
 *
 *   npx tsx bench/fairness.ts        (REDIS_URL; BENCH_FAIRNESS_ROUNDS, default 2 rounds of each mode, after a
 *                                     short uncounted warm-up; mean runs/s per mode)
 */
import { closeRedis, createRedis, redisTargetOf } from '../src/redis/connection';
import { silentLogger } from '../src/shared/logger';
import { PipelineWorker } from '../src/workers/pipeline-worker';
import { createTestDuckDb } from '../test/helpers/warehouse';
import { readRedisCounters, redisCpuMs } from './redis-cost';
import { BENCH_PLAN, BENCH_TEMPLATE, REDIS_URL, cpuMsOf, startBenchSystem, until } from './support';

const TENANTS = 20;
const BACKLOG = 10;
const ROUNDS = Number(process.env.BENCH_FAIRNESS_ROUNDS ?? 2);

export interface FairnessRound {
  fair: boolean;
  /**
   * Arrivals tenant by tenant (each backlog whole), round-robin (the control: FIFO serving fair's tenant mix), or
   * bursts with every job at priority 2 (the control: FIFO order through BullMQ's prioritized set).
   */
  arrivals: 'bursts' | 'interleaved' | 'prioritized';
  /** Runs the worker started before the new tenant's single run. */
  servedBeforeNewcomer: number;
  runs: number;
  runsPerSec: number;
  /** Warehouse row-insert calls (the run log writer's flushes) per run: one per tenant table per flush. */
  insertCallsPerRun: number;
  /** This process's CPU (user + system, every thread) while serving, per run, ms. */
  cpuMsPerRun: number;
  /** Redis commands (INFO commandstats) and redis-server CPU while serving, per run. */
  redisCommandsPerRun: number;
  redisCpuMsPerRun: number;
}

export interface FairnessMode {
  runsPerSec: number;
  cpuMsPerRun: number;
  insertCallsPerRun: number;
  redisCommandsPerRun: number;
  redisCpuMsPerRun: number;
}

export interface FairnessResult {
  tenants: number;
  backlog: number;
  rounds: FairnessRound[];
  /** Worst wait of the new tenant's run, in runs served before it, over the rounds of each mode. */
  fairWait: number;
  fifoWait: number;
  fairRunsPerSec: number;
  fifoRunsPerSec: number;
  /** The control: FIFO with the same runs arriving round-robin across tenants, so served in fair's tenant mix. */
  fifoInterleavedRunsPerSec: number;
  fairInsertCallsPerRun: number;
  fifoInsertCallsPerRun: number;
  /** Mean fair throughput / mean FIFO throughput. */
  throughputRatio: number;
  /** Means per mode: fair, fifo (bursts), interleaved and prioritized (the two controls). */
  modes: Record<'fair' | 'fifo' | 'interleaved' | 'prioritized', FairnessMode>;
}

async function oneRound(fair: boolean, arrivals: FairnessRound['arrivals'], tenantCount = TENANTS, backlog = BACKLOG): Promise<FairnessRound> {
  const duck = await createTestDuckDb();
  let insertCalls = 0;
  const warehouse = new Proxy(duck.warehouse, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop !== 'insertRows' || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        insertCalls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  const bench = await startBenchSystem({ warehouse, env: { FAIR_DISPATCH: String(fair), WORKER_CONCURRENCY: '1' } });
  const { system } = bench;
  if (arrivals === 'prioritized') {
    // Same FIFO order (BullMQ keeps insertion order within one priority), but through the prioritized set.
    const queue = system.runs.queue;
    const add = queue.add.bind(queue);
    queue.add = (name, data, opts) => add(name, data, { ...opts, priority: 2 });
  }
  const subscriber = createRedis(redisTargetOf(system.config.redis), { forBullMQ: true });
  let worker: PipelineWorker | null = null;
  try {
    const tenants = system.apiDeps().tenants;
    const ids = Array.from({ length: tenantCount + 1 }, (_, i) => `fair_${String(i).padStart(2, '0')}`);
    for (const tenantId of ids) await tenants.onboard({ tenant_id: tenantId, company_name: `${tenantId} Inc`, admin_email: `ops@${tenantId.replace(/_/g, '')}.io`, subscription_plan: BENCH_PLAN });
    let n = 0;
    const trigger = async (tenantId: string): Promise<string> => {
      n += 1;
      const r = await system.runs.trigger({ tenantId, provider: BENCH_TEMPLATE.provider, domain: BENCH_TEMPLATE.domain, templateName: BENCH_TEMPLATE.name, parameters: { n }, userId: null, triggerType: 'api' });
      return r.pipelineLoggingId;
    };
    // Each tenant's burst arrives whole before the next tenant's: FIFO's worst case for the newcomer.
    if (arrivals === 'interleaved') for (let i = 0; i < backlog; i += 1) for (const tenantId of ids.slice(0, tenantCount)) await trigger(tenantId);
    else for (const tenantId of ids.slice(0, tenantCount)) for (let i = 0; i < backlog; i += 1) await trigger(tenantId);
    const newcomer = await trigger(ids[tenantCount] as string);
    const runs = tenantCount * backlog + 1;

    // The product's pipeline worker (as `system.start('worker')` builds it); the hook only records the order served.
    const served: string[] = [];
    const insertsAtStart = insertCalls;
    const redisBefore = await readRedisCounters(REDIS_URL);
    const redisCpuBefore = await redisCpuMs(REDIS_URL);
    const cpuBefore = cpuMsOf(process.pid);
    const started = process.hrtime.bigint();
    worker = new PipelineWorker({
      connection: system.clients.bull, subscriber, keys: system.keys, runStore: system.runs.runStore, logger: silentLogger(), clock: { now: () => new Date() },
      concurrency: 1, lockDurationMs: system.config.worker.lockDurationMs, finaliser: system.runs.finaliser, execute: system.runs.execute,
      hooks: { beforeStart: async (job) => void served.push(job.pipelineLoggingId) },
    });
    await until('every run to finish', async () => {
      const counts = await system.runs.queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0) >= runs;
    }, 300_000, 10);
    // The rows still buffered are written inside the timed window: a writer that defers its work past the last run
    // must not look faster for it. Insert calls count from the worker's start to this flush (not onboarding's).
    await system.logWriter.flush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const cpuMsPerRun = (cpuMsOf(process.pid) - cpuBefore) / runs;
    const redisCpuMsPerRun = ((await redisCpuMs(REDIS_URL)) - redisCpuBefore) / runs;
    const redisAfter = await readRedisCounters(REDIS_URL);
    const redisCommands = Object.entries(redisAfter.calls).reduce((n, [name, calls]) => n + calls - (redisBefore.calls[name] ?? 0), 0);
    return {
      fair, arrivals, servedBeforeNewcomer: served.indexOf(newcomer), runs, runsPerSec: runs / seconds, insertCallsPerRun: (insertCalls - insertsAtStart) / runs,
      cpuMsPerRun, redisCommandsPerRun: redisCommands / runs, redisCpuMsPerRun,
    };
  } finally {
    await worker?.close(5000);
    await closeRedis(subscriber);
    await bench.close();
    await duck.cleanup();
  }
}

export async function runFairnessBench(log: (line: string) => void = () => undefined): Promise<FairnessResult> {
  const rounds: FairnessRound[] = [];
  // A short warm-up round (not counted): the first round in a process pays for JIT and DuckDB's first queries.
  log('fairness: warm-up round (not counted)');
  await oneRound(true, 'bursts', 3, 5);
  const modes: [boolean, FairnessRound['arrivals']][] = [[true, 'bursts'], [false, 'bursts'], [false, 'interleaved'], [false, 'prioritized']];
  for (let r = 0; r < ROUNDS; r += 1) {
    // Rotated each round, so a noisy neighbour on the machine weighs on every mode alike.
    for (const [fair, arrivals] of [...modes.slice(r % modes.length), ...modes.slice(0, r % modes.length)]) {
      log(`fairness: ${TENANTS} tenants × ${BACKLOG} queued runs (${arrivals}) + 1 new tenant's run, concurrency 1, ${fair ? 'fair dispatch' : 'FIFO (FAIR_DISPATCH=false)'}`);
      rounds.push(await oneRound(fair, arrivals));
    }
  }
  const of = (fair: boolean, arrivals: FairnessRound['arrivals']) => rounds.filter((r) => r.fair === fair && r.arrivals === arrivals);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const fairRunsPerSec = mean(of(true, 'bursts').map((r) => r.runsPerSec));
  const fifoRunsPerSec = mean(of(false, 'bursts').map((r) => r.runsPerSec));
  const modeOf = (fair: boolean, arrivals: FairnessRound['arrivals']): FairnessMode => {
    const rs = of(fair, arrivals);
    return {
      runsPerSec: mean(rs.map((r) => r.runsPerSec)),
      cpuMsPerRun: mean(rs.map((r) => r.cpuMsPerRun)),
      insertCallsPerRun: mean(rs.map((r) => r.insertCallsPerRun)),
      redisCommandsPerRun: mean(rs.map((r) => r.redisCommandsPerRun)),
      redisCpuMsPerRun: mean(rs.map((r) => r.redisCpuMsPerRun)),
    };
  };
  return {
    tenants: TENANTS,
    backlog: BACKLOG,
    rounds,
    fairWait: Math.max(...of(true, 'bursts').map((r) => r.servedBeforeNewcomer)),
    fifoWait: Math.max(...of(false, 'bursts').map((r) => r.servedBeforeNewcomer)),
    fairRunsPerSec,
    fifoRunsPerSec,
    fifoInterleavedRunsPerSec: mean(of(false, 'interleaved').map((r) => r.runsPerSec)),
    fairInsertCallsPerRun: mean(of(true, 'bursts').map((r) => r.insertCallsPerRun)),
    fifoInsertCallsPerRun: mean(of(false, 'bursts').map((r) => r.insertCallsPerRun)),
    throughputRatio: fairRunsPerSec / fifoRunsPerSec,
    modes: { fair: modeOf(true, 'bursts'), fifo: modeOf(false, 'bursts'), interleaved: modeOf(false, 'interleaved'), prioritized: modeOf(false, 'prioritized') },
  };
}

if (require.main === module) {
  runFairnessBench((line) => console.error(line))
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
