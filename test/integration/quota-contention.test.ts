import { expect } from 'chai';
import { callApi, closeAll, configsWith, createCluster, onboardTenant, startFakeBigQuery, waitForRunEnd } from '../helpers/processes';
import type { ApiResponse, Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';
import { forEachRedis } from '../helpers/redis-targets';
import { readDayTemplate } from '../helpers/templates';

/**
 * Issue 4.3: quotas are exact when triggers for one tenant arrive at several API processes at once.
 * STARTER allows 3 concurrent runs and 6 a day. Each trigger asks for a different `date`, so no two are
 * the same run (identical pipeline + parameters would be de-duplicated, not refused).
 */
const TEMPLATE = readDayTemplate('quota contention test');

const TENANT = 'contention_corp';
const DAILY_DETAIL = 'Daily pipeline quota exceeded. Upgrade or wait until tomorrow.';
const CONCURRENT_DETAIL = 'Concurrent pipeline limit reached. Wait for running pipelines to complete.';

/** 2024-01-01 plus `i` days. */
const day = (i: number): string => new Date(Date.UTC(2024, 0, 1 + i)).toISOString().slice(0, 10);

forEachRedis('quotas across two API processes', function (redisUnderTest) {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let configs: { dir: string; cleanup(): void };
  let apiA: RoleProcess;
  let apiB: RoleProcess;
  /** Requests alternate between the two API processes. */
  const apiFor = (i: number): RoleProcess => (i % 2 === 0 ? apiA : apiB);
  let apiKey: string;
  const quotaReads: ApiResponse['body'][] = [];

  const trigger = (i: number): Promise<ApiResponse> =>
    callApi(apiFor(i), 'POST', `/api/v1/pipelines/run/${TENANT}/gcp/chaos/read_day`, { apiKey, body: { date: day(i) } });
  const quota = async (): Promise<ApiResponse['body']> => {
    const res = await callApi(apiA, 'GET', `/api/v1/tenants/${TENANT}/quota`, { apiKey });
    expect(res.status).to.equal(200);
    quotaReads.push(res.body);
    return res.body;
  };

  /** Runs `work` while reading the quota view in a loop, so every intermediate state is checked too. */
  const whilePolling = async <T>(work: () => Promise<T>): Promise<T> => {
    let polling = true;
    const poller = (async () => {
      while (polling) await quota();
    })();
    try {
      return await work();
    } finally {
      polling = false;
      await poller;
    }
  };

  before(async () => {
    bq = await startFakeBigQuery();
    configs = configsWith({ 'gcp/chaos/read_day.yml': TEMPLATE });
    cluster = createCluster({
      bigquery: bq,
      redis: await redisUnderTest.target(),
      env: {
        CONFIGS_DIR: configs.dir,
        RATE_LIMIT_RUN_PER_MINUTE: '100000',
        RATE_LIMIT_TENANT_PER_MINUTE: '100000',
        RATE_LIMIT_IP_PER_MINUTE: '100000',
      },
    });
    [apiA, apiB] = await Promise.all([cluster.start('api'), cluster.start('api')]);
    apiKey = await onboardTenant(apiA, cluster.adminKey, TENANT, 'STARTER');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close(), () => configs?.cleanup()));

  describe('when 200 different runs are triggered at once with no worker running', () => {
    let answers: ApiResponse[];
    let admittedIds: string[];
    before(async () => {
      answers = await whilePolling(() => Promise.all(Array.from({ length: 200 }, (_, i) => trigger(i))));
      admittedIds = answers.filter((r) => r.status === 202).map((r) => String(r.body['pipeline_logging_id']));
    });

    it('admits exactly 3 (202) and refuses the other 197 with 429 CONCURRENT_LIMIT_REACHED', () => {
      const admitted = answers.filter((r) => r.status === 202);
      const refused = answers.filter((r) => r.status === 429 && r.body['code'] === 'CONCURRENT_LIMIT_REACHED');
      expect(admitted).to.have.length(3);
      expect(refused).to.have.length(197);
      expect(new Set(refused.map((r) => r.body['detail']))).to.deep.equal(new Set([CONCURRENT_DETAIL]));
    });

    it('shows 3 running and 3 run today in the quota view', async () => {
      const q = await quota();
      expect(q['concurrent_pipelines_running']).to.equal(3);
      expect(q['pipelines_run_today']).to.equal(3);
      expect(q['remaining_today']).to.equal(3);
    });

    describe('and then a worker process runs them and the tenant triggers until refused', () => {
      let extraAdmitted = 0;
      let refusal: ApiResponse;
      let burst: ApiResponse[];

      before(async () => {
        const worker = await cluster.start('worker');
        await whilePolling(async () => {
          for (const id of admittedIds) expect((await waitForRunEnd(apiA, apiKey, id))['status']).to.equal('COMPLETED');
          for (let i = 1000; ; i++) {
            const res = await trigger(i);
            if (res.status !== 202) {
              refusal = res;
              break;
            }
            extraAdmitted++;
            expect((await waitForRunEnd(apiFor(i), apiKey, String(res.body['pipeline_logging_id'])))['status']).to.equal('COMPLETED');
            if (extraAdmitted > 10) break;
          }
          burst = await Promise.all(Array.from({ length: 40 }, (_, i) => trigger(2000 + i)));
        });
        expect(worker.child.exitCode).to.equal(null);
      });

      it('admits exactly 3 more, 6 for the day', async () => {
        expect(extraAdmitted).to.equal(3);
        const q = await quota();
        expect(q['pipelines_run_today']).to.equal(6);
        expect(q['remaining_today']).to.equal(0);
        expect(q['concurrent_pipelines_running']).to.equal(0);
      });

      it('then answers 429 DAILY_QUOTA_EXCEEDED with the guide’s detail text and a Retry-After', () => {
        expect(refusal.status).to.equal(429);
        expect(refusal.body['code']).to.equal('DAILY_QUOTA_EXCEEDED');
        expect(refusal.body['detail']).to.equal(DAILY_DETAIL);
        expect(Number(refusal.headers.get('retry-after'))).to.be.within(1, 86_400);
      });

      it('refuses a burst over both processes the same way', () => {
        expect(burst.map((r) => `${r.status} ${String(r.body['code'])}`)).to.deep.equal(Array.from({ length: 40 }, () => '429 DAILY_QUOTA_EXCEEDED'));
      });

      it('never showed a negative or over-limit count in any quota read', () => {
        expect(quotaReads.length).to.be.greaterThan(5);
        for (const q of quotaReads) {
          for (const [field, value] of Object.entries(q)) if (typeof value === 'number') expect(value, field).to.be.at.least(0);
          expect(q['concurrent_pipelines_running']).to.be.at.most(3);
          expect(q['pipelines_run_today']).to.be.at.most(6);
        }
      });
    });
  });
});
