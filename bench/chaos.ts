/**
 * `npm run chaos`: three faults under a steady trigger load, each against its own multi-process
 * cluster (API and worker processes from `src/main.ts`, BigQuery role config against the local fake
 * server, see test/helpers/processes.ts):
 *
 *   worker-kill     SIGKILL a worker while runs are active; a replacement worker starts.
 *   redis-restart   SIGKILL the (AOF on, fsync always) Redis under load and start it again on its data.
 *   warehouse-down  every BigQuery request fails for CHAOS_OUTAGE_SEC (default 30) seconds under load.
 *
 * Each ends with an audit: every admitted (202) run terminal, no concurrency slot held, none lost, none
 * finished twice, every terminal run in the warehouse. Prints the counts; exit code 1 if any scenario fails.
 *   npm run chaos [-- worker-kill redis-restart warehouse-down]
 */
import { closeRedis, createRedis } from '../src/redis/connection';
import { RedisKeys } from '../src/redis/keys';
import { createCluster, onboardTenant, startFakeBigQuery } from '../test/helpers/processes';
import type { Cluster, FakeBigQuery, RoleProcess } from '../test/helpers/processes';
import { audit, startAofRedis, startLoad } from './chaos-support';
import type { Audit } from './chaos-support';
import { BENCH_PLAN, BENCH_TENANT, benchConfigs, REDIS_URL, UNTHROTTLED_ENV } from './support';

const OUTAGE_SEC = Number(process.env.CHAOS_OUTAGE_SEC ?? 30);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const log = (line: string): void => void process.stderr.write(`· ${line}\n`);

interface Setup {
  bigquery: FakeBigQuery;
  cluster: Cluster;
  api: RoleProcess;
  apiKey: string;
  redisUrl: string;
}

/** A cluster (api + `workers` worker processes) with the bench tenant onboarded; `run` gets it, everything is torn down after. */
async function withCluster<T>(workers: number, redisUrl: string, run: (s: Setup) => Promise<T>): Promise<T> {
  const bigquery = await startFakeBigQuery();
  const configs = benchConfigs();
  // Short locks so a killed worker's job is noticed in seconds, not the 30 s default.
  const cluster = createCluster({ bigquery, redis: { kind: 'standalone', url: redisUrl }, env: { CONFIGS_DIR: configs.dir, WORKER_LOCK_DURATION_MS: '2000', ...UNTHROTTLED_ENV } });
  try {
    const api = await cluster.start('api');
    for (let i = 0; i < workers; i += 1) await cluster.start('worker');
    // The scheduler role runs the per-minute log reconciliation that rewrites rows a killed worker still held.
    await cluster.start('scheduler');
    const apiKey = await onboardTenant(api, cluster.adminKey, BENCH_TENANT, BENCH_PLAN);
    return await run({ bigquery, cluster, api, apiKey, redisUrl });
  } catch (err) {
    process.stderr.write(cluster.output().slice(-4000));
    throw err;
  } finally {
    await cluster.close();
    await bigquery.close();
    configs.cleanup();
  }
}

async function activeJobs(redisUrl: string, prefix: string): Promise<number> {
  const redis = createRedis(redisUrl);
  try {
    return await redis.llen(`${new RedisKeys(prefix).bullPrefix}:pipeline-runs:active`);
  } finally {
    await closeRedis(redis);
  }
}

interface Outcome {
  scenario: string;
  note: string;
  answers: Record<string, number>;
  audit: Audit;
}

const SCENARIOS: Record<string, () => Promise<Outcome>> = {
  'worker-kill': () =>
    withCluster(2, REDIS_URL, async (s) => {
      const load = startLoad([s.api], s.apiKey, 80);
      await sleep(2000);
      const victim = s.cluster.processes.find((p) => p.role === 'worker') as RoleProcess;
      const active = await activeJobs(s.redisUrl, s.cluster.prefix);
      log(`worker-kill: SIGKILL worker pid ${victim.pid} (${active} jobs active across workers)`);
      victim.kill('SIGKILL');
      await victim.exited;
      await sleep(1000);
      await s.cluster.start('worker');
      await sleep(2000);
      await load.stop();
      const result = await audit({ redisUrl: s.redisUrl, prefix: s.cluster.prefix, duckdb: s.bigquery.duckdb, runIds: load.admitted, timeoutMs: 150_000 });
      return { scenario: 'worker-kill', note: `${active} jobs active at the kill`, answers: load.answers, audit: result };
    }),
  'redis-restart': async () => {
    const redis = await startAofRedis();
    try {
      return await withCluster(1, redis.url, async (s) => {
        const load = startLoad([s.api], s.apiKey, 40);
        await sleep(3000);
        log('redis-restart: SIGKILL redis-server, 2 s down, restart on its AOF');
        await redis.crash();
        await sleep(2000);
        await redis.restart();
        await sleep(4000);
        await load.stop();
        const result = await audit({ redisUrl: s.redisUrl, prefix: s.cluster.prefix, duckdb: s.bigquery.duckdb, runIds: load.admitted });
        return { scenario: 'redis-restart', note: 'Redis down 2 s (AOF, appendfsync always)', answers: load.answers, audit: result };
      });
    } finally {
      await redis.close();
    }
  },
  'warehouse-down': () =>
    withCluster(1, REDIS_URL, async (s) => {
      const load = startLoad([s.api], s.apiKey, 20);
      await sleep(3000);
      log(`warehouse-down: every BigQuery request fails for ${OUTAGE_SEC} s`);
      s.bigquery.server.setFailing(true);
      await sleep(OUTAGE_SEC * 1000);
      s.bigquery.server.setFailing(false);
      log('warehouse-down: warehouse back');
      await sleep(3000);
      await load.stop();
      const result = await audit({ redisUrl: s.redisUrl, prefix: s.cluster.prefix, duckdb: s.bigquery.duckdb, runIds: load.admitted, timeoutMs: 180_000 });
      return { scenario: 'warehouse-down', note: `BigQuery answering 503 for ${OUTAGE_SEC} s`, answers: load.answers, audit: result };
    }),
};

function print(outcomes: Outcome[]): void {
  for (const o of outcomes) {
    const a = o.audit;
    console.log(`\n${o.scenario} — ${o.note}: ${a.ok ? 'OK' : 'FAILED'}`);
    console.log(`  trigger answers        ${JSON.stringify(o.answers)}`);
    console.log(`  admitted (202)         ${a.admitted}`);
    console.log(`  terminal               ${JSON.stringify(a.terminal)}`);
    console.log(`  lost (not terminal)    ${a.lost}`);
    console.log(`  slots still held       ${a.slotsHeld}`);
    console.log(`  never queued (503)     ${a.neverQueued}  (admitted, reply lost: failed and freed by the never-queued sweep 5 min after admission)`);
    if (a.strayHeld > 0) console.log(`  other slots held       ${a.strayHeld}  (held by runs the sweep would not take)`);
    console.log(`  finished twice         ${a.finishedTwice}`);
    console.log(`  started twice          ${a.startedTwice}  (re-delivered after the fault; steps are idempotent per run)`);
    console.log(`  missing in warehouse   ${a.missingInWarehouse}`);
  }
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(SCENARIOS);
  const outcomes: Outcome[] = [];
  for (const name of wanted) {
    const scenario = SCENARIOS[name];
    if (!scenario) throw new Error(`unknown scenario ${name}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
    log(`${name}: starting`);
    outcomes.push(await scenario());
  }
  print(outcomes);
  if (outcomes.some((o) => !o.audit.ok)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
