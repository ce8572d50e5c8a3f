/**
 * Trigger-path benchmark. The product's API runs as a real child process (`dist/main.js api`, compiled and
 * with the heap cap of docker-compose.yml, as in production; info
 * logging as in production, BigQuery role config against the local fake server — the trigger path
 * itself touches only Redis). autocannon sends authenticated `POST /api/v1/pipelines/run/…` with a
 * fresh `{"n": i}` per request (see support.ts for why), and every answer must be 202.
 * Baseline: a bare Koa route doing one BullMQ `add`, also its own process, under the same load. The two sides
 * alternate in rounds (BENCH_TRIGGER_ROUNDS, default 3, of BENCH_DURATION_SEC / rounds seconds each, default 15 s a
 * side), so the machine's swings of speed meet both; the ratio is over all rounds, each round's is printed too.
 *
 *   npx tsx bench/trigger-path.ts          (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
import { callApi, createCluster, onboardTenant, startFakeBigQuery, startPrivateRedis } from '../test/helpers/processes';
import { measureCpuCost, measureRedisCost } from './redis-cost';
import type { CpuCostFigures, RedisCostFigures } from './redis-cost';
import { BENCH_PLAN, BENCH_RUN_PATH, BENCH_TENANT, benchConfigs, cpuMsOf, dropPrefix, REDIS_URL, rssOf, UNTHROTTLED_ENV } from './support';

export interface LoadFigures {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  /** Answers by status; for the product every one must be 202. */
  statuses: Record<string, number>;
  errors: number;
}

export interface TriggerPathResult {
  /** The saturation rounds of each side taken together (latencies: the median round's). */
  ours: LoadFigures;
  baseline: LoadFigures;
  /** ours / baseline, requests per second at saturation over all rounds. */
  ratio: number;
  /** Each round's ours / baseline (the two sides alternate, so a swing of the machine meets both). */
  roundRatios: number[];
  /** The product at a fixed 300 req/s. */
  fixedRate: LoadFigures;
  baselineFixedRate: LoadFigures;
  apiRss: { rssMb: number; peakMb: number };
  baselineRss: { rssMb: number; peakMb: number };
  connections: number;
  durationSec: number;
  /** Redis commands and sequential round trips per trigger, counted on a private redis-server. */
  redisCost: RedisCostFigures;
  /** CPU per request (serving process, redis-server) on a private redis-server, product and baseline. */
  cpuCost: { ours: CpuCostFigures; baseline: CpuCostFigures };
}

const CONNECTIONS = 50;
/** Seconds of saturation per side, in ROUNDS alternating rounds (ours, bare, ours, bare, …). */
const DURATION_SEC = Number(process.env.BENCH_DURATION_SEC ?? 15);
const ROUNDS = Number(process.env.BENCH_TRIGGER_ROUNDS ?? 3);
const FIXED_RATE = 300;
const COUNTED_TRIGGERS = 300;
/** Requests (and connections) of the CPU-per-request measurement. */
const CPU_REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 5000);
const CPU_CONNECTIONS = 20;
/** The api service's NODE_OPTIONS in docker-compose.yml. */
export const PRODUCTION_NODE_OPTIONS = '--max-old-space-size=128';

/** One autocannon run: every request gets its own `n`, so no two are the same run. */
export async function load(baseUrl: string, pathOf: (n: number) => string, headers: Record<string, string>, options: { durationSec: number; overallRate?: number; connections?: number }): Promise<LoadFigures> {
  let n = Math.floor(Math.random() * 1e9);
  const result = await autocannon({
    url: baseUrl,
    connections: options.connections ?? CONNECTIONS,
    duration: options.durationSec,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    requests: [
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...headers },
        setupRequest: (req) => {
          n += 1;
          return { ...req, path: pathOf(n), body: JSON.stringify({ n }) };
        },
      },
    ],
  });
  const statuses: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statuses[code] = stat.count ?? 0;
  return { requestsPerSec: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99, total: result.requests.total, statuses, errors: result.errors };
}

export function startBaseline(prefix: string, redisUrl = REDIS_URL): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'baseline-koa-server.ts'), redisUrl, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`baseline server exited with ${code}`)));
    child.stdout?.on('data', (b: Buffer) => {
      const m = /listening (\d+)/.exec(b.toString('utf8'));
      if (m) resolve({ child, url: `http://127.0.0.1:${m[1]}` });
    });
  });
}

/**
 * A second API process on a private redis-server: one trigger at a time, counted at that server (see
 * redis-cost.ts); then CPU per request under load of the API and of redis-server, and the same for the
 * baseline route on the same private server.
 */
export async function redisCostPerTrigger(configsDir: string): Promise<{ redisCost: RedisCostFigures; cpuCost: { ours: CpuCostFigures; baseline: CpuCostFigures } }> {
  // Its own warehouse too: the bench tenant already exists in the first one.
  const bigquery = await startFakeBigQuery();
  const redis = await startPrivateRedis();
  const cluster = createCluster({ bigquery, redis: { kind: 'standalone', url: redis.url }, compiled: true, env: { CONFIGS_DIR: configsDir, NODE_OPTIONS: PRODUCTION_NODE_OPTIONS, ...UNTHROTTLED_ENV } });
  try {
    const api = await cluster.start('api');
    const apiKey = await onboardTenant(api, cluster.adminKey, BENCH_TENANT, BENCH_PLAN);
    const request = { redisUrl: redis.url, baseUrl: api.url, path: BENCH_RUN_PATH, headers: { 'X-API-Key': apiKey } };
    // Warm-up: caches filled, scripts loaded, so the count is of the steady state.
    await measureRedisCost({ ...request, triggers: 50 });
    const redisCost = await measureRedisCost({ ...request, triggers: COUNTED_TRIGGERS });
    const cpu = { redisUrl: redis.url, requests: CPU_REQUESTS, connections: CPU_CONNECTIONS };
    // Warm-up of the JIT under load, then the counted batch.
    await measureCpuCost({ ...cpu, requests: 1000, baseUrl: api.url, pathOf: () => BENCH_RUN_PATH, headers: request.headers, processCpuMs: () => cpuMsOf(api.pid) });
    const ours = await measureCpuCost({ ...cpu, baseUrl: api.url, pathOf: () => BENCH_RUN_PATH, headers: request.headers, processCpuMs: () => cpuMsOf(api.pid) });
    const baseline = await startBaseline('benchcpu', redis.url);
    try {
      const pid = baseline.child.pid ?? 0;
      const basePath = (n: number): string => `/run/${BENCH_TENANT}/gcp/cost/${n}`;
      await measureCpuCost({ ...cpu, requests: 1000, baseUrl: baseline.url, pathOf: basePath, headers: {}, processCpuMs: () => cpuMsOf(pid) });
      const base = await measureCpuCost({ ...cpu, baseUrl: baseline.url, pathOf: basePath, headers: {}, processCpuMs: () => cpuMsOf(pid) });
      return { redisCost, cpuCost: { ours, baseline: base } };
    } finally {
      baseline.child.kill('SIGKILL');
    }
  } finally {
    await cluster.close();
    await redis.close();
    await bigquery.close();
  }
}

export async function runTriggerPathBench(log: (line: string) => void = () => undefined): Promise<TriggerPathResult> {
  const bigquery = await startFakeBigQuery();
  const configs = benchConfigs();
  // The API runs as the production image runs it: the compiled build, with docker-compose.yml's heap cap.
  log('trigger path: building dist/ (npm run build)');
  execFileSync('npm', ['run', 'build'], { cwd: path.resolve(__dirname, '..'), stdio: 'ignore' });
  const cluster = createCluster({ bigquery, redis: { kind: 'standalone', url: REDIS_URL }, compiled: true, env: { CONFIGS_DIR: configs.dir, NODE_OPTIONS: PRODUCTION_NODE_OPTIONS, ...UNTHROTTLED_ENV } });
  const basePrefix = `benchbase${randomBytes(3).toString('hex')}`;
  let baseline: { child: ChildProcess; url: string } | undefined;
  try {
    const api = await cluster.start('api');
    const apiKey = await onboardTenant(api, cluster.adminKey, BENCH_TENANT, BENCH_PLAN);
    const probe = await callApi(api, 'POST', BENCH_RUN_PATH, { apiKey, body: { n: -1 } });
    if (probe.status !== 202) throw new Error(`probe trigger answered ${probe.status} ${JSON.stringify(probe.body)}`);
    const ourPath = (): string => BENCH_RUN_PATH;
    const auth = { 'X-API-Key': apiKey };

    baseline = await startBaseline(basePrefix);
    const base = baseline;
    const basePath = (n: number): string => `/run/${BENCH_TENANT}/gcp/cost/${n}`;
    log('trigger path: warm-up (product, then baseline)');
    await load(api.url, ourPath, auth, { durationSec: 2 });
    await load(base.url, basePath, {}, { durationSec: 2 });
    // The machine's speed swings by tens of percent within minutes: the sides alternate in short rounds, so a swing
    // lands on both instead of on whichever side ran during it.
    const roundSec = Math.max(1, Math.round(DURATION_SEC / ROUNDS));
    const ourRounds: LoadFigures[] = [];
    const baseRounds: LoadFigures[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      log(`trigger path: saturation round ${round}/${ROUNDS}, ${CONNECTIONS} connections, ${roundSec} s each (product, then baseline)`);
      ourRounds.push(await load(api.url, ourPath, auth, { durationSec: roundSec }));
      baseRounds.push(await load(base.url, basePath, {}, { durationSec: roundSec }));
    }
    log(`trigger path: product, then baseline, at a fixed ${FIXED_RATE} req/s, 10 s`);
    const fixedRate = await load(api.url, ourPath, auth, { durationSec: 10, overallRate: FIXED_RATE, connections: 10 });
    const baselineFixedRate = await load(base.url, basePath, {}, { durationSec: 10, overallRate: FIXED_RATE, connections: 10 });
    const apiRss = rssOf(api.pid);
    const baselineRss = rssOf(base.child.pid ?? 0);
    base.child.kill('SIGKILL');
    log(`trigger path: Redis commands and round trips, ${COUNTED_TRIGGERS} triggers one at a time on a private redis-server`);
    const { redisCost, cpuCost } = await redisCostPerTrigger(configs.dir);
    const ours = combineRounds(ourRounds, roundSec);
    const bare = combineRounds(baseRounds, roundSec);
    const roundRatios = ourRounds.map((f, i) => f.requestsPerSec / (baseRounds[i]?.requestsPerSec ?? NaN));
    return { ours, baseline: bare, ratio: ours.requestsPerSec / bare.requestsPerSec, roundRatios, fixedRate, baselineFixedRate, apiRss, baselineRss, connections: CONNECTIONS, durationSec: roundSec * ROUNDS, redisCost, cpuCost };
  } finally {
    baseline?.child.kill('SIGKILL');
    await cluster.close();
    await bigquery.close();
    configs.cleanup();
    await dropPrefix(basePrefix);
  }
}

/** Rounds of one side as one run: requests and answers added up, the latencies of the median round (by req/s). */
export function combineRounds(rounds: LoadFigures[], roundSec: number): LoadFigures {
  const total = rounds.reduce((sum, f) => sum + f.total, 0);
  const statuses: Record<string, number> = {};
  for (const f of rounds) for (const [code, n] of Object.entries(f.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
  const median = [...rounds].sort((a, b) => a.requestsPerSec - b.requestsPerSec)[Math.floor(rounds.length / 2)];
  return {
    requestsPerSec: total / (roundSec * rounds.length),
    p50Ms: median?.p50Ms ?? NaN,
    p99Ms: median?.p99Ms ?? NaN,
    total,
    statuses,
    errors: rounds.reduce((sum, f) => sum + f.errors, 0),
  };
}

/** Every answer of the product's load was 202 (no 200 de-dup, no 429, no 5xx) and nothing failed at the socket. */
export const all202 = (f: LoadFigures): boolean => f.errors === 0 && Object.keys(f.statuses).every((code) => code === '202');

if (require.main === module) {
  runTriggerPathBench((line) => console.error(line))
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
