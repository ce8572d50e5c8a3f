import { expect } from 'chai';
import { BigQueryWarehouse, localAuthClient } from '../../src/warehouse/bigquery';
import { warehouseError } from '../helpers/errors';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * `maximumBytesBilled` on the adapter's query jobs and dry runs (both over its keep-alive REST path), and
 * BigQuery's refusal of a job over it, as the local REST server enforces it.
 */
const GIB = 1024 ** 3;
type JobBody = {
  jobReference?: { jobId?: string; location?: string };
  configuration: { dryRun?: boolean; labels?: Record<string, string>; query: { query: string; maximumBytesBilled?: string; queryParameters?: Array<{ name: string }> } };
};

describe('BigQuery adapter: maximumBytesBilled', function () {
  this.timeout(30_000);
  let bq: TestBigQuery;
  let warehouse: BigQueryWarehouse;
  const jobBodies = (): JobBody[] => bq.server.requests.filter((r) => r.kind === 'queryJobs').map((r) => r.body as JobBody);

  before(async () => {
    bq = await createTestBigQuery();
    warehouse = await BigQueryWarehouse.create({
      projectId: bq.server.projectId, location: bq.server.location, apiEndpoint: bq.server.url, authClient: localAuthClient(),
      retry: { attempts: 4, baseDelayMs: 5 }, defaultMaxBytesBilled: GIB,
    });
    bq.server.setBytesRule((sql) => (sql.includes("'two_gib'") ? { processed: 2 * GIB } : sql.includes("'small'") ? { processed: 1000, billed: 10 * 1024 * 1024 } : undefined));
  });
  after(async () => {
    await warehouse.close();
    await bq.cleanup();
  });
  beforeEach(() => bq.server.resetStats());

  it('sends the platform default on a query job and on a dry run', async () => {
    await warehouse.query('SELECT 1 AS n');
    await warehouse.dryRun('SELECT 1 AS n');
    const [job, dry] = jobBodies();
    expect(job?.configuration.query.maximumBytesBilled).to.equal(String(GIB));
    expect(dry?.configuration.dryRun).to.equal(true);
    expect(dry?.configuration.query.maximumBytesBilled).to.equal(String(GIB));
  });

  it("sends the caller's cap instead, and reports the bytes billed from the job's statistics", async () => {
    const result = await warehouse.query("SELECT 'small' AS size", { maxBytesBilled: 50 * 1024 * 1024 });
    expect(jobBodies()[0]?.configuration.query.maximumBytesBilled).to.equal(String(50 * 1024 * 1024));
    expect(result).to.include({ bytesProcessed: 1000, bytesBilled: 10 * 1024 * 1024 });
  });

  it('maps BigQuery\'s bytesBilledLimitExceeded refusal to reason bytes_limit_exceeded, without retrying', async () => {
    const err = await warehouseError(warehouse.query("SELECT 'two_gib' AS size"));
    expect(err.reason).to.equal('bytes_limit_exceeded');
    expect(err.message).to.contain('Query exceeded limit for bytes billed');
    expect(bq.server.stats().queryJobs).to.equal(1);
  });

  it("dry-runs with the query's parameters, labels and location, and reads the estimate from the answer", async () => {
    const estimate = await warehouse.dryRun("SELECT 'small' AS size, @n AS n", { params: { n: 1 }, labels: { tenant_id: 'acme' }, maxBytesBilled: 5000 });
    const [dry] = jobBodies();
    expect(dry?.configuration).to.deep.include({ dryRun: true, labels: { tenant_id: 'acme' } });
    expect(dry?.configuration.query.queryParameters?.map((p) => p.name)).to.deep.equal(['n']);
    expect(dry?.configuration.query.maximumBytesBilled).to.equal('5000');
    expect(dry?.jobReference?.location).to.equal(bq.server.location);
    expect(estimate).to.deep.equal({ bytesProcessed: 1000 });
    expect(bq.server.stats()).to.include({ dryRuns: 1, queryJobs: 0 });
  });
});
