import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

interface Row {
  request_id: string;
  actor: string;
  tenant_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  outcome_code: string | null;
  details: Record<string, unknown> | null;
}

/**
 * `POST /api/v1/admin/tenants/{id}/sample-data` (and `npm run sample-data`, which goes through it while a server runs)
 * drops and recreates the tenant's `gcp_billing_export_v1` unless `append` is set: an admin action that destroys a
 * tenant's rows, so it is audited (tenant.sample_data), as is POST /admin/bootstrap (admin.bootstrap).
 */
describe('the admin sample-data load and bootstrap in the audit log', () => {
  let t: TestSystem;
  let rows: Row[] = [];
  const mine = (requestId: string): Row[] => rows.filter((e) => e.request_id === requestId);
  const admin = (url: string, requestId: string) => t.request.post(url).set('X-Admin-Key', t.adminKey).set('X-Request-ID', requestId);

  before(async () => {
    t = await startTestSystem({ role: 'api' });
    await onboard(t, 'sample_audit');
    const first = await admin('/api/v1/admin/tenants/sample_audit/sample-data', 'req-sample-first').send({ days: 2, rows_per_day: 5, end_date: '2025-11-14' });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    // The second load drops the table the first one (or the tenant's own data) filled.
    const second = await admin('/api/v1/admin/tenants/sample_audit/sample-data', 'req-sample-replace').send({ days: 1, rows_per_day: 1, end_date: '2025-11-14' });
    expect(second.status).to.equal(200);
    expect(second.body.rows).to.equal(1);
    const appended = await admin('/api/v1/admin/tenants/sample_audit/sample-data', 'req-sample-append').send({ days: 1, rows_per_day: 2, end_date: '2025-11-13', append: true });
    expect(appended.status).to.equal(200);
    expect((await admin('/api/v1/admin/tenants/sample_audit/sample-data', 'req-sample-refused').send({ days: 0 })).status).to.equal(422);
    expect((await admin('/api/v1/admin/bootstrap', 'req-bootstrap').send({})).status).to.equal(200);
    await t.system.auditLog.flush();
    const read = await t.request.get('/api/v1/admin/audit?limit=500').set('X-Admin-Key', t.adminKey);
    expect(read.status).to.equal(200);
    rows = read.body.entries as Row[];
  });
  after(async () => t?.close());

  it('records who replaced the tenant’s billing export table, and with what', () => {
    const replaced = mine('req-sample-replace');
    expect(replaced, 'no audit row for the admin call that replaced the tenant’s table').to.have.length(1);
    expect(replaced[0]).to.deep.include({
      action: 'tenant.sample_data', actor: 'admin', tenant_id: 'sample_audit', target: 'table:sample_audit.gcp_billing_export_v1', outcome: 'success',
      details: { days: 1, rows_per_day: 1, append: false, end_date: '2025-11-14', from_date: '2025-11-14', to_date: '2025-11-14' },
    });
  });

  it('says whether the rows were appended, and records a refused load with its code', () => {
    expect(mine('req-sample-append')[0]?.details).to.include({ append: true, days: 1, rows_per_day: 2 });
    expect(mine('req-sample-refused')[0]).to.include({ action: 'tenant.sample_data', outcome: 'failure', outcome_code: 'VALIDATION_ERROR' });
  });

  it('records the bootstrap with what it created (nothing, after the start’s own)', () => {
    expect(mine('req-bootstrap')[0]).to.deep.include({ action: 'admin.bootstrap', actor: 'admin', tenant_id: null, outcome: 'success', details: { datasets_created: [], tables_created: [] } });
  });
});
