import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Warehouse } from '../../src/warehouse/types';
import { WarehouseError } from '../../src/warehouse/types';
import { createTestBigQuery, createTestDuckDb } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/** `Warehouse.exportTable`, the offboarding's own export path, on both adapters. */

async function parquetRows(file: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    return Number((await conn.runAndReadAll(`SELECT COUNT(*) FROM read_parquet('${file}')`)).getRows()[0]?.[0]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function seed(wh: Warehouse): Promise<void> {
  await wh.createDataset('acme');
  await wh.createTable({ dataset: 'acme', table: 'costs' }, { columns: [{ name: 'service', type: 'STRING' }, { name: 'cost', type: 'FLOAT64' }] });
  await wh.insertRows({ dataset: 'acme', table: 'costs' }, [{ service: 'bq', cost: 1.5 }, { service: 'gcs', cost: 2 }, { service: 'gce', cost: 3 }]);
  await wh.createView({ dataset: 'acme', table: 'costs_view' }, 'SELECT service FROM `acme.costs`');
}

const refusal = async (p: Promise<unknown>): Promise<WarehouseError> => {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).to.be.instanceOf(WarehouseError);
  return err as WarehouseError;
};

describe('exporting a table to Parquet', () => {
  describe('on the embedded warehouse', () => {
    let dir: string;
    let exportsDir: string;
    let db: Awaited<ReturnType<typeof createTestDuckDb>>;

    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-export-'));
      exportsDir = path.join(dir, 'exports');
      db = await createTestDuckDb({ exportsDir });
      await seed(db.warehouse);
    });
    after(async () => {
      await db.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('writes the table under the exports directory, creating its folders, with the rows it reports', async () => {
      const file = path.join(exportsDir, 'acme', 'run-1', 'costs.parquet');
      const result = await db.warehouse.exportTable({ dataset: 'acme', table: 'costs' }, file);
      expect(result).to.deep.equal({ kind: 'table', rows: 3, destination: file });
      expect(await parquetRows(file)).to.equal(3);
    });

    it('skips a view', async () => {
      expect(await db.warehouse.exportTable({ dataset: 'acme', table: 'costs_view' }, path.join(exportsDir, 'v.parquet'))).to.deep.equal({ kind: 'view' });
    });

    it('refuses a destination outside the exports directory, or not a .parquet file', async () => {
      for (const target of [path.join(dir, 'costs.parquet'), path.join(exportsDir, '..', 'escape.parquet'), path.join(exportsDir, 'costs.csv')]) {
        expect((await refusal(db.warehouse.exportTable({ dataset: 'acme', table: 'costs' }, target))).reason, target).to.equal('access_denied');
        expect(fs.existsSync(target), target).to.equal(false);
      }
    });

    it('refuses every export on an instance without an exports directory', async () => {
      const bare = await createTestDuckDb();
      try {
        await seed(bare.warehouse);
        const err = await refusal(bare.warehouse.exportTable({ dataset: 'acme', table: 'costs' }, path.join(bare.dir, 'x.parquet')));
        expect(err.reason).to.equal('access_denied');
      } finally {
        await bare.cleanup();
      }
    });

    it('answers not_found for a table that does not exist', async () => {
      expect((await refusal(db.warehouse.exportTable({ dataset: 'acme', table: 'nope' }, path.join(exportsDir, 'n.parquet')))).reason).to.equal('not_found');
    });
  });

  describe('on BigQuery (the local server; Cloud Storage simulated by a directory)', () => {
    let gcsDir: string;
    let bq: TestBigQuery;

    before(async () => {
      gcsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-gcs-'));
      bq = await createTestBigQuery({ gcsDir });
      await seed(bq.warehouse);
    });
    after(async () => {
      await bq.cleanup();
      fs.rmSync(gcsDir, { recursive: true, force: true });
    });

    it('runs one extract job with destinationFormat PARQUET to the gs:// URI and reports the rows', async () => {
      const uri = 'gs://exports-bucket/acme/run-1/costs-*.parquet';
      const result = await bq.warehouse.exportTable({ dataset: 'acme', table: 'costs' }, uri);
      expect(result).to.deep.equal({ kind: 'table', rows: 3, destination: uri });
      const [extract] = bq.server.extracts.requests;
      expect(extract?.config).to.deep.include({ destinationUris: [uri], destinationFormat: 'PARQUET' });
      expect(extract?.config.sourceTable).to.include({ datasetId: 'acme', tableId: 'costs' });
      expect(await parquetRows(path.join(gcsDir, 'exports-bucket/acme/run-1/costs-000000000000.parquet'))).to.equal(3);
    });

    it('skips a view without a job', async () => {
      const before = bq.server.extracts.requests.length;
      expect(await bq.warehouse.exportTable({ dataset: 'acme', table: 'costs_view' }, 'gs://exports-bucket/v-*.parquet')).to.deep.equal({ kind: 'view' });
      expect(bq.server.extracts.requests.length).to.equal(before);
    });

    it('refuses a destination that is not a gs:// URI before calling BigQuery', async () => {
      for (const target of ['/tmp/costs.parquet', 'https://example.com/x.parquet', 'gs://bucket/../x.parquet']) {
        expect((await refusal(bq.warehouse.exportTable({ dataset: 'acme', table: 'costs' }, target))).reason, target).to.equal('access_denied');
      }
    });
  });
});
