import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { Queue } from 'bullmq';
import { closeRedis, createRedis } from '../../src/redis/connection';
import { MAINTENANCE_JOB_NAMES, MAINTENANCE_QUEUE } from '../../src/queues/maintenance';
import { RedisKeys } from '../../src/redis/keys';
import { redisAnswers } from '../../src/redis/local-server';
import { slotOf } from '../../src/redis/slots';
import { callApi, closeAll, createCluster, freePort, onboardTenant, waitForRunEnd } from '../helpers/processes';
import type { Cluster, RoleProcess } from '../helpers/processes';
import { describeOnCluster, redisCluster } from '../helpers/redis-targets';

/**
 * Issue 10.3: `npm start` with REDIS_CLUSTER_NODES works end to end. `src/main.ts all` runs as its own
 * process on the embedded DuckDB against a real three-master Redis Cluster, with the defaults of `npm start`
 * (SCHEDULER_MODE=internal, REDIS_AUTOSTART=true): it boots without starting a private redis-server,
 * installs its BullMQ job schedulers on the cluster, onboards a tenant, runs gcp/cost/dryrun to COMPLETED
 * and stops cleanly on SIGTERM.
 */
describeOnCluster('`npm start` (role all) with REDIS_CLUSTER_NODES', function () {
  this.timeout(60_000);
  let deployment: Cluster;
  let main: RoleProcess;
  let apiKey: string;
  let runId: string;

  before(async () => {
    deployment = createCluster({ redis: await redisCluster.target(), env: { REDIS_AUTOSTART: 'true', SCHEDULER_MODE: 'internal' } });
    main = await deployment.start('all');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${deployment?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => deployment?.close()));

  it('boots on the cluster without launching a private redis-server', () => {
    expect(main.output()).to.include('"msg":"convergence started"');
    expect(main.output()).not.to.include('started a private redis-server');
    expect(fs.existsSync(path.join(deployment.dataDir, 'redis'))).to.equal(false);
  });

  it('installs every maintenance job scheduler (BullMQ repeatable) on the cluster', async () => {
    const redis = createRedis(await redisCluster.target());
    const queue = new Queue(MAINTENANCE_QUEUE, { connection: redis, prefix: new RedisKeys(deployment.prefix).bullPrefix });
    try {
      expect((await queue.getJobSchedulers()).map((s) => s.key).sort()).to.deep.equal([...MAINTENANCE_JOB_NAMES].sort());
    } finally {
      await queue.close();
      await closeRedis(redis);
    }
  });

  it('onboards a tenant and runs gcp/cost/dryrun to COMPLETED', async () => {
    apiKey = await onboardTenant(main, deployment.adminKey, 'cluster_corp');
    const started = await callApi(main, 'POST', '/api/v1/pipelines/run/cluster_corp/gcp/cost/dryrun', { apiKey, headers: { 'X-User-ID': 'alice' } });
    expect(started.status).to.equal(202);
    runId = String(started.body['pipeline_logging_id']);
    const run = await waitForRunEnd(main, apiKey, runId);
    expect(run['status']).to.equal('COMPLETED');
    const quota = await callApi(main, 'GET', '/api/v1/tenants/cluster_corp/quota', { apiKey });
    expect(quota.body).to.include({ pipelines_run_today: 1, concurrent_pipelines_running: 0, team_members: 1 });
  });

  it('kept the run record on the cluster, in the slot of the tenant’s admission keys', async () => {
    const keys = new RedisKeys(deployment.prefix);
    const redis = createRedis(await redisCluster.target());
    try {
      expect(await redis.hget(keys.run('cluster_corp', runId), 'status')).to.equal('COMPLETED');
      expect(slotOf(keys.run('cluster_corp', runId))).to.equal(slotOf(keys.running('cluster_corp')));
    } finally {
      await closeRedis(redis);
    }
  });

  it('stops on SIGTERM with exit code 0', async () => {
    main.kill('SIGTERM');
    expect(await main.exited).to.deep.equal({ code: 0, signal: null });
    expect(main.output()).to.include('"msg":"stopped"');
  });
});

describe('`npm start` when REDIS_CLUSTER_NODES names nodes that do not answer', function () {
  this.timeout(30_000);

  it('exits 69 naming REDIS_CLUSTER_NODES and starts no redis-server of its own', async () => {
    const port = await freePort();
    const deployment = createCluster({ redis: { kind: 'cluster', nodes: [{ host: '127.0.0.1', port }] }, env: { REDIS_AUTOSTART: 'true' } });
    try {
      const refused = await deployment.start('all').then(
        () => null,
        (err: Error) => err,
      );
      expect(refused?.message).to.include('REDIS_CLUSTER_NODES');
      expect((await deployment.processes[0]?.exited)?.code).to.equal(69);
      expect(await redisAnswers(`redis://127.0.0.1:${port}`, 300)).to.equal(false);
    } finally {
      await deployment.close();
    }
  });
});
