import { expect } from 'chai';
import { callApi, closeAll, configsWith, createCluster, eventually, onboardTenant, startFakeBigQuery, waitForRunEnd } from '../helpers/processes';
import type { Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';
import { forEachRedis } from '../helpers/redis-targets';

/**
 * Issue 3.6: DELETE reaches a run held by another worker process. The API process publishes the
 * cancellation; the worker process that runs the step aborts it and cancels its BigQuery job.
 */
const SLOW = `description: A long query to cancel from another process
version: 1.0.0
timeout_minutes: 5
steps:
  - id: long_scan
    type: query
    sql: WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 100000000000) SELECT COUNT(*) AS n FROM r
`;

forEachRedis('cancelling a run held by another worker process', function (redisUnderTest) {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let configs: { dir: string; cleanup(): void };
  let api: RoleProcess;
  let apiKey: string;

  before(async () => {
    bq = await startFakeBigQuery();
    configs = configsWith({ 'gcp/slow/scan.yml': SLOW });
    cluster = createCluster({ bigquery: bq, redis: await redisUnderTest.target(), env: { CONFIGS_DIR: configs.dir } });
    api = await cluster.start('api');
    await cluster.start('worker');
    apiKey = await onboardTenant(api, cluster.adminKey, 'cancel_corp', 'SCALE');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close(), () => configs?.cleanup()));

  it('ends the run CANCELLED, cancels the warehouse job and frees the slot', async () => {
    const started = await callApi(api, 'POST', '/api/v1/pipelines/run/cancel_corp/gcp/slow/scan', { apiKey, body: {} });
    expect(started.status).to.equal(202);
    const runId = String(started.body['pipeline_logging_id']);
    await eventually('the step to run', async () => {
      const res = await callApi(api, 'GET', `/api/v1/pipelines/runs/${runId}`, { apiKey });
      const steps = res.body['steps'] as Array<{ status: string }> | undefined;
      return res.body['status'] === 'RUNNING' && steps?.[0]?.status === 'RUNNING' ? true : undefined;
    });
    // The step dry-runs its query and reserves its bytes first (cost guardrails): wait for the job itself.
    await eventually('the query job to start', async () =>
      bq.server.requests.some((r) => {
        const body = r.body as { configuration?: { dryRun?: boolean; query?: { query?: string } } };
        return r.kind === 'queryJobs' && !body.configuration?.dryRun && (body.configuration?.query?.query ?? '').includes('WITH RECURSIVE');
      }) ? true : undefined);
    const cancelsBefore = bq.server.stats().cancels;
    const cancel = await callApi(api, 'DELETE', `/api/v1/pipelines/runs/${runId}`, { apiKey });
    expect(cancel.status).to.equal(200);
    const run = await waitForRunEnd(api, apiKey, runId, 15_000);
    expect(run['status']).to.equal('CANCELLED');
    expect(bq.server.stats().cancels).to.be.greaterThan(cancelsBefore);
    const quota = await callApi(api, 'GET', '/api/v1/tenants/cancel_corp/quota', { apiKey });
    expect(quota.body['concurrent_pipelines_running']).to.equal(0);
  });
});
