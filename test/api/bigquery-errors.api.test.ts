import { expect } from 'chai';
import { AsyncLocalStorage } from 'node:async_hooks';
import { newRunId } from '../../src/shared/ids';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { interceptBigQuery, isDryRun, isJobInsert } from '../helpers/fake-bigquery/faults';
import type { BqFaults } from '../helpers/fake-bigquery/faults';

/**
 * The API on BigQuery (WAREHOUSE=bigquery through the official client and the REST path, against the
 * fake server): when BigQuery answers an error that is not the API's fault, the API must answer a stable 4xx/503
 * code — never 500 INTERNAL_ERROR, never a hang, never a wrong verdict.
 */
const TENANT = 'acme_corp';

describe('API answers when BigQuery misbehaves', function () {
  this.timeout(90_000);
  let bq: TestBigQuery;
  let faults: BqFaults;
  let t: TestSystem;
  let key: string;

  before(async () => {
    bq = await createTestBigQuery();
    faults = interceptBigQuery(bq.server);
    // A short request deadline, so the job that never finishes is given up on in seconds, not the default 30 s.
    t = await startTestSystem({ role: 'api', warehouse: bq.warehouse, env: { API_WAREHOUSE_TIMEOUT_MS: '2000' } });
    key = await onboard(t, TENANT, 'SCALE');
  });
  after(async () => {
    faults.clear();
    bq.server.setJobLatency(0);
    await bq.cleanup(); // first: releases a request still long-polling a job that never ends
    await t?.close();
  });
  afterEach(() => {
    faults.clear();
    bq.server.setJobLatency(0);
    bq.server.setFailing(false);
  });

  describe('when BigQuery refuses a query job with 403 quotaExceeded (too many concurrent queries in the project)', () => {
    it('answers a run read from the warehouse with 503 DEPENDENCY_UNAVAILABLE, not 500 INTERNAL_ERROR', async () => {
      faults.add({
        when: isJobInsert,
        fault: { status: 403, reason: 'quotaExceeded', message: 'Quota exceeded: Your project exceeded quota for concurrent queries. For more information, see https://cloud.google.com/bigquery/docs/troubleshoot-quotas' },
      });
      const res = await t.request.get(`/api/v1/pipelines/runs/${newRunId()}`).set('X-API-Key', key);
      expect(faults.hits.length, 'the warehouse was asked').to.be.greaterThan(0);
      expect({ status: res.status, code: res.body.code }).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    });
  });

  describe("when BigQuery refuses the platform's credentials (403 accessDenied)", () => {
    it('answers 503 WAREHOUSE_PERMISSION_DENIED, not 500 INTERNAL_ERROR, without naming BigQuery\'s text', async () => {
      faults.add({
        when: isJobInsert,
        fault: { status: 403, reason: 'accessDenied', message: 'Access Denied: Project platform-project: User does not have bigquery.jobs.create permission in project platform-project.' },
      });
      const res = await t.request.get(`/api/v1/pipelines/runs/${newRunId()}`).set('X-API-Key', key);
      expect(faults.hits.length, 'the warehouse was asked').to.be.greaterThan(0);
      expect({ status: res.status, code: res.body.code }).to.deep.equal({ status: 503, code: 'WAREHOUSE_PERMISSION_DENIED' });
      expect(res.body.detail).not.to.contain('platform-project');
    });
  });

  describe('when BigQuery is down (503 backendError on every request)', () => {
    it('answers validate with 503, not 200 "valid: false" blaming the template', async () => {
      faults.add({ when: isDryRun, fault: { status: 503, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' } });
      const res = await t.request.post(`/api/v1/pipelines/validate/${TENANT}/gcp/cost/billing_cost`).set('X-API-Key', key).send({ date: '2025-11-14' });
      expect(faults.hits.length, 'the dry run was sent').to.be.greaterThan(0);
      expect({ status: res.status, code: res.body.code }, JSON.stringify(res.body)).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
    });
  });

  describe('when a query job stays RUNNING (queued behind the project\'s slots) and never finishes', () => {
    it('answers a run read from the warehouse at API_WAREHOUSE_TIMEOUT_MS (503), instead of holding the request for as long as the job lives', async () => {
      const { answer, scopes } = await runReadWhileJobsHang(bq, t, key);
      expect(answer).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
      expect(scopes, 'ROLE=all: the request entered its deadline scope').to.be.greaterThan(0);
    });
  });

  describe('a process serving only the API (ROLE=api)', () => {
    let api: TestSystem;
    let apiKey: string;
    before(async () => {
      api = await startTestSystem({ role: 'api', warehouse: bq.warehouse, env: { ROLE: 'api', API_WAREHOUSE_TIMEOUT_MS: '2000' } });
      apiKey = await onboard(api, 'api_only_corp', 'SCALE');
    });
    after(async () => api?.close());

    it('bounds every warehouse call by API_WAREHOUSE_TIMEOUT_MS without a scope per request (no AsyncLocalStorage: Node 20 would turn on promise hooks for the process)', async () => {
      const { answer, scopes } = await runReadWhileJobsHang(bq, api, apiKey);
      expect(answer).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
      expect(scopes, 'AsyncLocalStorage scopes entered').to.equal(0);
    });
  });
});

/**
 * A run read that reaches the warehouse while every query job stays RUNNING for an hour: what the API answered (or
 * 'no answer' after 20 s), and how many AsyncLocalStorage scopes the request entered; the job must be cancelled.
 */
async function runReadWhileJobsHang(bq: TestBigQuery, t: TestSystem, key: string): Promise<{ answer: unknown; scopes: number }> {
  bq.server.setJobLatency(60 * 60_000);
  const cancels = (): number => bq.server.requests.filter((q) => q.kind === 'cancels').length;
  const cancelsBefore = cancels();
  let scopes = 0;
  const run = AsyncLocalStorage.prototype.run;
  AsyncLocalStorage.prototype.run = function (this: AsyncLocalStorage<unknown>, ...args: Parameters<typeof run>) {
    scopes += 1;
    return run.apply(this, args);
  } as typeof run;
  let timer: NodeJS.Timeout | undefined;
  try {
    const answer = t.request
      .get(`/api/v1/pipelines/runs/${newRunId()}`)
      .set('X-API-Key', key)
      .then((res) => ({ status: res.status as number, code: (res.body as { code?: string }).code }));
    const waited = await Promise.race([answer, new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), 20_000)))]);
    // API_WAREHOUSE_TIMEOUT_MS cancelled the job rather than leaving it queued for the project's slots.
    await eventually('the cancel', async () => (cancels() > cancelsBefore ? true : undefined));
    return { answer: waited, scopes };
  } finally {
    clearTimeout(timer);
    AsyncLocalStorage.prototype.run = run;
    bq.server.setJobLatency(0);
  }
}
