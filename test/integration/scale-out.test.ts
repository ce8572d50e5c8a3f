import { expect } from 'chai';
import { callApi, closeAll, configsWith, createCluster, onboardTenant, startFakeBigQuery, waitForRunEnd } from '../helpers/processes';
import type { ApiResponse, Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';
import { forEachRedis } from '../helpers/redis-targets';
import { readDayTemplate } from '../helpers/templates';

/**
 * Issue 6.4, past one machine: two API processes and two worker processes against one Redis and a shared
 * warehouse (BigQuery mode through the local REST server). A mixed load from three tenants on different
 * plans — triggers, identical re-triggers, reads and schedules — must keep every quota exact, every
 * admitted run must finish exactly once, and each tenant's warehouse log must hold exactly its runs.
 */
const TEMPLATE = readDayTemplate('scale-out test');

const TENANTS = [
  { id: 'starter_corp', plan: 'STARTER', daily: 6, concurrent: 3 },
  { id: 'pro_corp', plan: 'PROFESSIONAL', daily: 25, concurrent: 5 },
  { id: 'scale_corp', plan: 'SCALE', daily: 100, concurrent: 10 },
] as const;
const TRIGGERS_PER_TENANT = 40;
const day = (i: number): string => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);

forEachRedis('scale-out: two API and two worker processes sharing a warehouse', function (redisUnderTest) {
  this.timeout(120_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let configs: { dir: string; cleanup(): void };
  let apis: RoleProcess[];
  const keys = new Map<string, string>();
  const admitted = new Map<string, Set<string>>();

  before(async () => {
    bq = await startFakeBigQuery();
    configs = configsWith({ 'gcp/scale/read_day.yml': TEMPLATE });
    cluster = createCluster({
      bigquery: bq,
      redis: await redisUnderTest.target(),
      env: { CONFIGS_DIR: configs.dir, RATE_LIMIT_RUN_PER_MINUTE: '100000', RATE_LIMIT_TENANT_PER_MINUTE: '100000', RATE_LIMIT_IP_PER_MINUTE: '100000', WORKER_CONCURRENCY: '4' },
    });
    apis = [await cluster.start('api'), await cluster.start('api')];
    await Promise.all([cluster.start('worker'), cluster.start('worker')]);
    for (const t of TENANTS) {
      keys.set(t.id, await onboardTenant(apis[0] as RoleProcess, cluster.adminKey, t.id, t.plan));
      admitted.set(t.id, new Set());
    }
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close(), () => configs?.cleanup()));

  const api = (i: number): RoleProcess => apis[i % 2] as RoleProcess;

  it('admits exactly each plan’s daily quota under a mixed concurrent load, never above the concurrent limit', async () => {
    let polling = true;
    const poller = (async () => {
      while (polling) {
        for (const t of TENANTS) {
          const q = await callApi(api(0), 'GET', `/api/v1/tenants/${t.id}/quota`, { apiKey: keys.get(t.id) ?? '' });
          expect(Number(q.body['concurrent_pipelines_running'])).to.be.within(0, t.concurrent);
          expect(Number(q.body['pipelines_run_today'])).to.be.within(0, t.daily);
        }
      }
    })();
    // Each tenant sends waves until its daily quota refuses: distinct dates, plus re-triggers of a date in
    // flight (which must return that run, not count again) and reads in between.
    const wave = async (t: (typeof TENANTS)[number], wave: number): Promise<ApiResponse[]> =>
      Promise.all(
        Array.from({ length: TRIGGERS_PER_TENANT }, (_, i) => {
          const n = wave * TRIGGERS_PER_TENANT + i;
          const apiKey = keys.get(t.id) ?? '';
          if (i % 10 === 9) return callApi(api(n), 'GET', '/api/v1/pipelines/runs?limit=5', { apiKey });
          return callApi(api(n), 'POST', `/api/v1/pipelines/run/${t.id}/gcp/scale/read_day`, { apiKey, body: { date: day(i % 7 === 6 ? n - 1 : n) } });
        }),
      );
    try {
      await Promise.all(
        TENANTS.map(async (t) => {
          for (let w = 0; w < 20; w += 1) {
            const answers = await wave(t, w);
            for (const a of answers) {
              expect(a.status, JSON.stringify(a.body)).to.be.oneOf([200, 202, 429]);
              if (a.status === 202) admitted.get(t.id)?.add(String(a.body['pipeline_logging_id']));
            }
            if (answers.some((a) => a.body['code'] === 'DAILY_QUOTA_EXCEEDED')) break;
          }
        }),
      );
    } finally {
      polling = false;
      await poller;
    }
    for (const t of TENANTS) expect(admitted.get(t.id)?.size, t.id).to.equal(t.daily);
  });

  it('finishes every admitted run exactly once, frees every slot and writes exactly those runs to each tenant’s log', async () => {
    for (const t of TENANTS) {
      const apiKey = keys.get(t.id) ?? '';
      for (const id of admitted.get(t.id) ?? []) expect((await waitForRunEnd(api(0), apiKey, id, 30_000))['status']).to.equal('COMPLETED');
      const quota = await callApi(api(1), 'GET', `/api/v1/tenants/${t.id}/quota`, { apiKey });
      expect(quota.body).to.include({ pipelines_run_today: t.daily, concurrent_pipelines_running: 0, remaining_today: 0 });
    }
    const deadline = Date.now() + 20_000;
    for (const t of TENANTS) {
      for (;;) {
        const { rows } = await bq.duckdb.query(`SELECT pipeline_logging_id, status FROM \`${t.id}.x_meta_pipeline_runs\``);
        const done = rows.filter((r) => r['status'] === 'COMPLETED').map((r) => String(r['pipeline_logging_id'])).sort();
        if (done.length === t.daily || Date.now() > deadline) {
          expect(done).to.deep.equal([...(admitted.get(t.id) ?? [])].sort());
          expect(rows).to.have.length(t.daily);
          break;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      // No run ended two different ways (e.g. COMPLETED by one worker and FAILED by another).
      const twice = await bq.duckdb.query(
        `SELECT count(*) AS n FROM (SELECT pipeline_logging_id FROM \`${t.id}.x_meta_pipeline_runs_events\`
         WHERE status IN ('COMPLETED', 'FAILED', 'CANCELLED') GROUP BY pipeline_logging_id HAVING count(DISTINCT status) > 1)`,
      );
      expect(Number(twice.rows[0]?.['n'])).to.equal(0);
    }
  });
});
