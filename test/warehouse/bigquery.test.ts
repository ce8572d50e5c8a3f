import { expect } from 'chai';
import { appendStateRows, ensureStateTable } from '../../src/warehouse/state-tables';
import type { StateTable } from '../../src/warehouse/tables';
import { mapBigQueryError } from '../../src/warehouse/bigquery-errors';
import { WarehouseError } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';
import { SLOW_BIGQUERY_SQL } from '../helpers/fake-bigquery/server';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { runWarehouseContract } from './contract';

runWarehouseContract('bigquery (local fake server)', () => createTestBigQuery(), { slowQuery: SLOW_BIGQUERY_SQL });

const runs: StateTable = {
  name: 'runs',
  key: ['run_id'],
  columns: [
    { name: 'run_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'status', type: 'STRING' },
  ],
};

describe('bigquery warehouse against the fake server', () => {
  let t: TestBigQuery;

  beforeEach(async () => {
    t = await createTestBigQuery();
    await t.warehouse.createDataset('shapes');
    t.server.resetStats();
  });
  afterEach(async () => t.cleanup());

  describe('when a query has parameters', () => {
    it('sends them as named queryParameters and never in the query text', async () => {
      const secret = "O'Brien; DROP TABLE x";
      await t.warehouse.query('SELECT @who AS who, @n AS n', { params: { who: secret, n: 5 }, labels: { tenant_id: 'acme' } });
      const insert = t.server.requests.find((r) => r.kind === 'queryJobs');
      const config = (insert?.body as { configuration: { query: Record<string, unknown>; labels: Record<string, string> } }).configuration;
      expect(config.query['query']).to.equal('SELECT @who AS who, @n AS n');
      expect(config.query['parameterMode']).to.equal('NAMED');
      expect(config.query['queryParameters']).to.deep.equal([
        { name: 'who', parameterType: { type: 'STRING' }, parameterValue: { value: secret } },
        { name: 'n', parameterType: { type: 'INT64' }, parameterValue: { value: '5' } },
      ]);
      expect(config.labels).to.deep.equal({ tenant_id: 'acme' });
      expect(JSON.stringify(config.query['query'])).not.to.contain('Brien');
    });
  });

  describe('when state rows are appended', () => {
    it('uses one insertAll request with insert ids and no DML', async () => {
      await ensureStateTable(t.warehouse, 'shapes', runs);
      t.server.resetStats();
      await appendStateRows(t.warehouse, 'shapes', runs, [{ run_id: 'a', status: 'RUNNING' }, { run_id: 'b', status: 'PENDING' }], { seq: 1, now: new Date() });
      const stats = t.server.stats();
      expect(stats.insertAll).to.equal(1);
      expect(stats.dml).to.equal(0);
      const body = t.server.requests.find((r) => r.kind === 'insertAll')?.body as { rows: Array<{ insertId: string }> };
      expect(body.rows.map((r) => r.insertId)).to.deep.equal(['runs:a:1', 'runs:b:1']);
    });
  });

  describe('when many rows are inserted', () => {
    it('splits them into requests of at most 500 rows', async () => {
      const ref = { dataset: 'shapes', table: 'bulk' };
      await t.warehouse.createTable(ref, { columns: [{ name: 'i', type: 'INT64' }] });
      t.server.resetStats();
      await t.warehouse.insertRows(ref, Array.from({ length: 1201 }, (_, i) => ({ i })));
      const sizes = t.server.requests.filter((r) => r.kind === 'insertAll').map((r) => (r.body as { rows: unknown[] }).rows.length);
      expect(sizes).to.deep.equal([500, 500, 201]);
    });
  });

  describe('when rows go to a table that does not exist', () => {
    it('answers not_found (the log writer drops rows of a deleted dataset on it), with no retry', async () => {
      t.server.resetStats();
      const err = await warehouseError(t.warehouse.insertRows({ dataset: 'shapes', table: 'never_created' }, [{ i: 1 }]));
      expect(err.reason).to.equal('not_found');
      expect(t.server.stats().insertAll).to.equal(1);
    });
  });

  describe('when the server fails transiently', () => {
    it('retries an insert with the same insert ids and stores the rows once', async () => {
      const ref = { dataset: 'shapes', table: 'r' };
      await t.warehouse.createTable(ref, { columns: [{ name: 'i', type: 'INT64' }] });
      t.server.failNext(2);
      await t.warehouse.insertRows(ref, [{ i: 1 }, { i: 2 }], { insertIds: ['x1', 'x2'] });
      const { rows } = await t.warehouse.query('SELECT COUNT(*) AS n FROM `shapes.r`');
      expect(rows).to.deep.equal([{ n: 2 }]);
      expect(t.server.stats().injectedFailures).to.equal(2);
    });

    it('answers unavailable once the retries are used up', async () => {
      t.server.setFailing(true);
      let caught: unknown;
      try {
        await t.warehouse.datasetExists('shapes');
      } catch (err) {
        caught = err;
      }
      t.server.setFailing(false);
      expect(caught).to.be.instanceOf(WarehouseError);
      expect((caught as WarehouseError).reason).to.equal('unavailable');
    });
  });

  describe('when a query job request fails transiently', () => {
    it('retries the insert under the same job id, starting one job', async () => {
      t.server.failNext(1); // the job insert
      const { rows } = await t.warehouse.query('SELECT @n AS n', { params: { n: 3 } });
      expect(rows).to.deep.equal([{ n: 3 }]);
      expect(t.server.stats().queryJobs).to.equal(1);
      const inserts = t.server.requests.filter((r) => r.kind === 'queryJobs').map((r) => (r.body as { jobReference: { jobId: string } }).jobReference.jobId);
      expect(inserts).to.have.length(2);
      expect(inserts[0]).to.equal(inserts[1]);
    });

    it('answers unavailable once the retries are used up, and invalid_query for SQL BigQuery refuses', async () => {
      t.server.setFailing(true);
      const down = await t.warehouse.query('SELECT 1 AS one').catch((err: unknown) => err);
      t.server.setFailing(false);
      expect((down as WarehouseError).reason).to.equal('unavailable');
      const invalid = await t.warehouse.query('SELECT nope FROM').catch((err: unknown) => err);
      expect(invalid).to.be.instanceOf(WarehouseError);
      expect((invalid as WarehouseError).reason).to.equal('invalid_query');
    });
  });

  describe('when a running query is aborted', () => {
    it('cancels the job on the server', async () => {
      const controller = new AbortController();
      const running = t.warehouse.query(SLOW_BIGQUERY_SQL, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      await running.catch(() => undefined);
      const deadline = Date.now() + 5000;
      while (t.server.stats().cancels === 0 && Date.now() < deadline) await new Promise((r) => setImmediate(r));
      expect(t.server.stats().cancels).to.equal(1);
    });
  });

  describe('when a dry run is asked for', () => {
    it('sends a dry-run job and reports the estimate without running anything', async () => {
      const result = await t.warehouse.dryRun('SELECT 1 AS x');
      expect(result).to.deep.equal({ bytesProcessed: 0 });
      expect(t.server.stats()).to.include({ dryRuns: 1, queryJobs: 0 });
    });
  });

  describe('when an operator query runs (sandboxQuery)', () => {
    const limits = { maxRows: 5, maxBytesBilled: 10 * 1024 ** 3 };
    const kinds = (): string[] => t.server.requests.map((r) => r.kind);

    beforeEach(async () => {
      await t.warehouse.createTable({ dataset: 'shapes', table: 'pts' }, { columns: [{ name: 'i', type: 'INT64' }] });
      await t.warehouse.insertRows({ dataset: 'shapes', table: 'pts' }, Array.from({ length: 40 }, (_, i) => ({ i })));
      t.server.resetStats();
    });

    it('dry-runs first and refuses a statement BigQuery does not classify as SELECT, starting no job', async () => {
      const err = await warehouseError(t.warehouse.sandboxQuery('DELETE FROM `shapes.pts` WHERE TRUE', limits));
      expect(err.reason).to.equal('not_read_only');
      expect(err.message).to.contain('DELETE');
      expect(kinds()).to.deep.equal(['queryJobs']);
      expect(t.server.stats()).to.include({ dryRuns: 1, queryJobs: 0, dml: 0 });
      expect((await t.warehouse.query('SELECT COUNT(*) AS n FROM `shapes.pts`')).rows).to.deep.equal([{ n: 40 }]);
    });

    it('refuses a script of several statements (dry-run statementType SCRIPT)', async () => {
      const err = await warehouseError(t.warehouse.sandboxQuery("SELECT '--' AS a; DELETE FROM `shapes.pts` WHERE TRUE", limits));
      expect(err.reason).to.equal('not_single_statement');
      expect(t.server.stats()).to.include({ dryRuns: 1, queryJobs: 0, dml: 0 });
    });

    it('sends the bytes cap as maximumBytesBilled on the job that runs', async () => {
      await t.warehouse.sandboxQuery('SELECT i FROM `shapes.pts` ORDER BY i', { ...limits, maxBytesBilled: 123456789 });
      const [dry, run] = t.server.requests.filter((r) => r.kind === 'queryJobs').map((r) => (r.body as { configuration: { dryRun?: boolean; query: Record<string, unknown> } }).configuration);
      expect(dry?.dryRun).to.equal(true);
      expect(run?.dryRun).to.equal(undefined);
      expect(run?.query['maximumBytesBilled']).to.equal('123456789');
    });

    it('refuses a SELECT whose dry-run estimate is over the cap, without running it', async () => {
      const err = await warehouseError(t.warehouse.sandboxQuery('SELECT i FROM `shapes.pts`', { ...limits, maxBytesBilled: 8 }));
      expect(err.reason).to.equal('bytes_limit_exceeded');
      expect(err.message).to.contain('ADMIN_QUERY_MAX_BYTES_BILLED');
      expect(t.server.stats()).to.include({ dryRuns: 1, queryJobs: 0 });
    });

    it('asks for one row past the cap and no further page', async () => {
      const result = await t.warehouse.sandboxQuery('SELECT i FROM `shapes.pts` ORDER BY i', limits);
      expect(result).to.deep.equal({ rows: [0, 1, 2, 3, 4].map((i) => ({ i })), truncated: true });
      const pages = t.server.requests.filter((r) => r.kind === 'getQueryResults');
      expect(pages.map((p) => p.query['maxResults'])).to.deep.equal(['6']);
    });

    it('maps a job BigQuery stopped at maximumBytesBilled to bytes_limit_exceeded', () => {
      const err = mapBigQueryError({ code: 400, message: 'Query exceeded limit for bytes billed: 1000.', errors: [{ reason: 'bytesBilledLimitExceeded' }] });
      expect(err.reason).to.equal('bytes_limit_exceeded');
    });
  });
});
