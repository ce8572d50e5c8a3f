import { expect } from 'chai';
import { callApi, closeAll, configsWith, createCluster, eventually, holdStatement, onboardTenant, startFakeBigQuery, waitForRunEnd } from '../helpers/processes';
import type { Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';
import { forEachRedis } from '../helpers/redis-targets';

/**
 * Issue 3.8: a worker process killed (SIGKILL) in the middle of a run. The run's INSERT is held at the
 * fake BigQuery server until the worker is dead, then allowed to finish, as a real orphaned job would:
 * the rows are in the table, yet the run never finished. A second worker must take the stalled job over.
 */
const TEMPLATE = `description: Writes five rows for one day (crash-safety test)
version: 1.0.0
parameters:
  date: { type: date, required: true }
timeout_minutes: 5
steps:
  - id: write_rows
    type: query
    sql: |
      SELECT @date AS day, n FROM (SELECT 1 AS n UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5) AS t
    destination:
      table: chaos_rows
      write_mode: append
      schema:
        columns:
          - { name: day, type: DATE }
          - { name: n, type: INT64 }
`;

const TENANT = 'crash_corp';

forEachRedis('crash safety across processes', function (redisUnderTest) {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let configs: { dir: string; cleanup(): void };

  before(async () => {
    bq = await startFakeBigQuery();
    configs = configsWith({ 'gcp/chaos/write_rows.yml': TEMPLATE });
    cluster = createCluster({ bigquery: bq, redis: await redisUnderTest.target(), env: { CONFIGS_DIR: configs.dir, WORKER_LOCK_DURATION_MS: '2000', WORKER_CONCURRENCY: '1' } });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close(), () => configs?.cleanup()));

  describe('when the worker running a run is killed with SIGKILL mid-run', () => {
    let api: RoleProcess;
    let apiKey: string;
    let runId: string;
    let run: Record<string, unknown>;

    before(async () => {
      api = await cluster.start('api');
      apiKey = await onboardTenant(api, cluster.adminKey, TENANT);
      const held = holdStatement(bq.duckdb, (sql) => /^\s*MERGE INTO\b[^\n]*chaos_rows/i.test(sql));
      const first = await cluster.start('worker');
      const res = await callApi(api, 'POST', `/api/v1/pipelines/run/${TENANT}/gcp/chaos/write_rows`, { apiKey, body: { date: '2024-03-01' } });
      expect(res.status).to.equal(202);
      runId = String(res.body['pipeline_logging_id']);

      await held.arrived;
      const during = await callApi(api, 'GET', `/api/v1/pipelines/runs/${runId}`, { apiKey });
      expect(during.body['status']).to.equal('RUNNING');
      first.kill('SIGKILL');
      expect((await first.exited).signal).to.equal('SIGKILL');
      // The orphaned INSERT completes on the server after its sender died, as a BigQuery job would.
      held.release();
      await held.finished;
      const orphanRows = await bq.duckdb.query(`SELECT COUNT(*) AS n FROM \`${TENANT}.chaos_rows\``);
      expect(Number(orphanRows.rows[0]?.['n'])).to.equal(5);

      await cluster.start('worker');
      run = await waitForRunEnd(api, apiKey, runId, 30_000);
    });

    it('a second worker process re-delivers the stalled job and the run completes', () => {
      expect(run['status']).to.equal('COMPLETED');
      expect(run['error_message']).to.equal(null);
    });

    it('releases its concurrency slot (quota shows 0 running, 1 run today)', async () => {
      const quota = await callApi(api, 'GET', `/api/v1/tenants/${TENANT}/quota`, { apiKey });
      expect(quota.status).to.equal(200);
      expect(quota.body['concurrent_pipelines_running']).to.equal(0);
      expect(quota.body['pipelines_run_today']).to.equal(1);
    });

    it('leaves the destination table without duplicated rows', async () => {
      const res = await bq.duckdb.query(
        `SELECT COUNT(*) AS total, COUNT(DISTINCT n) AS distinct_n, COUNT(DISTINCT _pipeline_logging_id) AS runs, MIN(_pipeline_logging_id) AS run FROM \`${TENANT}.chaos_rows\``,
      );
      const row = res.rows[0] ?? {};
      expect({ total: Number(row['total']), distinct: Number(row['distinct_n']), runs: Number(row['runs']), run: row['run'] }).to.deep.equal({
        total: 5,
        distinct: 5,
        runs: 1,
        run: runId,
      });
    });

    it('records the run as COMPLETED in the warehouse run log', async () => {
      const status = await eventually('the COMPLETED row in x_meta_pipeline_runs', async () => {
        const res = await bq.duckdb.query(`SELECT status FROM \`${TENANT}.x_meta_pipeline_runs\` WHERE pipeline_logging_id = @id`, { params: { id: runId } });
        const value = res.rows[0]?.['status'];
        return value === 'COMPLETED' ? value : undefined;
      }, 10_000, 100);
      expect(status).to.equal('COMPLETED');
    });
  });

  describe('when the killed attempt’s write finishes only after the re-delivered attempt wrote its rows', () => {
    // A query job can outlive its killed worker (BigQuery keeps running it). Each write is one MERGE that
    // replaces exactly the rows it owns, so the late statement swaps the same rows again instead of adding.
    it('still holds each row once', async () => {
      // The workers of the scenario above must not take this run.
      const earlier = cluster.processes.filter((p) => p.role === 'worker');
      for (const p of earlier) p.kill('SIGKILL');
      await Promise.all(earlier.map((p) => p.exited));
      const api = await cluster.start('api');
      const apiKey = await onboardTenant(api, cluster.adminKey, 'late_corp');
      const held = holdStatement(bq.duckdb, (sql) => /^\s*MERGE INTO\b[^\n]*late_corp\.chaos_rows/i.test(sql));
      const first = await cluster.start('worker');
      const res = await callApi(api, 'POST', '/api/v1/pipelines/run/late_corp/gcp/chaos/write_rows', { apiKey, body: { date: '2024-03-01' } });
      await held.arrived;
      first.kill('SIGKILL');
      await first.exited;
      await cluster.start('worker');
      const run = await waitForRunEnd(api, apiKey, String(res.body['pipeline_logging_id']), 30_000);
      held.release();
      await held.finished;
      const rows = await bq.duckdb.query('SELECT COUNT(*) AS n FROM `late_corp.chaos_rows`');
      expect({ status: run['status'], rows: Number(rows.rows[0]?.['n']) }).to.deep.equal({ status: 'COMPLETED', rows: 5 });
    });
  });
});
