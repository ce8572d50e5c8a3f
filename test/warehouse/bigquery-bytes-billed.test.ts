import { expect } from 'chai';
import { BigQueryWarehouse, localAuthClient } from '../../src/warehouse/bigquery';
import { warehouseError } from '../helpers/errors';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * `maximumBytesBilled` on both BigQuery paths of the adapter — the keep-alive REST path of query jobs and the
 * official client's (dry runs) — and BigQuery's refusal of a job over it, as the local REST server enforces it.
 */
const GIB = 1024 ** 3;
type JobBody = { configuration: { dryRun?: boolean; query: { query: string; maximumBytesBilled?: string } } };

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

  it('sends the platform default on a query job (REST path) and on a dry run (client library path)', async () => {
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
});
