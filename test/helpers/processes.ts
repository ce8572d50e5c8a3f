/**
 * Multi-process harness: the product as separate OS processes (`node --import tsx src/main.ts <role>`),
 * the way it is deployed, for crash, contention and outage tests and chaos benchmarks.
 *
 *   const bq = await startFakeBigQuery();                        // in this process; children reach it over HTTP
 *   const cluster = createCluster({ bigquery: bq, env: { WORKER_LOCK_DURATION_MS: '2000' } });
 *   const api = await cluster.start('api');                      // resolves once /health/ready answers 200
 *   const worker = await cluster.start('worker');                // resolves once the role logged "convergence started"
 *   const res = await callApi(api, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: {...} });
 *   worker.kill('SIGKILL'); await worker.exited;
 *   await cluster.close();                                       // kills what is left, deletes its Redis keys and temp dir
 *
 * Processes of one cluster share a Redis key prefix, DATA_DIR (local keyring), the admin key and the
 * warehouse: DuckDB allows one process per file, so they use WAREHOUSE=bigquery against the fake server
 * (without `bigquery`, a single `all` process runs on the embedded DuckDB under DATA_DIR, as `npm start`).
 * `redis` picks the Redis they share: the single test server by default, or a Redis Cluster
 * (REDIS_CLUSTER_NODES) — "cluster" here means the group of processes, not Redis Cluster.
 * `startPrivateRedis()` gives a redis-server of its own (AOF on) for tests that stop or crash Redis.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { RedisTarget } from '../../src/redis/connection';
import { redisAnswers } from '../../src/redis/local-server';
import type { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { FakeBigQueryServer } from './fake-bigquery/server';
import type { FakeBigQueryOptions } from './fake-bigquery/server';
import { eventually, freePort } from './polling';
import { dropTestKeys } from './redis';
import { redisEnvOf, TEST_REDIS_URL } from './redis-targets';
import { createTestDuckDb } from './warehouse';

export { closeAll, eventually, freePort } from './polling';

const REPO_ROOT = path.resolve(__dirname, '../..');
export type ProcessRole = 'all' | 'api' | 'worker' | 'scheduler';

// ── fake BigQuery ─────────────────────────────────────────────────────────────

export interface FakeBigQuery {
  server: FakeBigQueryServer;
  /** The DuckDB file the server executes on: read it directly to check what the processes wrote. */
  duckdb: DuckDbWarehouse;
  /** WAREHOUSE, GCP_PROJECT_ID and BIGQUERY_API_ENDPOINT for a child process. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** The fake BigQuery REST server, in this process, on a fresh DuckDB file. */
export async function startFakeBigQuery(options: FakeBigQueryOptions = {}): Promise<FakeBigQuery> {
  const backing = await createTestDuckDb();
  const server = await new FakeBigQueryServer(backing.warehouse, undefined, undefined, options).start();
  return {
    server,
    duckdb: backing.warehouse,
    env: { WAREHOUSE: 'bigquery', GCP_PROJECT_ID: server.projectId, BIGQUERY_API_ENDPOINT: server.url, BIGQUERY_LOCATION: server.location },
    async close() {
      await server.stop();
      await backing.cleanup();
    },
  };
}

export interface HeldStatement {
  /** Resolves with the SQL text once a matching statement reached the fake server's DuckDB. */
  arrived: Promise<string>;
  /** Lets it run. */
  release(): void;
  /** Resolves once the released statement finished (or failed) on DuckDB. */
  finished: Promise<void>;
}

/**
 * Holds the first statement matching `match` before it executes on the fake server's DuckDB, so a test
 * can act (kill the process that sent it) at a known point of a run instead of racing a slow query.
 * Only the first match is held; later statements run as usual.
 */
export function holdStatement(duckdb: DuckDbWarehouse, match: (sql: string) => boolean): HeldStatement {
  const original = duckdb.queryWithColumnTypes.bind(duckdb);
  let onArrive: (sql: string) => void = () => undefined;
  let release: () => void = () => undefined;
  let onFinish: () => void = () => undefined;
  const arrived = new Promise<string>((r) => (onArrive = r));
  const gate = new Promise<void>((r) => (release = r));
  const finished = new Promise<void>((r) => (onFinish = r));
  let armed = true;
  duckdb.queryWithColumnTypes = async (sql, options) => {
    if (!armed || !match(sql)) return original(sql, options);
    armed = false;
    onArrive(sql);
    await gate;
    try {
      return await original(sql, options);
    } finally {
      onFinish();
    }
  };
  return { arrived, release: () => release(), finished };
}

// ── role processes ────────────────────────────────────────────────────────────

export interface RoleProcess {
  role: ProcessRole;
  pid: number;
  /** Base URL of an API process (`http://127.0.0.1:<port>`); empty for other roles. */
  url: string;
  child: ChildProcess;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the process wrote to stdout and stderr so far (pino JSON lines). */
  output(): string;
  kill(signal?: NodeJS.Signals): void;
}

export interface ClusterOptions {
  /** Omitted: the embedded defaults (DuckDB under DATA_DIR), so only one process of the cluster may run. */
  bigquery?: FakeBigQuery;
  /** Defaults to the single test Redis server. */
  redis?: RedisTarget;
  /** Extra variables for every process (RATE_LIMIT_*, WORKER_LOCK_DURATION_MS, CONFIGS_DIR …). */
  env?: Record<string, string>;
  /** Run the compiled build (`node dist/main.js`, as the production image does) instead of the sources under tsx. */
  compiled?: boolean;
}

export interface Cluster {
  prefix: string;
  dataDir: string;
  adminKey: string;
  redis: RedisTarget;
  processes: RoleProcess[];
  /** Starts a role process and resolves once it is ready; extra env (and node flags, e.g. --cpu-prof) for this process only. */
  start(role: ProcessRole, env?: Record<string, string>, nodeArgs?: string[]): Promise<RoleProcess>;
  /** The output of every process, for a failed test's report. */
  output(): string;
  /** Stops every live process (SIGKILL), deletes the cluster's Redis keys and its DATA_DIR. */
  close(): Promise<void>;
}

export function createCluster(options: ClusterOptions): Cluster {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-mp-'));
  const adminKey = `admin_${randomBytes(12).toString('hex')}`;
  const redis: RedisTarget = options.redis ?? { kind: 'standalone', url: TEST_REDIS_URL };
  const processes: RoleProcess[] = [];
  let apiBoot: Promise<void> = Promise.resolve();
  const baseEnv: Record<string, string> = {
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    ...redisEnvOf(redis),
    REDIS_AUTOSTART: 'false',
    REDIS_KEY_PREFIX: prefix,
    ADMIN_API_KEY: adminKey,
    // Info level: readiness is read from the "convergence started" line; the output stays in memory.
    LOG_LEVEL: 'info',
    SCHEDULER_MODE: 'external',
    SHUTDOWN_TIMEOUT_MS: '1000',
    ...options.bigquery?.env,
    ...options.env,
  };
  return {
    prefix,
    dataDir,
    adminKey,
    redis,
    processes,
    async start(role, env = {}, nodeArgs = []) {
      const serves = role === 'api' || role === 'all';
      // API processes boot one at a time: each runs bootstrapCentral (CREATE OR REPLACE VIEW …), and two at
      // once collide on the warehouse catalog (the fake answers a DuckDB write-write conflict; real BigQuery
      // can answer 409). Workers do not bootstrap and start in parallel.
      const previous = serves ? apiBoot : Promise.resolve();
      let done: () => void = () => undefined;
      const mine = new Promise<void>((r) => (done = r));
      if (serves) apiBoot = previous.then(() => mine);
      await previous;
      try {
        const port = serves ? await freePort() : 0;
        const proc = spawnRole(role, { ...baseEnv, PORT: String(port), ...env }, port, options.compiled ?? false, nodeArgs);
        processes.push(proc);
        await waitUntilReady(proc);
        return proc;
      } finally {
        done();
      }
    },
    output: () => processes.map((p) => `── ${p.role} pid ${p.pid} ──\n${p.output()}`).join('\n'),
    async close() {
      for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.kill('SIGKILL');
      await Promise.all(processes.map((p) => p.exited));
      await dropTestKeys(redis, prefix);
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function spawnRole(role: ProcessRole, env: Record<string, string>, port: number, compiled: boolean, nodeArgs: string[]): RoleProcess {
  // `node --import tsx` keeps the product in this one pid (npx/tsx wrappers would add parent processes).
  const args = [...nodeArgs, ...(compiled ? ['dist/main.js', role] : ['--import', 'tsx', 'src/main.ts', role])];
  const child = spawn(process.execPath, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  child.stdout?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  child.stderr?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
    else child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    role,
    pid: child.pid ?? -1,
    url: port > 0 ? `http://127.0.0.1:${port}` : '',
    child,
    exited,
    output: () => chunks.join(''),
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}

async function waitUntilReady(proc: RoleProcess, timeoutMs = 20_000): Promise<void> {
  let gone = false;
  void proc.exited.then(() => (gone = true));
  await eventually(`${proc.role} process ${proc.pid} to be ready`, async () => {
    if (gone) throw new Error(`${proc.role} process exited during start:\n${proc.output()}`);
    if (!proc.output().includes('"msg":"convergence started"')) return undefined;
    if (!proc.url) return true;
    const res = await fetch(`${proc.url}/health/ready`).catch(() => null);
    return res?.status === 200 ? true : undefined;
  }, timeoutMs);
}

// ── HTTP ──────────────────────────────────────────────────────────────────────

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
  /** Wall time of the request, ms. */
  ms: number;
}

export interface CallOptions {
  apiKey?: string;
  adminKey?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Gives up (rejects with a TimeoutError) when no answer came within this long. */
  timeoutMs?: number;
}

/** One HTTP request to an API process; the JSON body is parsed (an empty object when there is none). */
export async function callApi(target: RoleProcess | string, method: string, urlPath: string, options: CallOptions = {}): Promise<ApiResponse> {
  const base = typeof target === 'string' ? target : target.url;
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey) headers['X-API-Key'] = options.apiKey;
  if (options.adminKey) headers['X-Admin-Key'] = options.adminKey;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const started = performance.now();
  const signal = options.timeoutMs === undefined ? undefined : AbortSignal.timeout(options.timeoutMs);
  const res = await fetch(`${base}${urlPath}`, { method, headers, ...(signal ? { signal } : {}), ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  const text = await res.text();
  const ms = performance.now() - started;
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body, ms };
}

/** Onboards a tenant through an API process and returns its API key. */
export async function onboardTenant(api: RoleProcess, adminKey: string, tenantId: string, plan = 'STARTER'): Promise<string> {
  const res = await callApi(api, 'POST', '/api/v1/tenants/onboard', {
    adminKey,
    body: { tenant_id: tenantId, company_name: `${tenantId} Inc`, admin_email: `admin@${tenantId.replace(/_/g, '')}.com`, subscription_plan: plan },
  });
  if (res.status !== 201) throw new Error(`onboarding ${tenantId} failed: ${res.status} ${JSON.stringify(res.body)}`);
  return String(res.body['api_key']);
}

const TERMINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Polls a run through an API process until it is terminal; returns the run body. */
export async function waitForRunEnd(api: RoleProcess, apiKey: string, runId: string, timeoutMs = 20_000): Promise<ApiResponse['body']> {
  return eventually(`run ${runId} to end`, async () => {
    const res = await callApi(api, 'GET', `/api/v1/pipelines/runs/${runId}`, { apiKey });
    return TERMINAL.has(String(res.body['status'])) ? res.body : undefined;
  }, timeoutMs, 100);
}

// ── configs ───────────────────────────────────────────────────────────────────

/** A temporary copy of configs/ plus extra templates (`{'gcp/chaos/x.yml': yaml}`); removed by the returned cleanup. */
export function configsWith(templates: Record<string, string>): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-configs-'));
  fs.cpSync(path.join(REPO_ROOT, 'configs'), dir, { recursive: true });
  for (const [rel, text] of Object.entries(templates)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// ── private Redis ─────────────────────────────────────────────────────────────

export interface PrivateRedis {
  url: string;
  port: number;
  /** Its data directory (AOF); kept across restart(). */
  dir: string;
  /** SIGSTOP: connections stay open but nothing answers (the hard case for timeouts). */
  pause(): void;
  resume(): void;
  /** SIGKILL, no shutdown save: only what is in the AOF survives. */
  crash(): Promise<void>;
  /** Starts it again on the same port and directory (after crash()). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess;
  const launch = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '', '--daemonize', 'no'], {
      stdio: 'ignore',
    });
    await eventually('private redis-server to answer', async () => ((await redisAnswers(url, 200)) ? true : undefined), 5000);
  };
  const killed = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  };
  await launch();
  return {
    url,
    port,
    dir,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    crash: killed,
    restart: launch,
    async close() {
      await killed();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
