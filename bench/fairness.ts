/**
 * Fairness benchmark (issue 14.2): 20 tenants each load a 10-run backlog, one tenant after the other, while
 * no worker serves the queue (a saturated worker, frozen); then a new tenant triggers one run. One pipeline
 * worker of concurrency 1 then serves all 201 runs (the dryrun template on embedded DuckDB). Reported: how
 * many runs were served before the new tenant's (target ≤ 20; FIFO ≈ 200) and the throughput of fair dispatch
 * against FAIR_DISPATCH=false (one FIFO queue) in the same process, rounds alternating (target ≥ 0.95).
 *
 *   npx tsx bench/fairness.ts        (REDIS_URL; BENCH_FAIRNESS_ROUNDS, default 2 rounds of each mode, after a
 *                                     short uncounted warm-up; mean runs/s per mode)
 */
import { closeRedis, createRedis, redisTargetOf } from '../src/redis/connection';
import { silentLogger } from '../src/shared/logger';
import { PipelineWorker } from '../src/workers/pipeline-worker';
import { createTestDuckDb } from '../test/helpers/warehouse';
import { BENCH_PLAN, BENCH_TEMPLATE, startBenchSystem, until } from './support';

const TENANTS = 20;
const BACKLOG = 10;
const ROUNDS = Number(process.env.BENCH_FAIRNESS_ROUNDS ?? 2);

export interface FairnessRound {
  fair: boolean;
  /** Runs the worker started before the new tenant's single run. */
  servedBeforeNewcomer: number;
  runs: number;
  runsPerSec: number;
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
  /** Mean fair throughput / mean FIFO throughput. */
  throughputRatio: number;
}

async function oneRound(fair: boolean, tenantCount = TENANTS, backlog = BACKLOG): Promise<FairnessRound> {
  const duck = await createTestDuckDb();
  const bench = await startBenchSystem({ warehouse: duck.warehouse, env: { FAIR_DISPATCH: String(fair), WORKER_CONCURRENCY: '1' } });
  const { system } = bench;
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
    for (const tenantId of ids.slice(0, tenantCount)) for (let i = 0; i < backlog; i += 1) await trigger(tenantId);
    const newcomer = await trigger(ids[tenantCount] as string);
    const runs = tenantCount * backlog + 1;

    // The product's pipeline worker (as `system.start('worker')` builds it); the hook only records the order served.
    const served: string[] = [];
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
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return { fair, servedBeforeNewcomer: served.indexOf(newcomer), runs, runsPerSec: runs / seconds };
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
  await oneRound(true, 3, 5);
  for (let r = 0; r < ROUNDS; r += 1) {
    // Alternating, so a noisy neighbour on the machine weighs on both modes alike.
    for (const fair of r % 2 === 0 ? [true, false] : [false, true]) {
      log(`fairness: ${TENANTS} tenants × ${BACKLOG} queued runs + 1 new tenant's run, concurrency 1, ${fair ? 'fair dispatch' : 'FIFO (FAIR_DISPATCH=false)'}`);
      rounds.push(await oneRound(fair));
    }
  }
  const of = (fair: boolean) => rounds.filter((r) => r.fair === fair);
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const fairRunsPerSec = mean(of(true).map((r) => r.runsPerSec));
  const fifoRunsPerSec = mean(of(false).map((r) => r.runsPerSec));
  return {
    tenants: TENANTS,
    backlog: BACKLOG,
    rounds,
    fairWait: Math.max(...of(true).map((r) => r.servedBeforeNewcomer)),
    fifoWait: Math.max(...of(false).map((r) => r.servedBeforeNewcomer)),
    fairRunsPerSec,
    fifoRunsPerSec,
    throughputRatio: fairRunsPerSec / fifoRunsPerSec,
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
