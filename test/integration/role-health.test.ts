import { expect } from 'chai';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { callApi, closeAll, createCluster, freePort, startFakeBigQuery } from '../helpers/processes';
import type { Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';

const ROOT = path.resolve(__dirname, '../..');

/** Runs the image's HEALTHCHECK command (from the sources) with the given environment; never blocks this process,
 * which serves the fake BigQuery the probed process pings. */
function runHealthcheck(env: Record<string, string>): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/healthcheck.ts'], { cwd: ROOT, env: { ...process.env, NODE_ENV: 'test', HOST: '0.0.0.0', ...env } }, (err, stdout) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout });
    });
  });
}

describe('health of worker and scheduler processes (HEALTH_PORT)', function () {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let worker: RoleProcess;
  let workerHealth: number;
  let schedulerHealth: number;

  before(async () => {
    bq = await startFakeBigQuery();
    cluster = createCluster({ bigquery: bq });
    [workerHealth, schedulerHealth] = [await freePort(), await freePort()];
    worker = await cluster.start('worker', { HEALTH_PORT: String(workerHealth) });
    await cluster.start('scheduler', { HEALTH_PORT: String(schedulerHealth) });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-10_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close()));

  it('a worker answers 200 ready on HEALTH_PORT after checking Redis and the warehouse', async () => {
    const res = await callApi(`http://127.0.0.1:${workerHealth}`, 'GET', '/health/ready');
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal({ status: 'ready', checks: { redis: true, warehouse: true } });
  });

  it('the scheduler answers on its own HEALTH_PORT', async () => {
    const res = await callApi(`http://127.0.0.1:${schedulerHealth}`, 'GET', '/health/ready');
    expect(res.status).to.equal(200);
    expect(res.body['status']).to.equal('ready');
  });

  it('the image healthcheck passes for the worker, following ROLE to HEALTH_PORT', async () => {
    const probe = await runHealthcheck({ ROLE: 'worker', PORT: String(await freePort()), HEALTH_PORT: String(workerHealth) });
    expect(probe.stdout).to.match(/^healthy: http:\/\/127\.0\.0\.1:\d+\/health\/ready 200 /);
    expect(probe.code).to.equal(0);
  });

  it('the image healthcheck fails, saying why, when the role’s port has no process behind it', async () => {
    const api = await runHealthcheck({ ROLE: 'api', PORT: String(await freePort()), HEALTH_PORT: String(workerHealth) });
    expect(api.code).to.equal(1);
    expect(api.stdout).to.match(/^unhealthy: .* no answer: .*ECONNREFUSED/);
    const noPort = await runHealthcheck({ ROLE: 'worker', HEALTH_PORT: '' });
    expect(noPort.code).to.equal(1);
    expect(noPort.stdout).to.include('HEALTH_PORT is not set');
  });

  it('a worker stops cleanly on SIGTERM and frees its health port', async () => {
    worker.kill('SIGTERM');
    expect(await worker.exited).to.deep.equal({ code: 0, signal: null });
    expect(worker.output()).to.include('"msg":"stopped"');
    const after = await fetch(`http://127.0.0.1:${workerHealth}/health/live`).then(() => 'answered', () => 'refused');
    expect(after).to.equal('refused');
  });
});
