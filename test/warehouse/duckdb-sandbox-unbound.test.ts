import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import type { SandboxOptions } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

/**
 * Binding a statement already opens files: read_csv sniffs its file, read_parquet reads its schema, a glob lists
 * a directory, a replacement scan (`FROM 'file.csv'`) does it for a name that is no table. In the directories the
 * lockdown allows (exports, temp), a binder error would then quote the file's header. The sandbox refuses these
 * from the parse tree DuckDB serialises before anything is bound (src/warehouse/duckdb-unbound.ts).
 */
const LIMITS: SandboxOptions = { maxRows: 10, maxBytesBilled: 1 };
const SECRET = 'sk_live_4f9a_secret_header';

describe('operator sandbox: what binding would read is refused before anything is bound', () => {
  let dir: string;
  let exportsDir: string;
  let wh: DuckDbWarehouse;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-unbound-'));
    exportsDir = path.join(dir, 'exports');
    fs.mkdirSync(exportsDir);
    fs.writeFileSync(path.join(exportsDir, 'acme_corp.csv'), `${SECRET}\n1\n2\n`);
    wh = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb'), exportsDir, poolSize: 2 });
    await wh.createDataset('acme_corp');
    await wh.createTable({ dataset: 'acme_corp', table: 'facts' }, { columns: [{ name: 'n', type: 'INT64' }] });
    await wh.insertRows({ dataset: 'acme_corp', table: 'facts' }, [{ n: 1 }, { n: 2 }]);
  });
  after(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const refusals: Array<[(d: string) => string, string]> = [
    [(d) => `SELECT nope FROM read_csv('${d}/acme_corp.csv')`, 'function_not_allowed'],
    [(d) => `SELECT nope FROM read_csv('${d}/*.csv')`, 'function_not_allowed'],
    [(d) => `SELECT nope FROM (SELECT * FROM acme_corp.facts, read_csv('${d}/acme_corp.csv'))`, 'function_not_allowed'],
    [(d) => `SELECT * FROM query("SELECT nope FROM read_csv('${d}/acme_corp.csv')")`, 'function_not_allowed'],
    [(d) => `SELECT * FROM query(concat("SELECT nope FROM read_csv('", "${d}/acme_corp.csv')"))`, 'function_not_allowed'],
    [(d) => `SELECT * FROM query_table('${d}/acme_corp.csv')`, 'function_not_allowed'],
    [(d) => `SELECT nope FROM '${d}/acme_corp.csv'`, 'not_found'],
    [(d) => `DESCRIBE '${d}/acme_corp.csv'`, 'not_found'],
  ];
  for (const [sql, reason] of refusals) {
    it(`refuses ${sql('<exports>')} as ${reason}, without reading the file`, async () => {
      const err = await warehouseError(wh.sandboxQuery(sql(exportsDir), LIMITS));
      expect(err.message).not.to.contain(SECRET);
      expect(err.reason).to.equal(reason);
    });
  }

  it('answers a missing file exactly as an existing one', async () => {
    const present = await warehouseError(wh.sandboxQuery(`SELECT * FROM read_csv('${exportsDir}/acme_corp.csv')`, LIMITS));
    const missing = await warehouseError(wh.sandboxQuery(`SELECT * FROM read_csv('${exportsDir}/missing.csv')`, LIMITS));
    expect(missing.message).to.equal(present.message);
  });

  it('still runs tables, views of the catalog, CTEs, query() of a literal and DESCRIBE', async () => {
    const run = async (sql: string): Promise<unknown[]> => (await wh.sandboxQuery(sql, LIMITS)).rows;
    expect(await run('SELECT SUM(n) AS s FROM acme_corp.facts')).to.deep.equal([{ s: 3 }]);
    expect(await run('WITH f AS (SELECT n FROM acme_corp.facts) SELECT COUNT(*) AS c FROM f')).to.deep.equal([{ c: 2 }]);
    expect(await run(`SELECT COUNT(*) AS c FROM information_schema.tables WHERE table_schema = 'acme_corp'`)).to.deep.equal([{ c: 1 }]);
    expect(await run(`SELECT * FROM query('SELECT 1 AS x')`)).to.deep.equal([{ x: 1 }]);
    expect(await run('DESCRIBE acme_corp.facts')).to.have.length(1);
    expect(await run('SELECT * FROM range(2) AS r(i)')).to.deep.equal([{ i: 0 }, { i: 1 }]);
  });

  it('refuses a text that is not a SELECT before preparing it', async () => {
    for (const sql of [`COPY (SELECT nope FROM read_csv('${exportsDir}/acme_corp.csv')) TO '${dir}/out.csv'`, `PRAGMA table_info('acme_corp.facts')`]) {
      const err = await warehouseError(wh.sandboxQuery(sql, LIMITS));
      expect(err.reason, sql).to.equal('not_read_only');
      expect(err.message).not.to.contain(SECRET);
    }
    expect(fs.existsSync(path.join(dir, 'out.csv'))).to.equal(false);
  });
  /**
   * A CTE covers a name only where DuckDB sees it (its query and those nested in it, not its own body unless
   * recursive): found by review, a CTE named like a file let the file be read where the CTE was not visible.
   */
  describe('CTE names, scoped as DuckDB binds them', () => {
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
});
