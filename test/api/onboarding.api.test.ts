import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

describe('POST /api/v1/tenants/onboard', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem();
  });
  after(async () => t.close());

  describe('with the guide’s request body', () => {
    it('answers 201 with the API key, the dataset and the three x_meta tables', async () => {
      const res = await t.request
        .post('/api/v1/tenants/onboard')
        .set('X-Admin-Key', t.adminKey)
        .set('Content-Type', 'application/json')
        .send({ tenant_id: 'acme_corp', company_name: 'ACME Corporation', admin_email: 'admin@acmecorp.com', subscription_plan: 'PROFESSIONAL' });
      expect(res.status).to.equal(201);
      expect(res.body.api_key).to.match(/^acme_corp_api_[A-Za-z0-9]{16}$/);
      expect(res.body.dataset_created).to.equal(true);
      expect(res.body.tables_created).to.deep.equal(['x_meta_pipeline_runs', 'x_meta_step_logs', 'x_meta_dq_results']);
      expect(res.body.subscription_plan).to.equal('PROFESSIONAL');
      expect(await t.warehouse.datasetExists('acme_corp')).to.equal(true);
    });

    it('answers 409 TENANT_EXISTS the second time', async () => {
      const res = await t.request
        .post('/api/v1/tenants/onboard')
        .set('X-Admin-Key', t.adminKey)
        .send({ tenant_id: 'acme_corp', company_name: 'ACME Corporation', admin_email: 'admin@acmecorp.com' });
      expect(res.status).to.equal(409);
      expect(res.body.code).to.equal('TENANT_EXISTS');
      expect(res.body.request_id).to.be.a('string');
    });
  });

  describe('the guide’s quick-start body (no plan given)', () => {
    it('onboards on STARTER', async () => {
      const res = await t.request
        .post('/api/v1/tenants/onboard')
        .set('X-Admin-Key', t.adminKey)
        .send({ tenant_id: 'test_corp', company_name: 'Test Corp', admin_email: 'admin@test.com' });
      expect(res.status).to.equal(201);
      expect(res.body.subscription_plan).to.equal('STARTER');
    });
  });

  describe('admin authentication', () => {
    it('answers 401 ADMIN_KEY_REQUIRED without X-Admin-Key', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').send({ tenant_id: 'nokey_corp', company_name: 'x', admin_email: 'a@b.com' });
      expect(res.status).to.equal(401);
      expect(res.body.code).to.equal('ADMIN_KEY_REQUIRED');
    });
    it('answers 403 INVALID_ADMIN_KEY with a wrong key', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', 'wrong-admin-key-123456').send({ tenant_id: 'nokey_corp', company_name: 'x', admin_email: 'a@b.com' });
      expect(res.status).to.equal(403);
      expect(res.body.code).to.equal('INVALID_ADMIN_KEY');
    });
    it('answers 403 with a tenant API key in X-Admin-Key', async () => {
      const key = await onboard(t, 'keyuser_corp');
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', key).send({ tenant_id: 'other_corp', company_name: 'x', admin_email: 'a@b.com' });
      expect(res.status).to.equal(403);
    });
  });

  describe('validation', () => {
    it('answers 422 naming tenant_id when it has capitals', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send({ tenant_id: 'Bad-Id', company_name: 'x', admin_email: 'a@b.com' });
      expect(res.status).to.equal(422);
      expect(res.body.code).to.equal('VALIDATION_ERROR');
      expect(res.body.errors.map((e: { field: string }) => e.field)).to.include('tenant_id');
    });
    it('answers 422 for an unknown plan', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send({ tenant_id: 'plan_corp', company_name: 'x', admin_email: 'a@b.com', subscription_plan: 'GOLD' });
      expect(res.status).to.equal(422);
    });
  });

  describe('POST /api/v1/tenants/dryrun', () => {
    it('reports readiness without creating anything', async () => {
      const res = await t.request.post('/api/v1/tenants/dryrun').set('X-Admin-Key', t.adminKey).send({ tenant_id: 'dry_corp', company_name: 'Dry', admin_email: 'a@dry.com' });
      expect(res.status).to.equal(200);
      expect(res.body.ready_for_onboarding).to.equal(true);
      expect(res.body.checks).to.be.an('array').that.is.not.empty;
      expect(await t.warehouse.datasetExists('dry_corp')).to.equal(false);
    });
  });
});
