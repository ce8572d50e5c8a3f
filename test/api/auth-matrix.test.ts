import { expect } from 'chai';
import { routeTable } from '../../src/api/app';
import type { RouteSpec } from '../../src/api/route-table';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Every tenant route, called with: no key, a wrong key, a revoked key, a suspended tenant's key and
 * another tenant's key. The route list comes from the live route table, so a new route is covered at once.
 */
describe('tenant route authentication matrix', () => {
  let t: TestSystem;
  let ownerKey: string;
  let otherKey: string;
  let revokedKey: string;
  let suspendedKey: string;
  let runId: string;
  let configId: string;
  let backfillId: string;
  let tenantRoutes: RouteSpec[];

  const pathFor = (spec: RouteSpec): string =>
    spec.path
      .replace(':tenant_id', 'owner_corp')
      .replace(':provider', 'gcp')
      .replace(':domain', 'cost')
      .replace(':template_name', 'dryrun')
      .replace(':run_id', runId)
      .replace(':config_id', configId)
      .replace(':backfill_id', backfillId);

  const call = (spec: RouteSpec, key: string | null) => {
    const req = t.request[spec.method](pathFor(spec));
    if (key !== null) req.set('X-API-Key', key);
    return spec.method === 'get' || spec.method === 'delete' ? req : req.send(spec.path.includes('providers') ? { settings: {} } : {});
  };

  before(async () => {
    t = await startTestSystem();
    ownerKey = await onboard(t, 'owner_corp', 'SCALE');
    otherKey = await onboard(t, 'other_corp', 'SCALE');
    suspendedKey = await onboard(t, 'paused_corp');
    const issued = await t.request.post('/api/v1/admin/tenants/owner_corp/api-keys').set('X-Admin-Key', t.adminKey);
    expect(issued.status).to.equal(201);
    revokedKey = issued.body.api_key;
    const revoked = await t.request.delete(`/api/v1/admin/api-keys/${issued.body.key_id}`).set('X-Admin-Key', t.adminKey);
    expect(revoked.status).to.equal(200);
    const suspended = await t.request.patch('/api/v1/admin/tenants/paused_corp').set('X-Admin-Key', t.adminKey).send({ status: 'SUSPENDED' });
    expect(suspended.status).to.equal(200);
    const run = await t.request.post('/api/v1/pipelines/run/owner_corp/gcp/cost/dryrun').set('X-API-Key', ownerKey);
    expect(run.status).to.equal(202);
    runId = run.body.pipeline_logging_id;
    const schedule = await t.request
      .post('/api/v1/scheduler/customer/owner_corp/pipelines')
      .set('X-API-Key', ownerKey)
      .send({ provider: 'GCP', domain: 'COST', pipeline_template: 'dryrun', schedule_cron: '0 2 * * *', timezone: 'UTC', is_active: true });
    expect(schedule.status).to.equal(201);
    configId = schedule.body.config_id;
    const backfill = await t.request.post('/api/v1/pipelines/backfill/owner_corp/gcp/cost/billing_cost').set('X-API-Key', ownerKey).send({ start_date: '2025-11-01', end_date: '2025-11-01' });
    expect(backfill.status).to.equal(202);
    backfillId = backfill.body.backfill_id;
    tenantRoutes = routeTable(t.system.apiDeps()).filter((r) => r.auth === 'tenant');
    expect(tenantRoutes.length).to.be.greaterThan(15);
  });
  after(async () => t.close());

  it('answers 401 INVALID_API_KEY on every tenant route without a key', async () => {
    for (const spec of tenantRoutes) {
      const res = await call(spec, null);
      expect(res.status, `${spec.method} ${spec.path}`).to.equal(401);
      expect(res.body.code).to.equal('INVALID_API_KEY');
    }
  });

  it('answers 401 on every tenant route with a well-formed but unknown key', async () => {
    for (const spec of tenantRoutes) {
      const res = await call(spec, 'owner_corp_api_AAAAAAAAAAAAAAAA');
      expect(res.status, `${spec.method} ${spec.path}`).to.equal(401);
    }
  });

  it('answers 401 on every tenant route with a revoked key', async () => {
    for (const spec of tenantRoutes) {
      const res = await call(spec, revokedKey);
      expect(res.status, `${spec.method} ${spec.path}`).to.equal(401);
    }
  });

  it('answers 401 on every tenant route for a suspended tenant', async () => {
    for (const spec of tenantRoutes) {
      const res = await call(spec, suspendedKey);
      expect(res.status, `${spec.method} ${spec.path}`).to.equal(401);
    }
  });

  it('never lets another tenant’s key act on this tenant: 403 on its paths, 404 on its run and schedule ids', async () => {
    for (const spec of tenantRoutes) {
      const res = await call(spec, otherKey);
      const label = `${spec.method} ${spec.path}`;
      if (spec.path.includes(':tenant_id')) {
        expect(res.status, label).to.equal(403);
        expect(res.body.code, label).to.equal('TENANT_MISMATCH');
      } else if (spec.path.includes(':run_id') || spec.path.includes(':backfill_id')) {
        expect(res.status, label).to.equal(404);
      } else {
        expect(res.status, label).to.be.lessThan(300);
        expect(JSON.stringify(res.body), label).not.to.include(runId);
      }
    }
  });

  it('still accepts the owner’s own key on the owner’s run', async () => {
    const res = await t.request.get(`/api/v1/pipelines/runs/${runId}`).set('X-API-Key', ownerKey);
    expect(res.status).to.equal(200);
    expect(res.body.tenant_id).to.equal('owner_corp');
  });

  it('answers 404 SCHEDULE_NOT_FOUND for another tenant’s schedule id under its own tenant path', async () => {
    const res = await t.request.get(`/api/v1/scheduler/customer/other_corp/pipelines/${configId}`).set('X-API-Key', otherKey);
    expect(res.status).to.equal(404);
    expect(res.body.code).to.equal('SCHEDULE_NOT_FOUND');
  });
});
