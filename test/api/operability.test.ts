import { expect } from 'chai';
import { captureLogger, onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

describe('operability', () => {
  const captured = captureLogger();
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ logger: captured.logger });
    key = await onboard(t, 'ops_corp', 'SCALE');
  });
  after(async () => t.close());

  describe('health', () => {
    it('answers /health and /health/live', async () => {
      expect((await t.request.get('/health')).status).to.equal(200);
      expect((await t.request.get('/health/live')).body.status).to.equal('alive');
    });
    it('reports Redis and the warehouse on /health/ready', async () => {
      const res = await t.request.get('/health/ready');
      expect(res.status).to.equal(200);
      expect(res.body.checks).to.deep.equal({ redis: true, warehouse: true });
    });
  });

  describe('documentation', () => {
    it('serves an OpenAPI 3 document generated from the route table', async () => {
      const res = await t.request.get('/openapi.json');
      expect(res.status).to.equal(200);
      expect(res.body.openapi).to.match(/^3\./);
      expect(res.body.paths).to.have.property('/api/v1/tenants/onboard');
      expect(res.body.paths['/api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/{template_name}']).to.have.property('post');
      const onboardBody = res.body.paths['/api/v1/tenants/onboard'].post.requestBody.content['application/json'].schema;
      expect(onboardBody.properties).to.have.property('tenant_id');
    });
    it('serves Swagger UI at /docs with its assets from the package (no CDN)', async () => {
      const page = await t.request.get('/docs');
      expect(page.status).to.equal(200);
      expect(page.text).to.include('/docs/swagger-init.js');
      const init = await t.request.get('/docs/swagger-init.js');
      expect(init.text).to.include('/openapi.json');
      const asset = await t.request.get('/docs/swagger-ui-bundle.js');
      expect(asset.status).to.equal(200);
    });
    it('answers an unknown /docs asset as any unknown path: 404 NOT_FOUND with the error body, not a bare text', async () => {
      const res = await t.request.get('/docs/nope.js');
      expect(res.status).to.equal(404);
      expect(res.body).to.include({ code: 'NOT_FOUND', detail: 'No route for GET /docs/nope.js' });
      expect(res.body.request_id).to.equal(res.headers['x-request-id']);
    });
  });

  describe('Bull Board at /admin/queues', () => {
    it('answers 401 with a basic-auth challenge without credentials', async () => {
      const res = await t.request.get('/admin/queues');
      expect(res.status).to.equal(401);
      expect(res.headers['www-authenticate']).to.match(/^Basic/);
    });
    it('answers 401 with a wrong password', async () => {
      expect((await t.request.get('/admin/queues').auth('admin', 'wrong')).status).to.equal(401);
    });
    it('answers 200 with the admin key as password and lists every queue', async () => {
      const page = await t.request.get('/admin/queues').auth('admin', t.adminKey);
      expect(page.status).to.equal(200);
      const api = await t.request.get('/admin/queues/api/queues').auth('admin', t.adminKey);
      expect(api.status).to.equal(200);
      const names = (api.body.queues as Array<{ name: string }>).map((q) => q.name);
      expect(names).to.include.members(['pipeline-runs', 'maintenance']);
    });
  });

  describe('metrics', () => {
    it('exposes HTTP, run, queue-depth and quota metrics in Prometheus text', async () => {
      const run = await t.request.post('/api/v1/pipelines/run/ops_corp/gcp/cost/dryrun').set('X-API-Key', key);
      await waitForRun(t, key, run.body.pipeline_logging_id);
      const res = await t.request.get('/metrics');
      expect(res.status).to.equal(200);
      expect(res.text).to.include('http_requests_total{method="POST",route="/api/v1/pipelines/run/:tenant_id/:provider/:domain/:template_name",status="202"}');
      expect(res.text).to.match(/pipeline_runs_total\{tenant_id="ops_corp",template="gcp\/cost\/dryrun",status="COMPLETED"\} 1/);
      expect(res.text).to.include('pipeline_run_duration_seconds_bucket');
      expect(res.text).to.include('pipeline_step_duration_seconds_bucket');
      expect(res.text).to.match(/queue_jobs\{queue="pipeline-runs",state="completed"\} \d+/);
      expect(res.text).to.include('quota_rejections_total');
    });
  });

  describe('errors', () => {
    it('answers unknown routes 404 NOT_FOUND with a request id', async () => {
      const res = await t.request.get('/api/v1/nope');
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('NOT_FOUND');
      expect(res.body.request_id).to.equal(res.headers['x-request-id']);
    });
    it('answers a wrong method 405', async () => {
      const res = await t.request.put('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send({});
      expect(res.status).to.equal(405);
      expect(res.body.code).to.equal('METHOD_NOT_ALLOWED');
    });
    it('answers a body over 1 MiB 413', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).set('Content-Type', 'application/json').send(`{"x":"${'a'.repeat(1024 * 1024 + 10)}"}`);
      expect(res.status).to.equal(413);
      expect(res.body.code).to.equal('PAYLOAD_TOO_LARGE');
    });
    it('answers malformed JSON 400 INVALID_JSON', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).set('Content-Type', 'application/json').send('{"tenant_id":');
      expect(res.status).to.equal(400);
      expect(res.body.code).to.equal('INVALID_JSON');
    });
    it('echoes a client X-Request-ID', async () => {
      const res = await t.request.get('/health').set('X-Request-ID', 'abc-123');
      expect(res.headers['x-request-id']).to.equal('abc-123');
    });
    it('answers 422 for a malformed X-User-ID', async () => {
      const res = await t.request.get('/api/v1/tenants/ops_corp').set('X-API-Key', key).set('X-User-ID', 'bad user!');
      expect(res.status).to.equal(422);
    });
  });

  describe('logs', () => {
    it('are JSON lines carrying request_id, and never contain an API key or the admin key', async () => {
      const issued = await t.request.post('/api/v1/admin/tenants/ops_corp/api-keys').set('X-Admin-Key', t.adminKey);
      const secondKey = issued.body.api_key as string;
      await t.request.get('/api/v1/tenants/ops_corp').set('X-API-Key', secondKey).set('X-User-ID', 'alice');
      await t.request.get('/api/v1/tenants/ops_corp/quota').set('X-API-Key', key);
      await t.request.post('/api/v1/tenants/ops_corp/api-keys/rotate').set('X-API-Key', secondKey).send({});
      expect(captured.lines.length).to.be.greaterThan(5);
      const parsed = captured.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(parsed.some((l) => typeof l.request_id === 'string' && l.tenant_id === 'ops_corp')).to.equal(true);
      const all = captured.lines.join('\n');
      for (const secret of [key, secondKey, t.adminKey]) expect(all).not.to.include(secret);
      expect(all).not.to.match(/_api_[A-Za-z0-9]{16}/);
    });
  });
});
