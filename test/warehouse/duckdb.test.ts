import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { WarehouseError } from '../../src/warehouse/types';
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
});
