import { expect } from 'chai';
import { callApi, closeAll, createCluster, onboardTenant, startFakeBigQuery } from '../helpers/processes';
import type { ApiResponse, Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';

/**
 * Issue 4.6: the per-tenant run limit (50 a minute) is one count shared by every API process.
 * All 51 triggers ask for the same dryrun run, so after the first admission the rest are answered with
 * the run in flight (200) and never touch the SCALE plan's quotas: only the rate limit can refuse.
 */
const TENANT = 'ratelimit_corp';
const LIMIT = 50;

describe('the run rate limit across two API processes', function () {
  this.timeout(60_000);
  let bq: FakeBigQuery;
  let cluster: Cluster;
  let apiA: RoleProcess;
  let apiB: RoleProcess;
  /** Requests alternate between the two API processes. */
  const apiFor = (i: number): RoleProcess => (i % 2 === 0 ? apiA : apiB);
  let apiKey: string;

  before(async () => {
    bq = await startFakeBigQuery();
    cluster = createCluster({
      bigquery: bq,
      env: { RATE_LIMIT_RUN_PER_MINUTE: String(LIMIT), RATE_LIMIT_TENANT_PER_MINUTE: '100000', RATE_LIMIT_IP_PER_MINUTE: '100000' },
    });
    [apiA, apiB] = await Promise.all([cluster.start('api'), cluster.start('api')]);
    apiKey = await onboardTenant(apiA, cluster.adminKey, TENANT, 'SCALE');
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${cluster?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => cluster?.close(), () => bq?.close()));

  describe('when 51 triggers arrive at once, alternating between the processes', () => {
    let answers: ApiResponse[];
    let startedMs: number;
    let endedMs: number;
    before(async () => {
      startedMs = Date.now();
      answers = await Promise.all(
        Array.from({ length: LIMIT + 1 }, (_, i) => callApi(apiFor(i), 'POST', `/api/v1/pipelines/run/${TENANT}/gcp/cost/dryrun`, { apiKey, body: {} })),
      );
      endedMs = Date.now();
    });

    it('refuses exactly one with 429 RATE_LIMITED', () => {
      const limited = answers.filter((r) => r.status === 429);
      expect(limited).to.have.length(1);
      expect(limited[0]?.body['code']).to.equal('RATE_LIMITED');
    });

    it('admits one run and returns it to the other 49 (no quota refusal)', () => {
      const statuses = answers.filter((r) => r.status !== 429).map((r) => r.status).sort((a, b) => a - b);
      expect(statuses).to.deep.equal([...Array.from({ length: 49 }, () => 200), 202]);
      expect(new Set(answers.filter((r) => r.status !== 429).map((r) => r.body['pipeline_logging_id'])).size).to.equal(1);
    });

    it('counts once per request over both processes: the passed ones saw remaining 49 down to 0, each once', () => {
      const remaining = answers.filter((r) => r.status !== 429).map((r) => Number(r.headers.get('x-ratelimit-remaining'))).sort((a, b) => a - b);
      expect(remaining).to.deep.equal(Array.from({ length: LIMIT }, (_, i) => i));
    });

    it('gives the refusal Retry-After and X-RateLimit-* headers', () => {
      const limited = answers.find((r) => r.status === 429);
      const h = limited?.headers;
      expect(h?.get('x-ratelimit-limit')).to.equal(String(LIMIT));
      expect(h?.get('x-ratelimit-remaining')).to.equal('0');
      expect(Number(h?.get('retry-after'))).to.be.within(1, 60);
      // The window opened with the first of these requests and lasts 60 s (±1 s for rounding).
      expect(Number(h?.get('x-ratelimit-reset'))).to.be.within(Math.floor(startedMs / 1000) + 59, Math.ceil(endedMs / 1000) + 61);
    });
  });
});
