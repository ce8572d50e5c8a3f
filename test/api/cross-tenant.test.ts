import { expect } from 'chai';
import { routeTable } from '../../src/api/app';
import type { RouteSpec } from '../../src/api/route-table';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * The cross-tenant matrix: every tenant route of the route table is called with tenant A's key on
 * tenant B's resources. A `{tenant_id}` segment that is not the key's → 403 TENANT_MISMATCH; a run or
 * schedule id of B → 404 (its existence is never revealed); lists never show B's rows.
 */
describe('cross-tenant access', () => {
  let t: TestSystem;
  let keyA: string;
  let keyB: string;
  let runB: string;
  let configB: string;
  let backfillB: string;
  let webhookB: string;
  let tenantRoutes: RouteSpec[];

  before(async () => {
    t = await startTestSystem();
    keyA = await onboard(t, 'alpha_corp', 'SCALE');
    keyB = await onboard(t, 'beta_corp', 'SCALE');
    const run = await t.request.post('/api/v1/pipelines/run/beta_corp/gcp/cost/dryrun').set('X-API-Key', keyB).send({});
    expect(run.status).to.equal(202);
    runB = (run.body as { pipeline_logging_id: string }).pipeline_logging_id;
    const schedule = await t.request
      .post('/api/v1/scheduler/customer/beta_corp/pipelines')
      .set('X-API-Key', keyB)
      .send({ provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '0 2 * * *' });
    expect(schedule.status).to.equal(201);
    configB = (schedule.body as { config_id: string }).config_id;
    const provider = await t.request.put('/api/v1/tenants/beta_corp/providers/gcp').set('X-API-Key', keyB).send({ settings: { project_id: 'beta-project' } });
    expect(provider.status, JSON.stringify(provider.body)).to.be.below(300);
    const backfill = await t.request.post('/api/v1/pipelines/backfill/beta_corp/gcp/cost/billing_cost').set('X-API-Key', keyB).send({ start_date: '2025-11-01', end_date: '2025-11-02' });
    expect(backfill.status).to.equal(202);
    backfillB = (backfill.body as { backfill_id: string }).backfill_id;
    const hook = await t.request.post('/api/v1/tenants/beta_corp/webhooks').set('X-API-Key', keyB).send({ url: 'https://93.184.216.34/hook', events: ['schedule.misfired'] });
    expect(hook.status, JSON.stringify(hook.body)).to.equal(201);
    webhookB = (hook.body as { webhook_id: string }).webhook_id;
    tenantRoutes = routeTable(t.system.apiDeps()).filter((r) => r.auth === 'tenant');
  });
  after(async () => t.close());

  /** B's identifiers in every path parameter. */
  const pathFor = (spec: RouteSpec, tenantId: string): string =>
    spec.path
      .replace(':tenant_id', tenantId)
      .replace(':provider', 'gcp')
      .replace(':domain', 'cost')
      .replace(':template_name', spec.path.includes('/backfill/') ? 'billing_cost' : 'dryrun')
      .replace(':run_id', runB)
      .replace(':config_id', configB)
      .replace(':backfill_id', backfillB)
      .replace(':webhook_id', webhookB)
      .replace(':delivery_id', 'whd_0');

  /** A body each route would accept from its own tenant, so only the ownership check can refuse it. */
  const validBody = (spec: RouteSpec): Record<string, unknown> => {
    if (spec.path.endsWith('/pipelines/:config_id')) return { schedule_cron: '0 3 * * *' };
    if (spec.path.endsWith('/pipelines')) return { provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '0 3 * * *' };
    if (spec.path.includes('/providers/')) return { settings: { project_id: 'alpha-project' } };
    if (spec.path.includes('/backfill/')) return { start_date: '2025-11-01', end_date: '2025-11-02' };
    if (spec.path.endsWith('/webhooks')) return { url: 'https://93.184.216.34/alpha', events: ['schedule.misfired'] };
    if (spec.path.endsWith('/webhooks/:webhook_id')) return { events: ['run.failed'] };
    return {};
  };

  const call = (spec: RouteSpec, path: string, key: string) => {
    const req = t.request[spec.method](path).set('X-API-Key', key);
    return spec.method === 'get' || spec.method === 'delete' ? req : req.send(validBody(spec));
  };

  describe("with tenant A's key on tenant B's {tenant_id}", () => {
    it('answers 403 TENANT_MISMATCH on every route that names a tenant', async () => {
      const named = tenantRoutes.filter((r) => r.path.includes(':tenant_id'));
      expect(named.length).to.be.greaterThan(8);
      for (const spec of named) {
        const res = await call(spec, pathFor(spec, 'beta_corp'), keyA);
        expect([res.status, (res.body as { code?: string }).code], `${spec.method.toUpperCase()} ${spec.path}`).to.deep.equal([403, 'TENANT_MISMATCH']);
      }
    });

    it('while the same calls on its own tenant id are not refused (the matrix is not vacuous)', async () => {
      const own = tenantRoutes.filter((r) => r.path.includes(':tenant_id') && !r.path.includes(':config_id') && !r.path.includes(':webhook_id') && !r.path.endsWith('/rotate'));
      for (const spec of own) {
        const res = await call(spec, pathFor(spec, 'alpha_corp'), keyA);
        expect(res.status, `${spec.method.toUpperCase()} ${spec.path} → ${JSON.stringify(res.body)}`).to.be.oneOf([200, 201, 202, 204]);
      }
    });
  });

  describe("with tenant A's key on tenant B's run and schedule ids", () => {
    it('answers 404 on every route that names a run or a schedule', async () => {
      const byId = tenantRoutes.filter((r) => [':run_id', ':config_id', ':backfill_id', ':webhook_id'].some((id) => r.path.includes(id)));
      expect(byId.length).to.be.greaterThan(4);
      for (const spec of byId) {
        // A's own tenant id in the path, B's run/config id: the id must not resolve.
        const res = await call(spec, pathFor(spec, 'alpha_corp'), keyA);
        expect(res.status, `${spec.method.toUpperCase()} ${spec.path} → ${JSON.stringify(res.body)}`).to.equal(404);
        expect(JSON.stringify(res.body)).not.to.include('beta_corp');
      }
    });

    it("leaves B's run, schedule and provider settings untouched", async () => {
      expect((await t.request.get(`/api/v1/pipelines/runs/${runB}`).set('X-API-Key', keyB)).status).to.equal(200);
      const schedule = await t.request.get(`/api/v1/scheduler/customer/beta_corp/pipelines/${configB}`).set('X-API-Key', keyB);
      expect(schedule.status).to.equal(200);
      expect(schedule.body.schedule_cron).to.equal('0 2 * * *');
      const provider = await t.request.get('/api/v1/tenants/beta_corp/providers/gcp').set('X-API-Key', keyB);
      expect(provider.status).to.equal(200);
      expect(JSON.stringify(provider.body)).to.include('beta-project');
      const backfill = await t.request.get(`/api/v1/pipelines/backfills/${backfillB}`).set('X-API-Key', keyB);
      expect([backfill.status, backfill.body.tenant_id]).to.deep.equal([200, 'beta_corp']);
      expect(backfill.body.status).to.not.equal('CANCELLED');
      const hook = await t.request.get(`/api/v1/tenants/beta_corp/webhooks/${webhookB}`).set('X-API-Key', keyB);
      expect(hook.body).to.include({ url: 'https://93.184.216.34/hook', is_active: true });
      expect(hook.body.events).to.deep.equal(['schedule.misfired']);
    });
  });

  describe("with tenant A's key on the routes without ids", () => {
    it("lists none of B's runs", async () => {
      const res = await t.request.get('/api/v1/pipelines/runs').set('X-API-Key', keyA);
      expect(res.status).to.equal(200);
      expect(JSON.stringify(res.body)).not.to.include(runB);
      expect(JSON.stringify(res.body)).not.to.include('beta_corp');
    });

    it("cannot filter its way to B's runs by pipeline_id", async () => {
      const res = await t.request.get('/api/v1/pipelines/runs').query({ pipeline_id: 'beta_corp-gcp-cost-dryrun' }).set('X-API-Key', keyA);
      expect(res.status).to.equal(200);
      expect(JSON.stringify(res.body)).not.to.include(runB);
    });

    it('every tenant route is covered by one of the checks above', () => {
      const unchecked = tenantRoutes.filter((r) => !/:tenant_id|:run_id|:config_id|:backfill_id/.test(r.path)).map((r) => `${r.method} ${r.path}`);
      expect(unchecked.sort()).to.deep.equal(['get /api/v1/pipelines/runs', 'get /api/v1/pipelines/templates']);
    });
  });

  describe("with tenant A's key on admin routes", () => {
    it('answers 403 INVALID_ADMIN_KEY (a tenant key is not an admin key)', async () => {
      for (const spec of routeTable(t.system.apiDeps()).filter((r) => r.auth === 'admin')) {
        const path = spec.path.replace(':tenant_id', 'beta_corp').replace(':key_id', 'k1');
        const res = await t.request[spec.method](path).set('X-API-Key', keyA).set('X-Admin-Key', keyA).send({});
        expect(res.status, `${spec.method.toUpperCase()} ${spec.path}`).to.equal(403);
        expect(res.body.code).to.equal('INVALID_ADMIN_KEY');
      }
    });
  });
});
