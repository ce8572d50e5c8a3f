import { expect } from 'chai';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { redisAnswers } from '../../src/redis/local-server';

const ROOT = path.resolve(__dirname, '../..');

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startMain(env: Record<string, string>, role = 'all'): Started {
  let out = '';
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', role], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'development', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function waitReady(port: number, timeoutMs = 30000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready on ${port}`);
}

describe('the `npm start` process (embedded defaults)', function () {
  this.timeout(60000);
  let dataDir: string;
  let apiPort: number;
  let redisPort: number;
  let main: Started;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-main-'));
    apiPort = await freePort();
    redisPort = await freePort();
    main = startMain({ DATA_DIR: dataDir, PORT: String(apiPort), REDIS_URL: `redis://127.0.0.1:${redisPort}`, REDIS_AUTOSTART: 'true', ADMIN_API_KEY: '' });
    await waitReady(apiPort);
  });
  after(async () => {
    if (main.child.exitCode === null) main.child.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts a private redis-server under DATA_DIR/redis with AOF when nothing answers at REDIS_URL', async () => {
    expect(await redisAnswers(`redis://127.0.0.1:${redisPort}`)).to.equal(true);
    expect(fs.existsSync(path.join(dataDir, 'redis'))).to.equal(true);
    expect(main.output()).to.include('started a private redis-server');
  });

  it('creates the DuckDB warehouse, the keyring and the admin key (0600) under DATA_DIR and logs where the key is, not the key', () => {
    expect(fs.existsSync(path.join(dataDir, 'warehouse.duckdb'))).to.equal(true);
    expect(fs.statSync(path.join(dataDir, 'keyring.json')).mode & 0o777).to.equal(0o600);
    const keyFile = path.join(dataDir, 'admin-key');
    expect(fs.statSync(keyFile).mode & 0o777).to.equal(0o600);
    const adminKey = fs.readFileSync(keyFile, 'utf8').trim();
    expect(main.output()).to.include(keyFile);
    expect(main.output()).not.to.include(adminKey);
  });

  it('refuses a second role process on the same DuckDB file, naming the fix', async () => {
    const second = startMain({ DATA_DIR: dataDir, PORT: String(await freePort()), REDIS_URL: `redis://127.0.0.1:${redisPort}` }, 'worker');
    const code = await second.exited;
    expect(code).to.not.equal(0);
    expect(second.output()).to.match(/ROLE=all|WAREHOUSE=bigquery/);
  });

  it('shuts down on SIGTERM with exit code 0 and stops its private Redis', async () => {
    main.child.kill('SIGTERM');
    expect(await main.exited).to.equal(0);
    expect(await redisAnswers(`redis://127.0.0.1:${redisPort}`, 300)).to.equal(false);
  });
});

describe('a bad configuration value', () => {
  it('exits non-zero naming the variable', async () => {
    const started = startMain({ PORT: 'eighty' });
    expect(await started.exited).to.not.equal(0);
    expect(started.output()).to.include('PORT');
  });
});
