import { expect } from 'chai';
import type { SandboxOptions, Warehouse } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

/**
 * The part of the warehouse contract about operator queries (`sandboxQuery`): what every adapter must do with
 * the same SQL, whatever its engine. Engine-specific attacks live in test/security/admin-sql-sandbox.test.ts.
 */

const LIMITS: SandboxOptions = { maxRows: 10, maxBytesBilled: 1024 ** 3 };

export function runSandboxContract(current: () => { wh: Warehouse; ds: string }): void {
  describe('operator sandbox', () => {
    let wh: Warehouse;
    let facts: string;

    const countFacts = async (): Promise<number> => Number((await wh.query(`SELECT COUNT(*) AS n FROM ${facts}`)).rows[0]?.['n']);

    beforeEach(async () => {
      const { wh: warehouse, ds } = current();
      wh = warehouse;
      facts = `\`${ds}.facts\``;
      await wh.createTable({ dataset: ds, table: 'facts' }, { columns: [{ name: 'id', type: 'STRING' }, { name: 'n', type: 'INT64' }] });
      await wh.insertRows({ dataset: ds, table: 'facts' }, Array.from({ length: 25 }, (_, i) => ({ id: `r${i}`, n: i })));
    });

    it('runs one SELECT in the shared dialect and returns its rows', async () => {
      const result = await wh.sandboxQuery(`SELECT id, n FROM ${facts} WHERE n < 3 ORDER BY n`, LIMITS);
      expect(result).to.deep.equal({ rows: [{ id: 'r0', n: 0 }, { id: 'r1', n: 1 }, { id: 'r2', n: 2 }], truncated: false });
    });

    it('returns at most maxRows rows and says when there were more', async () => {
      const capped = await wh.sandboxQuery(`SELECT n FROM ${facts} ORDER BY n`, LIMITS);
      expect(capped.rows.map((r) => r['n'])).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(capped.truncated).to.equal(true);
      const exact = await wh.sandboxQuery(`SELECT n FROM ${facts} ORDER BY n`, { ...LIMITS, maxRows: 25 });
      expect(exact.rows).to.have.length(25);
      expect(exact.truncated).to.equal(false);
    });

    it('stops before the row that would pass maxResultBytes and says truncated', async () => {
      const limits = { ...LIMITS, maxRows: 25, maxResultBytes: 10_000 };
      const wide = await wh.sandboxQuery(`SELECT id, REPEAT('x', 1000) AS pad FROM ${facts} ORDER BY n`, limits);
      expect(wide.truncated).to.equal(true);
      expect(wide.rows.length).to.be.within(5, 9);
      expect(wide.rows.map((r) => r['id'])).to.deep.equal(Array.from({ length: wide.rows.length }, (_, i) => `r${i}`));
      expect(JSON.stringify(wide.rows).length).to.be.at.most(10_000);
      const narrow = await wh.sandboxQuery(`SELECT id FROM ${facts} ORDER BY n`, limits);
      expect(narrow).to.include({ truncated: false });
      expect(narrow.rows).to.have.length(25);
    });

    it('refuses two statements as not_single_statement and runs neither', async () => {
      const err = await warehouseError(wh.sandboxQuery(`SELECT 1 AS a; DELETE FROM ${facts} WHERE TRUE`, LIMITS));
      expect(err.reason).to.equal('not_single_statement');
      expect(await countFacts()).to.equal(25);
    });

    it('refuses statements that write as not_read_only and changes nothing', async () => {
      const { ds } = current();
      for (const sql of [
        `DELETE FROM ${facts} WHERE TRUE`,
        `INSERT INTO ${facts} (id, n) VALUES ('x', 99)`,
        `UPDATE ${facts} SET n = 0 WHERE TRUE`,
        `CREATE TABLE \`${ds}.copy\` AS SELECT * FROM ${facts}`,
        `DROP TABLE ${facts}`,
      ]) {
        expect((await warehouseError(wh.sandboxQuery(sql, LIMITS))).reason, sql).to.equal('not_read_only');
      }
      expect(await countFacts()).to.equal(25);
      expect(await wh.listTables(ds)).to.deep.equal(['facts']);
    });

    it('answers an unknown table with the engine’s own error, not a refusal', async () => {
      const { ds } = current();
      expect((await warehouseError(wh.sandboxQuery(`SELECT * FROM \`${ds}.nope\``, LIMITS))).reason).to.equal('not_found');
    });

    it('answers cancelled for an aborted signal', async () => {
      const err = await warehouseError(wh.sandboxQuery(`SELECT n FROM ${facts}`, { ...LIMITS, signal: AbortSignal.abort() }));
      expect(err.reason).to.equal('cancelled');
    });
  });
}
