import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import type { SandboxOptions } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

/**
 * The operator sandbox's parse-tree check (duckdb-unbound.ts) lets an unqualified table name through as a CTE only
 * where that CTE is visible, as DuckDB binds it: a CTE named like a file must not cover a reference to the file in
 * its own body or in another query (found by review: DuckDB then read the file as a replacement scan and the binder
 * error quoted its header). CTEs used where they are visible — nested, recursive, chained — still run.
 */
const LIMITS: SandboxOptions = { maxRows: 10, maxBytesBilled: 1 };
const SECRET = 'sk_live_4f9a_secret_header';

describe('operator sandbox: a CTE covers a name only where DuckDB sees it', () => {
  let dir: string;
  let exportsDir: string;
  let wh: DuckDbWarehouse;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-rt-cte-'));
    exportsDir = path.join(dir, 'exports');
    fs.mkdirSync(exportsDir);
    fs.writeFileSync(path.join(exportsDir, 'acme_corp.csv'), `${SECRET}\n1\n2\n`);
    wh = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb'), exportsDir, poolSize: 2 });
  });
  after(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const cases: Array<(p: string) => string> = [
    (p) => `WITH "${p}" AS (SELECT nope FROM '${p}') SELECT * FROM "${p}"`,
    (p) => `SELECT nope FROM '${p}' WHERE EXISTS (WITH "${p}" AS (SELECT 1) SELECT 1)`,
  ];
  for (const sql of cases) {
    it(`refuses ${sql('<exports>/acme_corp.csv')} as not_found without reading the file`, async () => {
      const err = await warehouseError(wh.sandboxQuery(sql(path.join(exportsDir, 'acme_corp.csv')), LIMITS));
      expect(err.message).not.to.contain(SECRET);
      expect(err.reason).to.equal('not_found');
    });
  }

  const legitimate: Array<[string, string, unknown]> = [
    ['a recursive CTE', 'WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT COUNT(*) AS c FROM r', 3],
    ['a CTE reading an earlier one', 'WITH a AS (SELECT 1 AS x), b AS (SELECT x FROM a) SELECT COUNT(*) AS c FROM b', 1],
    ['an outer CTE read in a subquery', 'WITH a AS (SELECT 1 AS x) SELECT (SELECT COUNT(*) FROM a) AS c', 1],
    ['a CTE of a subquery read inside it', 'SELECT (WITH a AS (SELECT 2 AS x) SELECT COUNT(*) FROM a) AS c', 1],
  ];
  for (const [what, sql, count] of legitimate) {
    it(`still runs ${what}`, async () => {
      const res = await wh.sandboxQuery(sql, LIMITS);
      expect(Number(res.rows[0]?.['c'])).to.equal(count);
    });
  }
});
