import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { lockPathFor } from '../../src/warehouse/duckdb-lock';
import { closeAll, configsWith, eventually, freePort } from '../helpers/processes';
import { portIsFree } from '../helpers/polling';
import { dropTestKeys } from '../helpers/redis';
import { singleRedis } from '../helpers/redis-targets';

/**
 * Issue 11.5: `npm start`, stopped however it is asked, drains and exits cleanly. Only the npm process is
 * signalled (as `kill <pid>` or an orchestrator does): the node process under it must stop too, free the
 * port and the DuckDB lock file, log "stopped", and npm must exit 0.
 */
const ROOT = path.resolve(__dirname, '../..');
const SHUTDOWN_TIMEOUT_MS = 1500;
/** Bounds the wait for the stop (boot of a tsx process on a busy machine included); not a timing assertion. */
const STOP_BOUND_MS = SHUTDOWN_TIMEOUT_MS + 20_000;
const SLOW = `description: A query that outlives the shutdown timeout
version: 1.0.0
timeout_minutes: 5
steps:
  - id: long_scan
    type: query
    sql: SELECT SUM(a.range * b.range) AS s FROM range(200000) a, range(200000) b
`;

interface NpmStart {
  npm: ChildProcess;
  port: number;
  dataDir: string;
  prefix: string;
  adminKey: string;
  /** npm leads a process group of its own. */
  group: boolean;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * `privateRedis`: REDIS_URL names a free port, so npm start launches its own redis-server (the embedded default);
 * npm then runs in a process group of its own, as in a terminal, so a test can send Ctrl-C to the whole group.
 */
async function npmStart(configsDir: string, options: { privateRedis?: boolean } = {}): Promise<NpmStart> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-npm-stop-'));
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const adminKey = `admin_${randomBytes(12).toString('hex')}`;
  const target = await singleRedis.target();
  if (target.kind !== 'standalone') throw new Error('needs the single test Redis');
  const redis = options.privateRedis ? { REDIS_URL: `redis://127.0.0.1:${await freePort()}`, REDIS_AUTOSTART: 'true' } : { REDIS_URL: target.url, REDIS_AUTOSTART: 'false' };
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir,
      ...redis, REDIS_KEY_PREFIX: prefix, ADMIN_API_KEY: adminKey,
      SCHEDULER_MODE: 'external', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), CONFIGS_DIR: configsDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.privateRedis === true,
  });
  const chunks: string[] = [];
  npm.stdout?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  npm.stderr?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  const started: NpmStart = { npm, port, dataDir, prefix, adminKey, group: options.privateRedis === true, output: () => chunks.join(''), exited };
  await eventually('npm start to answer /health/ready', async () => {
    if (npm.exitCode !== null) throw new Error(`npm start exited during boot:\n${started.output()}`);
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null);
    return res?.status === 200 ? true : undefined;
  }, 60_000);
  return started;
}

/** The private redis-server's pid, from the start's log line (it runs in a process group of its own). */
const privateRedisPid = (s: NpmStart): number => Number(/"pid":(\d+)[^\n]*started a private redis-server/.exec(s.output())?.[1] ?? NaN);

function killGroupOr(s: NpmStart): void {
  const kill = (pid: number): void => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  kill(s.group ? -(s.npm.pid ?? 1) : (s.npm.pid ?? -1));
  const redisPid = privateRedisPid(s);
  if (Number.isInteger(redisPid)) kill(redisPid);
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function api(s: NpmStart, method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`http://127.0.0.1:${s.port}${url}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return (await res.json()) as Record<string, unknown>;
}

describe('stopping `npm start` by signalling only the npm process', function () {
  this.timeout(120_000);
  let configs: { dir: string; cleanup(): void };
  let current: NpmStart | undefined;

  before(() => {
    configs = configsWith({ 'gcp/test/slow.yml': SLOW });
  });
  afterEach(async function () {
    const s = current;
    current = undefined;
    if (!s) return;
    if (this.currentTest?.state === 'failed') process.stderr.write(`${s.output().slice(-10_000)}\n`);
    await closeAll(
      // The whole group when npm leads one (a private Redis's test): node and redis-server must not outlive a failure.
      () => (s.npm.exitCode === null || s.group ? killGroupOr(s) : undefined),
      async () => dropTestKeys(await singleRedis.target(), s.prefix),
      () => fs.rmSync(s.dataDir, { recursive: true, force: true }),
    );
  });
  after(() => configs?.cleanup());

  /** Signals npm (or, `group`, its whole process group as Ctrl-C in a terminal does), then checks what a clean stop leaves behind. */
  async function stopsCleanly(s: NpmStart, signal: NodeJS.Signals, group = false): Promise<void> {
    const lock = lockPathFor(path.join(s.dataDir, 'warehouse.duckdb'));
    const nodePid = Number(fs.readFileSync(lock, 'utf8').trim());
    expect(nodePid).to.be.greaterThan(0).and.not.equal(s.npm.pid);
    process.kill(group ? -(s.npm.pid ?? 1) : (s.npm.pid ?? -1), signal);
    let bound: NodeJS.Timeout | undefined;
    const exit = await Promise.race([s.exited, new Promise<null>((r) => (bound = setTimeout(() => r(null), STOP_BOUND_MS)))]);
    clearTimeout(bound);
    expect(exit, 'npm exited').to.deep.equal({ code: 0, signal: null });
    await eventually('the node process to be gone', async () => (alive(nodePid) ? undefined : true), 5_000);
    expect(await portIsFree(s.port), 'port free').to.equal(true);
    expect(fs.existsSync(lock), 'DuckDB lock file removed').to.equal(false);
    expect(s.output()).to.include(`"signal":"${signal}","msg":"shutting down"`);
    expect(s.output()).to.include('"msg":"stopped"');
  }

  /** Onboards a tenant and starts the slow run; resolves once it is RUNNING. */
  async function runGoing(s: NpmStart): Promise<void> {
    const onboarded = await api(s, 'POST', '/api/v1/tenants/onboard', { 'X-Admin-Key': s.adminKey }, {
      tenant_id: 'stop_corp', company_name: 'Stop Inc', admin_email: 'admin@stopcorp.com', subscription_plan: 'SCALE',
    });
    const apiKey = String(onboarded.api_key);
    const run = await api(s, 'POST', '/api/v1/pipelines/run/stop_corp/gcp/test/slow', { 'X-API-Key': apiKey }, {});
    await eventually('the run to be RUNNING', async () => {
      const live = await api(s, 'GET', `/api/v1/pipelines/runs/${String(run.pipeline_logging_id)}`, { 'X-API-Key': apiKey });
      return live.status === 'RUNNING' ? true : undefined;
    });
  }

  it('SIGTERM: drains, hands back the run still going after SHUTDOWN_TIMEOUT_MS, frees port and lock, exits 0', async () => {
    const s = (current = await npmStart(configs.dir));
    await runGoing(s);
    await stopsCleanly(s, 'SIGTERM');
  });

  it('Ctrl-C to the whole group on the private redis-server: Redis outlives the drain, then stops with it', async () => {
    const s = (current = await npmStart(configs.dir, { privateRedis: true }));
    expect(s.output()).to.include('started a private redis-server');
    const redisPid = privateRedisPid(s);
    expect(alive(redisPid), 'the private redis-server runs').to.equal(true);
    await runGoing(s);
    await stopsCleanly(s, 'SIGINT', true);
    expect(s.output(), 'no command failed for want of Redis').to.not.include('ECONNREFUSED');
    await eventually('the private redis-server to be stopped', async () => (alive(redisPid) ? undefined : true), 10_000);
  });

  it('SIGINT (Ctrl-C): frees port and lock, logs "stopped", exits 0', async () => {
    const s = (current = await npmStart(configs.dir));
    // The start says which Redis it uses (one answered, so none was started).
    expect(s.output()).to.match(/"redis":"redis:\/\/127\.0\.0\.1:\d+","msg":"using the Redis that answers"/);
    await stopsCleanly(s, 'SIGINT');
  });
});
