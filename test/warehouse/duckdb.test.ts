import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { WarehouseError } from '../../src/warehouse/types';
import type { TableRef } from '../../src/warehouse/types';
import { createTestDuckDb } from '../helpers/warehouse';
import { runWarehouseContract } from './contract';

runWarehouseContract('duckdb', () => createTestDuckDb());

describe('duckdb warehouse', () => {
  describe('when a second instance opens the same file', () => {
    it('fails with a message naming the fix', async () => {
      const first = await createTestDuckDb();
      try {
        const file = path.join(first.dir, 'warehouse.duckdb');
        let caught: unknown;
        try {
          await DuckDbWarehouse.open({ path: file });
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(WarehouseError);
        expect((caught as WarehouseError).reason).to.equal('unavailable');
      } finally {
        await first.cleanup();
      }
    });
  });

  describe('when the lock file names a dead process', () => {
    it('takes the stale lock over', async () => {
      const probe = await createTestDuckDb();
      const file = path.join(probe.dir, 'again.duckdb');
      fs.writeFileSync(`${file}.lock`, '999999999\n');
      const wh = await DuckDbWarehouse.open({ path: file });
      expect(fs.readFileSync(`${file}.lock`, 'utf8').trim()).to.equal(String(process.pid));
      await wh.close();
      expect(fs.existsSync(`${file}.lock`)).to.equal(false);
      await probe.cleanup();
    });
  });

  describe('when queries run at once', () => {
    it('runs them on separate connections in parallel', async () => {
      const { warehouse, cleanup } = await createTestDuckDb({ poolSize: 3 });
      try {
        const results = await Promise.all([1, 2, 3, 4, 5].map((n) => warehouse.query('SELECT @n * 2 AS v', { params: { n } })));
        expect(results.map((r) => r.rows[0]?.['v'])).to.deep.equal([2, 4, 6, 8, 10]);
      } finally {
        await cleanup();
      }
    });
  });

  describe('when the guide queries usage for today', () => {
    it('accepts CURRENT_DATE() and unquoted dataset.table names', async () => {
      const { warehouse, cleanup } = await createTestDuckDb();
      try {
        await warehouse.createDataset('tenants');
        await warehouse.createTable({ dataset: 'tenants', table: 'u' }, { columns: [{ name: 'usage_date', type: 'DATE' }] });
        await warehouse.insertRows({ dataset: 'tenants', table: 'u' }, [{ usage_date: new Date() }]);
        const { rows } = await warehouse.query('SELECT COUNT(*) AS n FROM tenants.u WHERE usage_date = CURRENT_DATE()');
        expect(rows).to.deep.equal([{ n: 1 }]);
      } finally {
        await cleanup();
      }
    });
  });

  describe('appending to a table whose columns it remembered', () => {
    const ref = { dataset: 'logs', table: 'rows' };
    const all = async (wh: DuckDbWarehouse) => (await wh.query('SELECT * FROM logs.rows ORDER BY id')).rows;

    it('sees a column added by the adapter, and a table changed by SQL outside it, before the next append', async () => {
      const { warehouse, cleanup } = await createTestDuckDb();
      try {
        await warehouse.createDataset('logs');
        await warehouse.createTable(ref, { columns: [{ name: 'id', type: 'INT64' }, { name: 'a', type: 'STRING' }] });
        await warehouse.insertRows(ref, [{ id: 1, a: 'x' }]);
        await warehouse.addColumns(ref, [{ name: 'b', type: 'INT64' }]);
        await warehouse.insertRows(ref, [{ id: 2, a: 'y', b: 7 }]);
        // Outside the adapter's DDL: a new column, then the table recreated with another column order and types.
        await warehouse.query('ALTER TABLE logs.rows ADD COLUMN c STRING');
        await warehouse.insertRows(ref, [{ id: 3, c: 'z' }]);
        expect(await all(warehouse)).to.deep.equal([
          { id: 1, a: 'x', b: null, c: null },
          { id: 2, a: 'y', b: 7, c: null },
          { id: 3, a: null, b: null, c: 'z' },
        ]);
        await warehouse.query('DROP TABLE logs.rows');
        await warehouse.query('CREATE TABLE logs.rows (a VARCHAR, id BIGINT)');
        await warehouse.insertRows(ref, [{ id: 4, a: 'w' }]);
        expect(await all(warehouse)).to.deep.equal([{ a: 'w', id: 4 }]);
        await warehouse.query('DROP TABLE logs.rows');
        expect(await warehouse.insertRows(ref, [{ id: 5 }]).then(() => null, (err: WarehouseError) => err.reason)).to.equal('not_found');
      } finally {
        await cleanup();
      }
    });
  });

  describe('appends asked for together (a log flush over many tables)', () => {
    it('writes them in one go, and a broken one fails alone while the others land', async () => {
      const { warehouse, cleanup } = await createTestDuckDb();
      try {
        await warehouse.createDataset('logs');
        const refs = ['t1', 't2', 't3'].map((table) => ({ dataset: 'logs', table }));
        for (const ref of refs) await warehouse.createTable(ref, { columns: [{ name: 'id', type: 'INT64' }] });
        const outcomes = await Promise.all([
          warehouse.insertRows(refs[0] as TableRef, [{ id: 1 }, { id: 2 }]),
          warehouse.insertRows(refs[1] as TableRef, [{ id: 3, nope: true }]),
          warehouse.insertRows(refs[2] as TableRef, [{ id: 4 }]),
          warehouse.insertRows({ dataset: 'logs', table: 'missing' }, [{ id: 5 }]),
        ].map((p) => p.then(() => 'ok', (err: WarehouseError) => err.reason)));
        expect(outcomes).to.deep.equal(['ok', 'invalid_query', 'ok', 'not_found']);
        const count = async (table: string) => (await warehouse.query(`SELECT COUNT(*) AS n FROM logs.${table}`)).rows[0]?.['n'];
        expect([await count('t1'), await count('t2'), await count('t3')]).to.deep.equal([2, 0, 1]);
      } finally {
        await cleanup();
      }
    });
  });
});
