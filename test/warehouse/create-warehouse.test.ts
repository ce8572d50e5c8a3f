import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { loadConfig } from '../../src/config';
import { silentLogger } from '../../src/shared/logger';
import { createWarehouse } from '../../src/warehouse';
import { WarehouseError } from '../../src/warehouse/types';
import { createTestDuckDb } from '../helpers/warehouse';
import { FakeBigQueryServer } from '../helpers/fake-bigquery/server';

describe('createWarehouse', () => {
  describe('when WAREHOUSE=duckdb', () => {
    it('opens the file and refuses a second opener with the fix in the message', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-create-'));
      const cfg = loadConfig({ DATA_DIR: dir }).warehouse;
      const wh = await createWarehouse(cfg, { dataDir: dir, logger: silentLogger() });
      try {
        expect(wh.kind).to.equal('duckdb');
        await wh.ping();
        let caught: unknown;
        try {
          await createWarehouse(cfg, { dataDir: dir, logger: silentLogger() });
        } catch (err) {
          caught = err;
        }
        expect(caught).to.be.instanceOf(WarehouseError);
        expect((caught as Error).message).to.contain('ROLE=all').and.to.contain('WAREHOUSE=bigquery');
      } finally {
        await wh.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe('when WAREHOUSE=bigquery with a local API endpoint', () => {
    it('talks to that endpoint without Google credentials', async () => {
      const backing = await createTestDuckDb();
      const server = await new FakeBigQueryServer(backing.warehouse).start();
      const cfg = loadConfig({ WAREHOUSE: 'bigquery', GCP_PROJECT_ID: 'test-project', BIGQUERY_API_ENDPOINT: server.url }).warehouse;
      const wh = await createWarehouse(cfg, { dataDir: backing.dir, logger: silentLogger() });
      try {
        expect(wh.kind).to.equal('bigquery');
        await wh.ping();
        expect(await wh.createDataset('hello')).to.equal(true);
        expect(server.stats().datasetsInsert).to.equal(1);
      } finally {
        await wh.close();
        await server.stop();
        await backing.cleanup();
      }
    });
  });
});
