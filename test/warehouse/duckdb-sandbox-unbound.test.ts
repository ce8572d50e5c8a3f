import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import type { SandboxOptions } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

/**
 * Red team (SQL area): the operator sandbox refuses file readers by reading the plan of `EXPLAIN`, but binding that
 * plan already opens the file: read_csv sniffs it, read_parquet reads its schema, read_text globs. So a file in an
 * allowed directory (the exports directory with offboarded tenants' Parquet, the temp directory) is read, and an
 * unknown column makes the binder answer with the file's header ("Candidate bindings: …") instead of
 * SQL_FUNCTION_NOT_ALLOWED. test/warehouse/duckdb-sandbox.test.ts states the exports directory "is not readable
 * … through operator queries". Expected: table functions refused before anything is bound (e.g. from the parsed,
 * unbound statement via json_serialize_sql), so the answer is function_not_allowed and carries no file content.
 */
const LIMITS: SandboxOptions = { maxRows: 10, maxBytesBilled: 1 };

describe('red team: operator sandbox reads files in allowed directories while binding', () => {
  let dir: string;
  let exportsDir: string;
  let wh: DuckDbWarehouse;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-rt-bind-'));
    exportsDir = path.join(dir, 'exports');
    fs.mkdirSync(exportsDir);
    fs.writeFileSync(path.join(exportsDir, 'acme_corp.csv'), 'sk_live_4f9a_secret_header\n1\n2\n');
    wh = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb'), exportsDir, poolSize: 2 });
  });
  after(async () => {
    await wh.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const sql of [
    (d: string) => `SELECT nope FROM read_csv('${d}/acme_corp.csv')`,
    (d: string) => `SELECT nope FROM read_csv('${d}/*.csv')`,
  ]) {
    it(`refuses the reader without reading the file: ${sql('<exports>')}`, async () => {
      const err = await warehouseError(wh.sandboxQuery(sql(exportsDir), LIMITS));
      expect(err.message).not.to.contain('sk_live_4f9a_secret_header');
      expect(err.reason).to.equal('function_not_allowed');
    });
  }
});
