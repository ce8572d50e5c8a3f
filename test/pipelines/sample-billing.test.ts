import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { generateDayRows, loadSampleBillingData, seededRandom } from '../../src/pipelines/sample-billing';
import { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import { bootstrapCentral } from '../../src/tenants/bootstrap';
import { writeProfile } from '../../src/tenants/tenant-store';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';

const ROOT = path.resolve(__dirname, '../..');

describe('sample billing data', () => {
  describe('the generator', () => {
    it('gives the same rows for the same seed and different rows for another', () => {
      const a = generateDayRows('acme_corp', '2025-11-14', 50, seededRandom(42));
      const b = generateDayRows('acme_corp', '2025-11-14', 50, seededRandom(42));
      const c = generateDayRows('acme_corp', '2025-11-14', 50, seededRandom(43));
      expect(a).to.deep.equal(b);
      expect(a).to.not.deep.equal(c);
    });

    it('produces the flattened export layout with realistic values', () => {
      const rows = generateDayRows('acme_corp', '2025-11-14', 400, seededRandom(1));
      const first = rows[0] ?? {};
      expect(Object.keys(first)).to.have.members([
        'billing_account_id', 'service_id', 'service_description', 'sku_id', 'sku_description', 'project_id', 'project_name',
        'usage_start_time', 'usage_end_time', 'location_region', 'cost', 'currency', 'currency_conversion_rate', 'usage_amount',
        'usage_unit', 'credits', 'labels', 'cost_type', 'invoice_month', 'export_time',
      ]);
      expect(new Set(rows.map((r) => r['service_description'])).size).to.be.greaterThan(6);
      expect(new Set(rows.map((r) => r['project_id']))).to.include('acme-corp-prod-web');
      expect(rows.every((r) => String(r['usage_start_time']).startsWith('2025-11-14T'))).to.equal(true);
      expect(rows.every((r) => r['invoice_month'] === '202511' && Number(r['cost']) >= 0)).to.equal(true);
      const credits = rows.flatMap((r) => r['credits'] as Array<{ amount: number; type: string }>);
      expect(credits.length).to.be.greaterThan(10);
      expect(credits.every((c) => c.amount <= 0)).to.equal(true);
      expect(new Set(credits.map((c) => c.type))).to.include('SUSTAINED_USAGE_DISCOUNT');
    });
  });

  describe('loading into a warehouse', () => {
    let wh: TestWarehouse;
    before(async () => {
      wh = await createTestDuckDb();
    });
    after(async () => wh.cleanup());

    it('creates the dataset and table, loads in batches reporting progress, and replaces on reload', async () => {
      const progress: number[] = [];
      const opts = { days: 3, rowsPerDay: 100, seed: 9, now: new Date('2025-11-15T10:00:00Z'), batchSize: 120 };
      const result = await loadSampleBillingData(wh.warehouse, 'gamma_corp', opts, (p) => progress.push(p.rowsWritten));
      expect(result).to.deep.equal({ table: 'gamma_corp.gcp_billing_export_v1', rows: 300, fromDate: '2025-11-12', toDate: '2025-11-14' });
      expect(progress).to.deep.equal([120, 240, 300]);
      await loadSampleBillingData(wh.warehouse, 'gamma_corp', opts);
      const { rows } = await wh.warehouse.query('SELECT COUNT(*) AS n, MIN(CAST(usage_start_time AS DATE)) AS first_day FROM `gamma_corp.gcp_billing_export_v1`');
      expect(rows[0]).to.deep.equal({ n: 300, first_day: '2025-11-12' });
    });
  });

  describe('npm run sample-data', () => {
    it('loads the rows into the configured DuckDB file', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-sample-'));
      try {
        // The tenant is onboarded (a profile row) before its sample data is loaded.
        const setup = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb') });
        await bootstrapCentral({ warehouse: setup });
        const at = '2025-11-01T00:00:00.000Z';
        await writeProfile(setup, { tenantId: 'acme_corp', companyName: 'Acme', adminEmail: 'a@acme.com', status: 'ACTIVE', subscriptionPlan: 'STARTER', createdAt: at, updatedAt: at }, new Date(at));
        await setup.close();
        const { stdout } = await promisify(execFile)(
          process.execPath,
          [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/sample-data.ts', '--tenant', 'acme_corp', '--days', '2', '--rows-per-day', '25', '--end-date', '2025-11-14'],
          { cwd: ROOT, env: { ...process.env, DATA_DIR: dir, WAREHOUSE: 'duckdb', DUCKDB_PATH: '' } },
        );
        expect(stdout).to.contain('Loaded 50 rows into acme_corp.gcp_billing_export_v1 (2025-11-13 .. 2025-11-14, duckdb)');
        const wh = await DuckDbWarehouse.open({ path: path.join(dir, 'warehouse.duckdb') });
        try {
          expect((await wh.query('SELECT COUNT(*) AS n FROM `acme_corp.gcp_billing_export_v1`')).rows).to.deep.equal([{ n: 50 }]);
        } finally {
          await wh.close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses a tenant that is not onboarded, naming the onboarding call', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-sample-'));
      try {
        const err = await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/sample-data.ts', '--tenant', 'ghost_co'], {
          cwd: ROOT,
          env: { ...process.env, DATA_DIR: dir, WAREHOUSE: 'duckdb', DUCKDB_PATH: '', PORT: '1' },
        }).then(
          () => undefined,
          (e: { code: number; stderr: string }) => e,
        );
        expect(err?.code).to.equal(1);
        expect(err?.stderr).to.contain('Tenant ghost_co is not onboarded');
        expect(err?.stderr).to.contain('POST http://127.0.0.1:1/api/v1/tenants/onboard');
        expect(err?.stderr).to.contain('"tenant_id":"ghost_co"');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('refuses a missing or invalid tenant', async () => {
      const err = await promisify(execFile)(process.execPath, [path.join(ROOT, 'node_modules/tsx/dist/cli.mjs'), 'src/cli/sample-data.ts', '--tenant', 'Bad Tenant'], {
        cwd: ROOT,
      }).then(
        () => undefined,
        (e: { code: number; stderr: string }) => e,
      );
      expect(err?.code).to.equal(1);
      expect(err?.stderr).to.match(/--tenant is required and must match/);
    });
  });
});
