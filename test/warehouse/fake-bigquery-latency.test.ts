import { expect } from 'chai';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * The fake BigQuery server's per-job latency (FakeBigQueryOptions.jobLatencyMs), which the I/O-bound worker
 * benchmark relies on. Nothing here asserts a duration: a job is checked to be RUNNING before its time has
 * passed (a long latency) and DONE after it (a short one, awaited through the client's own long poll).
 */
describe('fake BigQuery server: per-job latency', () => {
  let t: TestBigQuery;
  let base: string;

  const insertJob = async (sql: string): Promise<string> => {
    const res = await fetch(`${base}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ configuration: { query: { query: sql, useLegacySql: false } } }) });
    expect(res.status).to.equal(200);
    return String(((await res.json()) as { jobReference: { jobId: string } }).jobReference.jobId);
  };
  const getJson = async (path: string): Promise<Record<string, unknown>> => (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>;

  beforeEach(async () => {
    t = await createTestBigQuery({ jobLatencyMs: 60_000 });
    base = `${t.server.url}/bigquery/v2/projects/${t.server.projectId}`;
  });
  afterEach(async () => t.cleanup());

  describe('while a job has not had its time', () => {
    it('says RUNNING and answers getQueryResults with jobComplete false once the poll timeout passes', async () => {
      const jobId = await insertJob('SELECT 1 AS one');
      const job = await getJson(`/jobs/${jobId}`);
      expect(job['status']).to.deep.equal({ state: 'RUNNING' });
      const poll = await getJson(`/queries/${jobId}?timeoutMs=20`);
      expect(poll['jobComplete']).to.equal(false);
      expect(poll['rows']).to.equal(undefined);
    });

    it('keeps answering other requests while getQueryResults long-polls (the wait does not block the server)', async () => {
      const jobId = await insertJob('SELECT 1 AS one');
      let pollAnswered = false;
      const poll = getJson(`/queries/${jobId}?timeoutMs=5000`).then((body) => {
        pollAnswered = true;
        return body;
      });
      const datasets = await getJson('/datasets');
      expect(datasets['kind']).to.equal('bigquery#datasetList');
      expect(pollAnswered).to.equal(false);
      await fetch(`${base}/jobs/${jobId}/cancel`, { method: 'POST' }); // releases the held poll
      await poll;
      expect(pollAnswered).to.equal(true);
    });

    it('is cancelled early by jobs.cancel and reports stopped', async () => {
      const jobId = await insertJob('SELECT 1 AS one');
      await fetch(`${base}/jobs/${jobId}/cancel`, { method: 'POST' });
      const res = await fetch(`${base}/queries/${jobId}`);
      const body = (await res.json()) as { error?: { errors?: Array<{ reason?: string }> } };
      expect(body.error?.errors?.[0]?.reason).to.equal('stopped');
    });
  });

  describe('after its time', () => {
    it('is DONE with its rows, through the adapter (which long-polls getQueryResults)', async () => {
      t.server.setJobLatency(30);
      const { rows } = await t.warehouse.query('SELECT @n AS n', { params: { n: 7 } });
      expect(rows).to.deep.equal([{ n: 7 }]);
      const jobId = t.server.requests.find((r) => r.kind === 'queryJobs')?.body as { jobReference?: { jobId?: string } };
      const job = await getJson(`/jobs/${String(jobId.jobReference?.jobId)}`);
      expect(job['status']).to.deep.equal({ state: 'DONE' });
    });

    it('lets many jobs be in flight at once and completes each with its own rows', async () => {
      t.server.setJobLatency(200);
      const results = await Promise.all(Array.from({ length: 60 }, (_, i) => t.warehouse.query('SELECT @n AS n', { params: { n: i } })));
      expect(results.map((r) => r.rows[0]?.['n'])).to.deep.equal(Array.from({ length: 60 }, (_, i) => i));
      expect(t.server.stats().queryJobs).to.equal(60);
    });
  });
});
