import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import type { SandboxOptions } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

const LIMITS: SandboxOptions = { maxRows: 100, maxBytesBilled: 1 };

describe('duckdb operator sandbox', () => {
  let dir: string;
  let exportsDir: string;
  let wh: DuckDbWarehouse;

  const setting = async (name: string): Promise<unknown> =>
    (await wh.query('SELECT value FROM duckdb_settings() WHERE name = @name', { params: { name } })).rows[0]?.['value'];

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-sandbox-'));
    exportsDir = path.join(dir, 'exports');
    fs.mkdirSync(exportsDir);
    wh = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb'), exportsDir, poolSize: 2 });
  });
  afterEach(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  describe('the instance', () => {
    it('runs with external access off, extensions fixed and its configuration locked', async () => {
      expect(await setting('enable_external_access')).to.equal('false');
      expect(await setting('lock_configuration')).to.equal('true');
      expect(await setting('autoload_known_extensions')).to.equal('false');
      expect(await setting('autoinstall_known_extensions')).to.equal('false');
    });

    it('allows the exports directory and its own temporary files, nothing else', async () => {
      const allowed = String(await setting('allowed_directories'));
      expect(allowed).to.contain(`${exportsDir}${path.sep}`);
      expect(allowed.split(',')).to.have.length(2);
      expect(allowed).to.contain('warehouse.duckdb.tmp');
    });

    it('refuses an exports directory that would also allow the database’s neighbours', async () => {
      const other = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-sandbox-'));
      try {
        let caught: unknown;
        await DuckDbWarehouse.open({ path: path.join(other, 'warehouse.duckdb'), exportsDir: other }).catch((err: unknown) => {
          caught = err;
        });
        expect(String(caught)).to.match(/must not contain the database file/);
        expect(fs.existsSync(path.join(other, 'warehouse.duckdb.lock'))).to.equal(false);
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });

    it('keeps pipeline connections away from host files too', async () => {
      const err = await warehouseError(wh.query(`SELECT * FROM read_text('/etc/hostname')`));
      expect(err.reason).to.equal('access_denied');
    });

    it('answers SET on a pipeline connection with the lock, leaving the setting as it was', async () => {
      const err = await warehouseError(wh.query('SET GLOBAL enable_external_access = true'));
      expect(err.message).to.match(/configuration has been locked/);
      expect(await setting('enable_external_access')).to.equal('false');
    });
  });

  describe('reading results', () => {
    it('stops reading an endless result at the first row past the cap', async () => {
      // A trillion rows: this only returns because reading stops after maxRows + 1.
      const result = await wh.sandboxQuery('SELECT range AS n FROM range(1000000000000)', { ...LIMITS, maxRows: 5 });
      expect(result.rows.map((r) => r['n'])).to.deep.equal([0, 1, 2, 3, 4]);
      expect(result.truncated).to.equal(true);
    });

    it('refuses @parameters, which an operator query has no way to bind', async () => {
      expect((await warehouseError(wh.sandboxQuery('SELECT @x AS x', LIMITS))).reason).to.equal('invalid_query');
    });

    it('serves queries sent at once, one after the other on its own connection', async () => {
      const answers = await Promise.all([1, 2, 3].map((i) => wh.sandboxQuery(`SELECT ${i} AS i`, LIMITS)));
      expect(answers.map((a) => a.rows)).to.deep.equal([[{ i: 1 }], [{ i: 2 }], [{ i: 3 }]]);
    });

    it('interrupts a long query when its signal aborts and answers the next one', async () => {
      const controller = new AbortController();
      const running = wh.sandboxQuery('SELECT COUNT(*) AS n FROM range(100000000000000) AS a', { ...LIMITS, signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      expect((await warehouseError(running)).reason).to.equal('cancelled');
      expect((await wh.sandboxQuery('SELECT 1 AS one', LIMITS)).rows).to.deep.equal([{ one: 1 }]);
    });
  });

  describe('table functions that change the instance', () => {
    it('refuses enable_logging to a file before it runs: logging stays off and the process alive', async () => {
      const logDir = path.join(dir, 'logs');
      const logging = await setting('enable_logging');
      const err = await warehouseError(wh.sandboxQuery(`SELECT * FROM enable_logging(storage := 'file', storage_path := '${logDir}')`, LIMITS));
      expect(err.reason).to.equal('function_not_allowed');
      expect(err.message).to.contain('enable_logging');
      expect(await setting('enable_logging')).to.equal(logging);
      expect(await setting('logging_storage')).to.equal('memory');
      expect(fs.existsSync(logDir)).to.equal(false);
      expect((await wh.query('SELECT 1 AS one')).rows).to.deep.equal([{ one: 1 }]);
    });

    it('finds them wherever the plan has them: in a subquery, behind query(…), after a CTE', async () => {
      const logging = await setting('enable_logging');
      for (const sql of [
        'SELECT 1 AS a WHERE EXISTS (SELECT * FROM enable_logging())',
        `SELECT * FROM query('SELECT * FROM enable_logging()')`,
        'WITH c AS MATERIALIZED (SELECT * FROM truncate_duckdb_logs()) SELECT * FROM c',
        'SELECT * FROM checkpoint()',
        `SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT 1'))`,
      ]) {
        expect((await warehouseError(wh.sandboxQuery(sql, LIMITS))).reason, sql).to.equal('function_not_allowed');
      }
      expect(await setting('enable_logging')).to.equal(logging);
    });

    it('lets catalog readers through', async () => {
      const result = await wh.sandboxQuery(`SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'main'`, LIMITS);
      expect(result.rows).to.deep.equal([{ n: 0 }]);
    });
  });

  describe('the exports directory', () => {
    it('is not readable or writable through operator queries', async () => {
      fs.writeFileSync(path.join(exportsDir, 't.csv'), 'a\n1\n');
      const read = await warehouseError(wh.sandboxQuery(`SELECT * FROM read_csv('${exportsDir}/t.csv')`, LIMITS));
      expect(read.reason).to.equal('function_not_allowed');
      const target = path.join(exportsDir, 'out.csv');
      const write = await warehouseError(wh.sandboxQuery(`COPY (SELECT 1 AS a) TO '${target}'`, LIMITS));
      expect(write.reason).to.equal('not_read_only');
      expect(fs.existsSync(target)).to.equal(false);
    });
  });
});
