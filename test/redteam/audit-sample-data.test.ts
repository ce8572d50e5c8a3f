import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * `POST /api/v1/admin/tenants/{id}/sample-data` (and `npm run sample-data`, which goes through it while a server runs)
 * drops and recreates the tenant's `gcp_billing_export_v1` unless `append` is set: an admin action that destroys a
 * tenant's rows. It leaves no audit row, while far milder admin actions (a plan change, a dry-run offboarding) do.
 */
describe('red team: the admin sample-data load in the audit log', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
    await onboard(t, 'sample_audit');
  });
  after(async () => t?.close());

  it('records who replaced the tenant’s billing export table', async () => {
    const first = await t.request.post('/api/v1/admin/tenants/sample_audit/sample-data').set('X-Admin-Key', t.adminKey).send({ days: 2, rows_per_day: 5, end_date: '2025-11-14' });
    expect(first.status, JSON.stringify(first.body)).to.equal(200);
    // The second load drops the table the first one (or the tenant's own data) filled.
    const second = await t.request.post('/api/v1/admin/tenants/sample_audit/sample-data').set('X-Admin-Key', t.adminKey).set('X-Request-ID', 'req-sample-replace')
      .send({ days: 1, rows_per_day: 1, end_date: '2025-11-14' });
    expect(second.status).to.equal(200);
    expect(second.body.rows).to.equal(1);
    await t.system.auditLog.flush();
    const rows = await t.request.get('/api/v1/admin/audit?tenant_id=sample_audit&limit=500').set('X-Admin-Key', t.adminKey);
    expect(rows.status).to.equal(200);
    const mine = (rows.body.entries as Array<{ request_id: string; actor: string; tenant_id: string }>).filter((e) => e.request_id === 'req-sample-replace');
    expect(mine, 'no audit row for the admin call that replaced the tenant’s table').to.have.length(1);
    expect(mine[0]).to.include({ actor: 'admin', tenant_id: 'sample_audit' });
  });
});
