import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Offboarding on the BigQuery adapter (the official client against the local fake server): one extract job per
 * table to the body's gs:// URI, then the dataset deleted. Cloud Storage is simulated by a local directory.
 */
describe('offboarding on BigQuery', () => {
  let gcsDir: string;
  let bq: TestBigQuery;
  let t: TestSystem;
  const admin = () => ({ 'X-Admin-Key': t.adminKey });

  before(async function () {
    this.timeout(60_000);
    gcsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-gcs-'));
    bq = await createTestBigQuery({ gcsDir });
    t = await startTestSystem({ role: 'api', warehouse: bq.warehouse, env: { WAREHOUSE: 'bigquery', GCP_PROJECT_ID: 'test-project' } });
    await onboard(t, 'bq_corp', 'SCALE');
    expect((await t.request.post('/api/v1/admin/tenants/bq_corp/sample-data').set(admin()).send({ days: 1, rows_per_day: 4, end_date: '2025-11-14' })).status).to.equal(200);
  });
  after(async () => {
    await t.close();
    await bq.cleanup();
    fs.rmSync(gcsDir, { recursive: true, force: true });
  });

  it('answers 422 EXPORT_DESTINATION_INVALID without a gs:// URI (no body export_uri, no OFFBOARD_EXPORT_URI)', async () => {
    const res = await t.request.post('/api/v1/admin/tenants/bq_corp/offboard').set(admin()).send({});
    expect([res.status, res.body.code]).to.deep.equal([422, 'EXPORT_DESTINATION_INVALID']);
    const bad = await t.request.post('/api/v1/admin/tenants/bq_corp/offboard').set(admin()).send({ export_uri: 'https://example.com/x' });
    expect([bad.status, bad.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
  });

  it('extracts every table as Parquet to the URI, then drops the dataset', async () => {
    const res = await t.request.post('/api/v1/admin/tenants/bq_corp/offboard').set(admin()).send({ export_uri: 'gs://leaving-bucket/archive' });
    expect(res.status).to.equal(200);
    const id = String(res.body.offboard_id);
    expect(res.body.export_location).to.equal(`gs://leaving-bucket/archive/bq_corp/${id}`);
    const exported = res.body.exported as Array<{ table: string; rows: number; destination: string }>;
    expect(exported.map((e) => e.table)).to.include.members(['gcp_billing_export_v1', 'x_meta_pipeline_runs_events']);
    expect(exported.find((e) => e.table === 'gcp_billing_export_v1')).to.deep.equal({
      table: 'gcp_billing_export_v1', rows: 4, destination: `gs://leaving-bucket/archive/bq_corp/${id}/gcp_billing_export_v1-*.parquet`,
    });
    const extracts = bq.server.extracts.requests;
    expect(extracts.map((x) => x.config.sourceTable?.tableId)).to.have.members(exported.map((e) => e.table));
    expect(extracts.every((x) => x.config.destinationFormat === 'PARQUET')).to.equal(true);
    for (const x of extracts) expect(fs.existsSync(x.file), x.file).to.equal(true);
    expect(await bq.warehouse.datasetExists('bq_corp')).to.equal(false);
    expect((await t.request.get('/api/v1/admin/tenants/bq_corp').set(admin())).body.status).to.equal('DELETED');
  });
});
