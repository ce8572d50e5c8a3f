import { expect } from 'chai';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { healthProbeUrl, probeHealth } from '../../src/observability/health-probe';
import { startHealthServer } from '../../src/observability/health-server';
import type { HealthServer } from '../../src/observability/health-server';
import type { ReadinessChecks } from '../../src/observability/readiness';
import { readPackageVersion } from '../../src/shared/package-version';
import { freePort } from '../helpers/processes';

describe('the health listener of a worker or scheduler process', () => {
  let checks: ReadinessChecks;
  let stopping: boolean;
  let server: HealthServer;
  let base: string;

  beforeEach(async () => {
    checks = { redis: true, warehouse: true };
    stopping = false;
    server = await startHealthServer({ host: '127.0.0.1', port: 0, readiness: async () => checks, isShuttingDown: () => stopping });
    base = `http://127.0.0.1:${server.port}`;
  });
  afterEach(() => server.close());

  const get = async (urlPath: string): Promise<{ status: number; body: unknown }> => {
    const res = await fetch(`${base}${urlPath}`);
    return { status: res.status, body: await res.json() };
  };

  it('answers 200 ready with each check when Redis and the warehouse answer', async () => {
    expect(await get('/health/ready')).to.deep.equal({ status: 200, body: { status: 'ready', checks: { redis: true, warehouse: true } } });
  });

  it('answers 503 not_ready naming the dependency that does not answer', async () => {
    checks = { redis: false, warehouse: true };
    expect(await get('/health/ready')).to.deep.equal({ status: 503, body: { status: 'not_ready', checks: { redis: false, warehouse: true } } });
  });

  it('answers 503 shutting_down once a graceful stop has begun, while /health/live still answers', async () => {
    stopping = true;
    expect(await get('/health/ready')).to.deep.equal({ status: 503, body: { status: 'shutting_down' } });
    expect(await get('/health/live')).to.deep.equal({ status: 200, body: { status: 'alive' } });
  });

  it('answers 503 when the readiness check itself throws, and 404 for any other path', async () => {
    const failing = await startHealthServer({ host: '127.0.0.1', port: 0, readiness: () => Promise.reject(new Error('boom')), isShuttingDown: () => false });
    try {
      expect((await fetch(`http://127.0.0.1:${failing.port}/health/ready`)).status).to.equal(503);
    } finally {
      await failing.close();
    }
    expect((await get('/metrics')).status).to.equal(404);
  });

  it('frees its port on close', async () => {
    await server.close();
    const res = await fetch(`${base}/health/live`).then(() => 'answered', () => 'refused');
    expect(res).to.equal('refused');
    server = await startHealthServer({ host: '127.0.0.1', port: 0, readiness: async () => checks, isShuttingDown: () => false });
  });
});

describe('the image healthcheck probe', () => {
  describe('healthProbeUrl', () => {
    it('asks the api and the all-in-one process on PORT, on loopback when bound to every interface', () => {
      expect(healthProbeUrl(loadConfig({ ROLE: 'api', PORT: '9000', HEALTH_PORT: '9001' }))).to.equal('http://127.0.0.1:9000/health/ready');
      expect(healthProbeUrl(loadConfig({ ROLE: 'all', PORT: '9000' }))).to.equal('http://127.0.0.1:9000/health/ready');
    });

    it('asks a worker or scheduler on HEALTH_PORT, at HOST when bound to one address', () => {
      expect(healthProbeUrl(loadConfig({ ROLE: 'worker', PORT: '9000', HEALTH_PORT: '9001' }))).to.equal('http://127.0.0.1:9001/health/ready');
      expect(healthProbeUrl(loadConfig({ HOST: '10.1.2.3', HEALTH_PORT: '9001' }, 'scheduler'))).to.equal('http://10.1.2.3:9001/health/ready');
      expect(healthProbeUrl(loadConfig({ HOST: '::1', PORT: '9000' }, 'api'))).to.equal('http://[::1]:9000/health/ready');
    });

    it('refuses a worker without HEALTH_PORT, naming the variable', () => {
      expect(() => healthProbeUrl(loadConfig({ PORT: '9000' }, 'worker'))).to.throw(/HEALTH_PORT is not set/);
    });
  });

  describe('probeHealth', () => {
    it('is healthy on a 200 and unhealthy on a 503, saying what answered', async () => {
      let stopping = false;
      const server = await startHealthServer({ host: '127.0.0.1', port: 0, readiness: async () => ({ redis: true }), isShuttingDown: () => stopping });
      try {
        const url = `http://127.0.0.1:${server.port}/health/ready`;
        expect(await probeHealth(url, 2000)).to.deep.equal({ healthy: true, summary: `${url} 200 {"status":"ready","checks":{"redis":true}}` });
        stopping = true;
        expect(await probeHealth(url, 2000)).to.deep.equal({ healthy: false, summary: `${url} 503 {"status":"shutting_down"}` });
      } finally {
        await server.close();
      }
    });

    it('is unhealthy when nothing listens', async () => {
      const url = `http://127.0.0.1:${await freePort()}/health/ready`;
      const result = await probeHealth(url, 2000);
      expect(result.healthy).to.equal(false);
      expect(result.summary).to.match(/no answer: .*ECONNREFUSED/);
    });
  });
});

describe('readPackageVersion', () => {
  it('reads the version field of the package.json it is given', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-version-'));
    try {
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x', version: '7.3.1-rc.2' }));
      expect(readPackageVersion(path.join(dir, 'package.json'))).to.equal('7.3.1-rc.2');
      fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'x' }));
      expect(() => readPackageVersion(path.join(dir, 'package.json'))).to.throw(/has no "version"/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
