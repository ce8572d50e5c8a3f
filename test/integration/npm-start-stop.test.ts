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
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

async function npmStart(configsDir: string): Promise<NpmStart> {
  const port = await freePort();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-npm-stop-'));
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const adminKey = `admin_${randomBytes(12).toString('hex')}`;
  const target = await singleRedis.target();
  if (target.kind !== 'standalone') throw new Error('needs the single test Redis');
  const npm = spawn('npm', ['start'], {
    cwd: ROOT,
    env: {
      ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir,
      REDIS_URL: target.url, REDIS_AUTOSTART: 'false', REDIS_KEY_PREFIX: prefix, ADMIN_API_KEY: adminKey,
      SCHEDULER_MODE: 'external', SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS), CONFIGS_DIR: configsDir,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const chunks: string[] = [];
  npm.stdout?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  npm.stderr?.on('data', (b: Buffer) => chunks.push(b.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => npm.once('exit', (code, signal) => resolve({ code, signal })));
  const started: NpmStart = { npm, port, dataDir, prefix, adminKey, output: () => chunks.join(''), exited };
  await eventually('npm start to answer /health/ready', async () => {
    if (npm.exitCode !== null) throw new Error(`npm start exited during boot:\n${started.output()}`);
    const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => null);
    return res?.status === 200 ? true : undefined;
  }, 60_000);
  return started;
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
      () => (s.npm.exitCode === null ? s.npm.kill('SIGKILL') : undefined),
      async () => dropTestKeys(await singleRedis.target(), s.prefix),
      () => fs.rmSync(s.dataDir, { recursive: true, force: true }),
    );
  });
  after(() => configs?.cleanup());

  /** Signals npm, then checks what a clean stop leaves behind. */
  async function stopsCleanly(s: NpmStart, signal: NodeJS.Signals): Promise<void> {
    const lock = lockPathFor(path.join(s.dataDir, 'warehouse.duckdb'));
    const nodePid = Number(fs.readFileSync(lock, 'utf8').trim());
    expect(nodePid).to.be.greaterThan(0).and.not.equal(s.npm.pid);
    process.kill(s.npm.pid ?? -1, signal);
    const exit = await Promise.race([s.exited, new Promise<null>((r) => setTimeout(() => r(null), STOP_BOUND_MS))]);
    expect(exit, 'npm exited').to.deep.equal({ code: 0, signal: null });
    await eventually('the node process to be gone', async () => (alive(nodePid) ? undefined : true), 5_000);
    expect(await portIsFree(s.port), 'port free').to.equal(true);
    expect(fs.existsSync(lock), 'DuckDB lock file removed').to.equal(false);
    expect(s.output()).to.include(`"signal":"${signal}","msg":"shutting down"`);
    expect(s.output()).to.include('"msg":"stopped"');
  }

  it('SIGTERM: drains, hands back the run still going after SHUTDOWN_TIMEOUT_MS, frees port and lock, exits 0', async () => {
    const s = (current = await npmStart(configs.dir));
    const onboarded = await api(s, 'POST', '/api/v1/tenants/onboard', { 'X-Admin-Key': s.adminKey }, {
      tenant_id: 'stop_corp', company_name: 'Stop Inc', admin_email: 'admin@stopcorp.com', subscription_plan: 'SCALE',
    });
    const apiKey = String(onboarded.api_key);
    const run = await api(s, 'POST', '/api/v1/pipelines/run/stop_corp/gcp/test/slow', { 'X-API-Key': apiKey }, {});
    await eventually('the run to be RUNNING', async () => {
      const live = await api(s, 'GET', `/api/v1/pipelines/runs/${String(run.pipeline_logging_id)}`, { 'X-API-Key': apiKey });
      return live.status === 'RUNNING' ? true : undefined;
    });
    await stopsCleanly(s, 'SIGTERM');
  });

  it('SIGINT (Ctrl-C): frees port and lock, logs "stopped", exits 0', async () => {
    const s = (current = await npmStart(configs.dir));
    await stopsCleanly(s, 'SIGINT');
  });
});
