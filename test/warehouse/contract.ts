import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { appendStateRows, ensureStateTable, stateRowsViaDml } from '../../src/warehouse/state-tables';
import type { StateTable } from '../../src/warehouse/tables';
import type { TableSpec, Warehouse } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';
import { runSandboxContract } from './sandbox-contract';

export interface ContractSubject {
  warehouse: Warehouse;
  cleanup(): Promise<void>;
}

export interface ContractOptions {
  /** A query that runs for many seconds, in the dialect this warehouse runs. */
  slowQuery?: string;
  /** Rows for the bulk insert test (10k by default). */
  bulkRows?: number;
}

const DEFAULT_SLOW_QUERY = 'SELECT COUNT(*) AS n FROM range(100000000000) AS a';

const ALL_TYPES: TableSpec = {
  columns: [
    { name: 'id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'n', type: 'INT64' },
    { name: 'f', type: 'FLOAT64' },
    { name: 'num', type: 'NUMERIC' },
    { name: 'ok', type: 'BOOL' },
    { name: 'day', type: 'DATE' },
    { name: 'ts', type: 'TIMESTAMP' },
    { name: 'doc', type: 'JSON' },
    { name: 'raw', type: 'BYTES' },
  ],
  partitionBy: { column: 'day' },
  clusterBy: ['id'],
};

const things: StateTable = {
  name: 'things',
  key: ['thing_id'],
  tombstone: 'is_deleted',
  columns: [
    { name: 'thing_id', type: 'STRING', mode: 'REQUIRED' },
    { name: 'status', type: 'STRING' },
    { name: 'payload', type: 'JSON' },
    { name: 'is_deleted', type: 'BOOL' },
  ],
};

/** One suite every Warehouse adapter must pass (Bull Board's adapter contract tests are the model). */
export function runWarehouseContract(name: string, factory: () => Promise<ContractSubject>, options: ContractOptions = {}): void {
  describe(`warehouse contract: ${name}`, function () {
    let subject: ContractSubject;
    let wh: Warehouse;
    let ds: string;

    before(async () => {
      subject = await factory();
      wh = subject.warehouse;
    });
    after(async () => subject?.cleanup());

    beforeEach(async () => {
      ds = `c_${randomBytes(4).toString('hex')}`;
      await wh.createDataset(ds);
    });
    afterEach(async () => wh.dropDataset(ds));

    describe('datasets', () => {
      it('creates a dataset once and reports that it exists', async () => {
        const other = `${ds}_x`;
        expect(await wh.datasetExists(other)).to.equal(false);
        expect(await wh.createDataset(other)).to.equal(true);
        expect(await wh.createDataset(other)).to.equal(false);
        expect(await wh.datasetExists(other)).to.equal(true);
        await wh.dropDataset(other);
        expect(await wh.datasetExists(other)).to.equal(false);
      });

      it('drops a dataset with its tables, and dropping an absent one is no error', async () => {
        await wh.createTable({ dataset: ds, table: 't' }, ALL_TYPES);
        await wh.dropDataset(ds);
        expect(await wh.datasetExists(ds)).to.equal(false);
        await wh.dropDataset(ds);
        await wh.createDataset(ds);
      });
    });

    describe('tables and views', () => {
      it('creates a partitioned, clustered table once', async () => {
        const ref = { dataset: ds, table: 'facts' };
        expect(await wh.tableExists(ref)).to.equal(false);
        expect(await wh.createTable(ref, ALL_TYPES)).to.equal(true);
        expect(await wh.createTable(ref, ALL_TYPES)).to.equal(false);
        expect(await wh.tableExists(ref)).to.equal(true);
        expect(await wh.listTables(ds)).to.deep.equal(['facts']);
      });

      it('drops a table or a view, and dropping an absent one is no error', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        await wh.createView({ dataset: ds, table: 'v' }, `SELECT id FROM \`${ds}.facts\``);
        await wh.dropTable({ dataset: ds, table: 'v' });
        await wh.dropTable(ref);
        await wh.dropTable(ref);
        expect(await wh.listTables(ds)).to.deep.equal([]);
      });

      it('answers not_found when the dataset of a new table is missing', async () => {
        const err = await warehouseError(wh.createTable({ dataset: `${ds}_missing`, table: 't' }, ALL_TYPES));
        expect(err.reason).to.equal('not_found');
      });

      it('creates and replaces a view that reads like a table', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        await wh.insertRows(ref, [{ id: 'a', n: 1 }, { id: 'b', n: 2 }]);
        await wh.createView({ dataset: ds, table: 'big' }, `SELECT id FROM \`${ds}.facts\` WHERE n > 1`);
        expect((await wh.query(`SELECT id FROM \`${ds}.big\``)).rows).to.deep.equal([{ id: 'b' }]);
        await wh.createView({ dataset: ds, table: 'big' }, `SELECT id FROM \`${ds}.facts\` WHERE n > 0 ORDER BY id`);
        expect((await wh.query(`SELECT id FROM \`${ds}.big\` ORDER BY id`)).rows).to.deep.equal([{ id: 'a' }, { id: 'b' }]);
        expect(await wh.listTables(ds)).to.deep.equal(['big', 'facts']);
      });
    });

    describe('state tables', () => {
      it('creates the events table and latest view idempotently', async () => {
        expect(await ensureStateTable(wh, ds, things)).to.equal(true);
        expect(await ensureStateTable(wh, ds, things)).to.equal(false);
        expect(await wh.listTables(ds)).to.deep.equal(['things', 'things_events']);
      });

      it('shows the snapshot with the newest seq per key', async () => {
        await ensureStateTable(wh, ds, things);
        const now = new Date('2024-03-01T10:00:00Z');
        await appendStateRows(wh, ds, things, [{ thing_id: 'a', status: 'RUNNING' }, { thing_id: 'b', status: 'PENDING' }], { seq: 2, now });
        await appendStateRows(wh, ds, things, [{ thing_id: 'a', status: 'PENDING', payload: { x: 1 } }], { seq: 1, now });
        await appendStateRows(wh, ds, things, [{ thing_id: 'b', status: 'DONE', payload: { x: [1, 2] } }], { seq: 3, now });
        const { rows } = await wh.query(`SELECT thing_id, status, payload FROM \`${ds}.things\` ORDER BY thing_id`);
        expect(rows).to.deep.equal([
          { thing_id: 'a', status: 'RUNNING', payload: null },
          { thing_id: 'b', status: 'DONE', payload: { x: [1, 2] } },
        ]);
      });

      it('hides a key whose newest snapshot is a tombstone', async () => {
        await ensureStateTable(wh, ds, things);
        const now = new Date();
        await appendStateRows(wh, ds, things, [{ thing_id: 'a', status: 'X' }, { thing_id: 'b', status: 'Y' }], { seq: 1, now });
        await appendStateRows(wh, ds, things, [{ thing_id: 'a', is_deleted: true }], { seq: 2, now });
        const { rows } = await wh.query(`SELECT thing_id FROM \`${ds}.things\``);
        expect(rows).to.deep.equal([{ thing_id: 'b' }]);
      });

      it('writes snapshots through DML that a DELETE can remove at once', async () => {
        await ensureStateTable(wh, ds, things);
        const now = new Date();
        const written = await stateRowsViaDml(wh, ds, things, [{ thing_id: 'a', status: 'X', payload: { k: 'v' } }, { thing_id: 'b' }], { seq: 1, now });
        expect(written).to.equal(2);
        const { rows } = await wh.query(`SELECT thing_id, payload FROM \`${ds}.things\` ORDER BY thing_id`);
        expect(rows).to.deep.equal([{ thing_id: 'a', payload: { k: 'v' } }, { thing_id: 'b', payload: null }]);
        const del = await wh.query(`DELETE FROM \`${ds}.things_events\` WHERE thing_id = @id`, { params: { id: 'a' } });
        expect(del.affectedRows).to.equal(1);
      });

      it('creates a plain table once', async () => {
        const ref = { dataset: ds, table: 'facts' };
        expect(await wh.createTable(ref, ALL_TYPES)).to.equal(true);
        expect(await wh.createTable(ref, ALL_TYPES)).to.equal(false);
      });

      it('adds the columns a table lacks, keeps its rows, and leaves present columns alone', async () => {
        const ref = { dataset: ds, table: 'grown' };
        await wh.createTable(ref, { columns: [{ name: 'id', type: 'STRING', mode: 'REQUIRED' }] });
        await wh.insertRows(ref, [{ id: 'old' }]);
        await wh.addColumns(ref, [{ name: 'id', type: 'STRING' }, { name: 'bytes_billed', type: 'INT64' }, { name: 'cost', type: 'FLOAT64' }]);
        await wh.addColumns(ref, [{ name: 'bytes_billed', type: 'INT64' }]);
        await wh.insertRows(ref, [{ id: 'new', bytes_billed: 5, cost: 0.25 }]);
        const { rows } = await wh.query(`SELECT id, bytes_billed, cost FROM \`${ds}.grown\` ORDER BY id`);
        expect(rows).to.deep.equal([{ id: 'new', bytes_billed: 5, cost: 0.25 }, { id: 'old', bytes_billed: null, cost: null }]);
      });
    });

    describe('inserts and value mapping', () => {
      it('reads every column type back in the contract shape', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        await wh.insertRows(ref, [
          {
            id: 'a',
            n: 9007199254740993n,
            f: 1.5,
            num: '12.345678901',
            ok: true,
            day: '2024-02-29',
            ts: new Date('2024-02-29T12:34:56.789Z'),
            doc: { nested: { list: [1, 'two', null] } },
            raw: Buffer.from([0, 1, 254, 255]),
          },
          { id: 'b', n: 42 },
        ]);
        const { rows } = await wh.query(`SELECT * FROM \`${ds}.facts\` ORDER BY id`);
        expect(rows[0]).to.deep.equal({
          id: 'a',
          n: '9007199254740993',
          f: 1.5,
          num: 12.345678901,
          ok: true,
          day: '2024-02-29',
          ts: '2024-02-29T12:34:56.789Z',
          doc: { nested: { list: [1, 'two', null] } },
          raw: Buffer.from([0, 1, 254, 255]),
        });
        expect(rows[1]).to.deep.equal({ id: 'b', n: 42, f: null, num: null, ok: null, day: null, ts: null, doc: null, raw: null });
      });

      it('inserts 10k rows in batches', async function () {
        const count = options.bulkRows ?? 10_000;
        const ref = { dataset: ds, table: 'bulk' };
        await wh.createTable(ref, { columns: [{ name: 'i', type: 'INT64' }, { name: 's', type: 'STRING' }, { name: 'ts', type: 'TIMESTAMP' }] });
        const now = new Date();
        const rows = Array.from({ length: count }, (_, i) => ({ i, s: `row-${i}`, ts: now }));
        await wh.insertRows(ref, rows, { insertIds: rows.map((r) => `bulk-${r.i}`) });
        const { rows: out } = await wh.query(`SELECT COUNT(*) AS n, SUM(i) AS total FROM \`${ds}.bulk\``);
        expect(out[0]).to.deep.equal({ n: count, total: (count * (count - 1)) / 2 });
      });

      it('rejects a row with a field the table does not have', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        const err = await warehouseError(wh.insertRows(ref, [{ id: 'a', nope: 1 }]));
        expect(err.reason).to.equal('invalid_query');
      });
    });

    describe('parameterised queries', () => {
      it('binds every parameter type', async () => {
        const { rows } = await wh.query(
          'SELECT @s AS s, @i AS i, @f AS f, @b AS b, @big AS big, @ts AS ts, @d AS d, @j AS j, @raw AS raw, @nul AS nul',
          {
            params: {
              s: 'hello',
              i: 7,
              f: 2.25,
              b: false,
              big: 12345678901234n,
              ts: new Date('2024-01-02T03:04:05.006Z'),
              d: '2024-01-02',
              j: '{"a":[1,2]}',
              raw: Buffer.from('hi'),
              nul: null,
            },
            paramTypes: { d: 'DATE', j: 'JSON', nul: 'INT64' },
          },
        );
        expect(rows).to.deep.equal([
          {
            s: 'hello',
            i: 7,
            f: 2.25,
            b: false,
            big: 12345678901234,
            ts: '2024-01-02T03:04:05.006Z',
            d: '2024-01-02',
            j: { a: [1, 2] },
            raw: Buffer.from('hi'),
            nul: null,
          },
        ]);
      });

      it('keeps an injection attempt a plain value', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        const evil = `x'; DROP SCHEMA ${ds} CASCADE; --`;
        const { rows } = await wh.query(`SELECT @v AS v, COUNT(*) AS n FROM \`${ds}.facts\` WHERE id = @v`, { params: { v: evil } });
        expect(rows).to.deep.equal([{ v: evil, n: 0 }]);
        expect(await wh.tableExists(ref)).to.equal(true);
      });

      it('filters with a DATE parameter and BigQuery date functions', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        await wh.insertRows(ref, [{ id: 'a', day: '2024-03-01', f: 6 }, { id: 'b', day: '2024-03-02', f: 0 }]);
        const { rows } = await wh.query(
          `SELECT id, SAFE_DIVIDE(3, f) AS ratio, FORMAT_DATE('%Y%m', day) AS ym, DATE_SUB(day, INTERVAL 1 DAY) AS prev
           FROM \`${ds}.facts\` WHERE day >= @from ORDER BY id`,
          { params: { from: '2024-03-01' }, paramTypes: { from: 'DATE' } },
        );
        expect(rows).to.deep.equal([
          { id: 'a', ratio: 0.5, ym: '202403', prev: '2024-02-29' },
          { id: 'b', ratio: null, ym: '202403', prev: '2024-03-01' },
        ]);
      });

      it('answers invalid_query for a missing parameter or bad SQL, not_found for a missing table', async () => {
        expect((await warehouseError(wh.query('SELECT @missing AS x'))).reason).to.equal('invalid_query');
        expect((await warehouseError(wh.query('SELEC 1'))).reason).to.equal('invalid_query');
        expect((await warehouseError(wh.query(`SELECT * FROM \`${ds}.nope\``))).reason).to.equal('not_found');
      });
    });

    runSandboxContract(() => ({ wh, ds }));

    describe('DML, dry runs and cancellation', () => {
      it('reports affected rows of INSERT, UPDATE and DELETE', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        const t = `\`${ds}.facts\``;
        expect((await wh.query(`INSERT INTO ${t} (id, n) VALUES ('a', 1), ('b', 2), ('c', 3)`)).affectedRows).to.equal(3);
        expect((await wh.query(`UPDATE ${t} SET n = n + 10 WHERE n >= @min`, { params: { min: 2 } })).affectedRows).to.equal(2);
        expect((await wh.query(`DELETE FROM ${t} WHERE n > 10`)).affectedRows).to.equal(2);
      });

      it('estimates bytes on a dry run where the engine can', async () => {
        const ref = { dataset: ds, table: 'facts' };
        await wh.createTable(ref, ALL_TYPES);
        const result = await wh.dryRun(`SELECT id FROM \`${ds}.facts\` WHERE n = @n`, { params: { n: 1 } });
        if (wh.kind === 'duckdb') expect(result).to.equal(null);
        else expect(result?.bytesProcessed).to.be.a('number');
      });

      it('cancels a long query when the signal aborts', async () => {
        const controller = new AbortController();
        const running = wh.query(options.slowQuery ?? DEFAULT_SLOW_QUERY, { signal: controller.signal });
        // The timer only gives the query time to start on the engine; the assertion does not depend on it.
        setTimeout(() => controller.abort(), 150);
        const err = await warehouseError(running);
        expect(err.reason).to.equal('cancelled');
        expect((await wh.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
      });

      it('answers cancelled at once for an already aborted signal', async () => {
        const err = await warehouseError(wh.query('SELECT 1 AS one', { signal: AbortSignal.abort() }));
        expect(err.reason).to.equal('cancelled');
      });
    });
  });
}
