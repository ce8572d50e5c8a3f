import { expect } from 'chai';
import { callApi, closeAll, configsWith, createCluster, eventually, onboardTenant, startFakeBigQuery, startPrivateRedis, waitForRunEnd } from '../helpers/processes';
import type { ApiResponse, Cluster, FakeBigQuery, PrivateRedis, RoleProcess } from '../helpers/processes';
import { readDayTemplate } from '../helpers/templates';

/**
 * Issue 4.8: Redis stops answering. SIGSTOP is the hard case: the connections stay open and nothing
 * answers, so only timeouts help. The API must say 503 DEPENDENCY_UNAVAILABLE while Redis is still frozen (its
 * command timeout, REDIS_COMMAND_TIMEOUT_MS, bounds the wait — no test here asserts a duration), and after
 * Redis is crashed and restarted from its AOF, runs admitted before the outage must not be lost.
 */
const TENANT = 'outage_corp';
const TEMPLATE = readDayTemplate('Redis outage test');

describe('an API process when Redis stops answering', function () {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let redis: PrivateRedis;
  let cluster: Cluster;
  let configs: { dir: string; cleanup(): void };
  let api: RoleProcess;
  let apiKey: string;
  const admitted: string[] = [];

  const trigger = (date: string): Promise<ApiResponse> =>
    callApi(api, 'POST', `/api/v1/pipelines/run/${TENANT}/gcp/chaos/read_day`, { apiKey, body: { date } });

  before(async () => {
    bq = await startFakeBigQuery();
    redis = await startPrivateRedis();
    configs = configsWith({ 'gcp/chaos/read_day.yml': TEMPLATE });
    cluster = createCluster({ bigquery: bq, redis: { kind: 'standalone', url: redis.url }, env: { CONFIGS_DIR: configs.dir, WORKER_LOCK_DURATION_MS: '2000' } });
    api = await cluster.start('api');
    apiKey = await onboardTenant(api, cluster.adminKey, TENANT, 'STARTER');
    for (const date of ['2024-05-01', '2024-05-02']) {
      const res = await trigger(date);
      expect(res.status).to.equal(202);
      admitted.push(String(res.body['pipeline_logging_id']));
    }
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => redis?.resume(), () => cluster?.close(), () => redis?.close(), () => bq?.close(), () => configs?.cleanup()));

  describe('while Redis is frozen (SIGSTOP)', () => {
    let triggerRes: ApiResponse;
    let getRes: ApiResponse;
    let readyRes: ApiResponse;
    before(async () => {
      redis.pause();
      [triggerRes, getRes, readyRes] = await Promise.all([
        trigger('2024-05-03'),
        callApi(api, 'GET', `/api/v1/pipelines/runs/${admitted[0] ?? ''}`, { apiKey }),
        callApi(api, 'GET', '/health/ready'),
      ]);
    });

    it('answers a trigger 503 DEPENDENCY_UNAVAILABLE before Redis is resumed', () => {
      expect({ status: triggerRes.status, code: triggerRes.body['code'] }).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    });

    it('answers an authenticated GET 503 DEPENDENCY_UNAVAILABLE before Redis is resumed', () => {
      expect({ status: getRes.status, code: getRes.body['code'] }).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    });

    it('reports not ready on /health/ready (503, redis false)', () => {
      expect(readyRes.status).to.equal(503);
      expect(readyRes.body['checks']).to.include({ redis: false });
    });
  });

  describe('while Redis is gone (killed, connections refused)', () => {
    let triggerRes: ApiResponse;
    let getRes: ApiResponse;
    before(async () => {
      await redis.crash();
      [triggerRes, getRes] = await Promise.all([
        trigger('2024-05-03'),
        callApi(api, 'GET', `/api/v1/pipelines/runs/${admitted[0] ?? ''}`, { apiKey }),
      ]);
    });

    it('answers a trigger and an authenticated GET 503 DEPENDENCY_UNAVAILABLE', () => {
      expect([triggerRes, getRes].map((r) => `${r.status} ${String(r.body['code'])}`)).to.deep.equal(['503 DEPENDENCY_UNAVAILABLE', '503 DEPENDENCY_UNAVAILABLE']);
    });
  });

  describe('after Redis is restarted from its AOF', () => {
    let runs: Record<string, unknown>[];
    let after: ApiResponse;
    before(async () => {
      await redis.restart();
      await eventually('the API to be ready again', async () => ((await callApi(api, 'GET', '/health/ready')).status === 200 ? true : undefined), 15_000, 100);
      await cluster.start('worker');
      runs = await Promise.all(admitted.map((id) => waitForRunEnd(api, apiKey, id, 30_000)));
      after = await trigger('2024-05-04');
    });

    it('still has the runs admitted before the outage, and a worker finishes them', () => {
      expect(runs.map((r) => r['pipeline_logging_id'])).to.deep.equal(admitted);
      expect(runs.map((r) => r['status'])).to.deep.equal(['COMPLETED', 'COMPLETED']);
    });

    it('admits new triggers again', async () => {
      expect(after.status).to.equal(202);
      const run = await waitForRunEnd(api, apiKey, String(after.body['pipeline_logging_id']), 30_000);
      expect(run['status']).to.equal('COMPLETED');
    });

    it('counts exactly the admitted runs in the quota view and frees every slot', async () => {
      const quota = await callApi(api, 'GET', `/api/v1/tenants/${TENANT}/quota`, { apiKey });
      expect(quota.body['pipelines_run_today']).to.equal(3);
      expect(quota.body['concurrent_pipelines_running']).to.equal(0);
    });
  });
});
