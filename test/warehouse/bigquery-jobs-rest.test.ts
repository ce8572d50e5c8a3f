import { expect } from 'chai';
import { BigQueryJobsRest } from '../../src/warehouse/bigquery-jobs-rest';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

describe('BigQuery query-job REST path: auth headers', function () {
  this.timeout(30_000);
  let bq: TestBigQuery;

  before(async () => {
    bq = await createTestBigQuery();
  });
  after(async () => bq.cleanup());

  const client = (headers: (url: string) => Promise<Record<string, string>>): BigQueryJobsRest =>
    new BigQueryJobsRest({ baseUrl: `${bq.server.url}/bigquery/v2`, projectId: bq.server.projectId, location: bq.server.location, headers });

  it('reads the auth headers once for many requests, not once per request', async () => {
    let reads = 0;
    const jobs = client(async () => {
      reads += 1;
      return { authorization: 'Bearer local' };
    });
    try {
      await Promise.all([1, 2, 3].map(() => jobs.dryRunQueryJob(`dry-${Math.random()}`, { query: 'SELECT 1 AS n' })));
      await jobs.dryRunQueryJob('dry-again', { query: 'SELECT 1 AS n' });
      expect(reads).to.equal(1);
    } finally {
      jobs.close();
    }
  });

  it('asks again after a failed read instead of reusing the failure', async () => {
    let reads = 0;
    const jobs = client(async () => {
      reads += 1;
      if (reads === 1) throw new Error('metadata server unreachable');
      return { authorization: 'Bearer local' };
    });
    try {
      const first = await jobs.dryRunQueryJob('dry-1', { query: 'SELECT 1 AS n' }).then(() => 'ok', (err: Error) => err.message);
      expect(first).to.equal('metadata server unreachable');
      expect(await jobs.dryRunQueryJob('dry-2', { query: 'SELECT 1 AS n' })).to.include({ bytesProcessed: 0 });
      expect(reads).to.equal(2);
    } finally {
      jobs.close();
    }
  });
});
