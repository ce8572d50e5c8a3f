import { expect } from 'chai';
import { BigQueryJobsRest } from '../../src/warehouse/bigquery-jobs-rest';
import { warehouseError } from '../helpers/errors';
import { interceptBigQuery } from '../helpers/fake-bigquery/faults';
import type { BqFaults } from '../helpers/fake-bigquery/faults';
import { eventually } from '../helpers/polling';
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

describe('BigQuery streaming insert given up on (its signal aborts)', function () {
  this.timeout(30_000);
  let bq: TestBigQuery;
  let faults: BqFaults;

  before(async () => {
    bq = await createTestBigQuery();
    faults = interceptBigQuery(bq.server);
    await bq.warehouse.createDataset('abort_ds');
    await bq.warehouse.createTable({ dataset: 'abort_ds', table: 't' }, { columns: [{ name: 'a', type: 'INT64' }] });
  });
  after(async () => {
    faults.clear();
    await bq.cleanup();
  });

  it('drops the request that never answers and sends no retry (the caller answers unavailable, not a late insert)', async () => {
    faults.add({ when: (r) => r.method === 'POST' && r.path.endsWith('/datasets/abort_ds/tables/t/insertAll'), fault: 'hang' });
    const controller = new AbortController();
    const inserting = bq.warehouse.insertRows({ dataset: 'abort_ds', table: 't' }, [{ a: 1 }], { insertIds: ['one'], signal: controller.signal });
    await eventually('the insert sent', async () => (faults.hits.length > 0 ? true : undefined));
    controller.abort();
    expect((await warehouseError(inserting)).reason).to.equal('cancelled');
    faults.clear();
    // A retry would reach the server now, and insert the row.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bq.server.stats().insertAll, 'no request after the abort').to.equal(0);
  });
});
