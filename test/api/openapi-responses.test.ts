import { expect } from 'chai';
import Joi from 'joi';
import type { Response } from 'supertest';
import { routeTable } from '../../src/api/app';
import type { DocumentedRoute, RouteSpec } from '../../src/api/route-table';
import { operationalDocs } from '../../src/api/routes/health';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const ERROR_BODY = Joi.object({
  detail: Joi.string().required(),
  code: Joi.string().pattern(/^[A-Z_]+$/).required(),
  request_id: Joi.string().required(),
  errors: Joi.array().items(Joi.object({ field: Joi.string().required(), message: Joi.string().required() })),
  // RUN_ALREADY_FINISHED names the run's final status, ONBOARDING_FAILED the step.
  status: Joi.string().valid('COMPLETED', 'FAILED', 'CANCELLED'),
  step: Joi.string(),
});

const isSuccess = (status: string | number): boolean => Number(status) >= 200 && Number(status) < 300;

type ErrorSchema = { allOf?: Array<{ $ref?: string; properties?: { code?: { enum?: string[] } } }> };
type OpenApiOp = { parameters: Array<{ name: string; in: string }>; responses: Record<string, { content?: Record<string, { schema?: object & ErrorSchema }> }>; requestBody?: { content: Record<string, { example?: unknown }> } };

/** The codes an error answer of the document lists (its `code` enum). */
const codesOf = (response: OpenApiOp['responses'][string] | undefined): string[] => response?.content?.['application/json']?.schema?.allOf?.[1]?.properties?.code?.enum ?? [];

describe('/openapi.json and the answers it documents', () => {
  let t: TestSystem;
  let routes: DocumentedRoute[];
  let doc: { paths: Record<string, Record<string, OpenApiOp>> };
  const checked = new Set<string>();

  /** The route whose path template matches `url`, for `method`. */
  const routeOf = (method: string, url: string): DocumentedRoute => {
    const pathOnly = url.split('?')[0] ?? url;
    const found = routes.find((r) => r.method === method && new RegExp(`^${r.path.replace(/:[a-z_]+/g, '[^/]+')}$`).test(pathOnly));
    if (!found) throw new Error(`no route for ${method} ${pathOnly}`);
    return found;
  };

  /** Checks a real answer against the schema its route documents for that status. */
  const conforms = (method: string, url: string, res: Response): void => {
    const r = routeOf(method, url);
    const answer = r.responses[res.status];
    if (res.status >= 400) {
      const op = doc.paths[r.path.replace(/:([a-z_]+)/g, '{$1}')]?.[r.method];
      expect(op?.responses[String(res.status)], `${method} ${url} answered ${res.status}, which /openapi.json does not document`).to.not.equal(undefined);
      expect(codesOf(op?.responses[String(res.status)]), `${method} ${url} ${res.status}: the codes /openapi.json lists`).to.include(res.body.code);
      expect(ERROR_BODY.validate(res.body).error?.message, `${method} ${url} ${res.status}`).to.equal(undefined);
      return;
    }
    if (answer === undefined) throw new Error(`${method} ${url} answered ${res.status}, which its route does not document`);
    if (answer.body) {
      const body = answer.contentType === 'text/plain' ? res.text : res.body;
      expect(answer.body.validate(body).error?.message, `${method} ${url} ${res.status}`).to.equal(undefined);
    }
    checked.add(`${r.method} ${r.path}`);
  };

  const call = async (method: 'get' | 'post' | 'put' | 'patch' | 'delete', url: string, headers: Record<string, string>, body?: object): Promise<Response> => {
    let req = t.request[method](url);
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    const res = body === undefined ? await req : await req.send(body);
    conforms(method, url, res);
    return res;
  };

  before(async () => {
    t = await startTestSystem();
    routes = [...operationalDocs(t.system.apiDeps()), ...routeTable(t.system.apiDeps())];
    doc = (await t.request.get('/openapi.json')).body as typeof doc;
  });
  after(async () => t.close());

  describe('the document', () => {
    it('gives every route a body schema for each 2xx answer it documents (204 excepted)', () => {
      for (const r of routes) {
        const successes = Object.entries(r.responses).filter(([status]) => isSuccess(status));
        expect(successes, `${r.method} ${r.path}`).to.not.be.empty;
        for (const [status, answer] of successes) {
          if (status === '204') continue;
          expect(answer.body, `${r.method} ${r.path} ${status}`).to.not.equal(undefined);
          const op = doc.paths[r.path.replace(/:([a-z_]+)/g, '{$1}')]?.[r.method];
          expect(Object.values(op?.responses[status]?.content ?? {})[0]?.schema, `${r.method} ${r.path} ${status} in /openapi.json`).to.be.an('object');
        }
      }
    });

    it('documents the 401/403/422/429/503 answers each kind of route can give, with the error body and their codes', () => {
      const run = doc.paths['/api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/{template_name}']?.post;
      expect(Object.keys(run?.responses ?? {})).to.include.members(['200', '202', '400', '401', '403', '404', '409', '413', '422', '429', '500', '503']);
      expect(run?.responses['429']?.content?.['application/json']?.schema?.allOf?.[0]).to.deep.equal({ $ref: '#/components/schemas/Error' });
      expect(codesOf(run?.responses['429'])).to.include.members(['RATE_LIMITED', 'AUTH_RATE_LIMITED', 'DAILY_QUOTA_EXCEEDED', 'MONTHLY_QUOTA_EXCEEDED', 'CONCURRENT_LIMIT_REACHED']);
      const adminQuery = doc.paths['/api/v1/admin/warehouse/query']?.post;
      expect(Object.keys(adminQuery?.responses ?? {})).to.include.members(['200', '400', '401', '403', '413', '422', '429', '500', '503']);
      // A tenant route without a tenant in its path, where the caller does not act: no 403 to answer.
      const templates = doc.paths['/api/v1/pipelines/templates']?.get;
      expect(Object.keys(templates?.responses ?? {})).to.have.members(['200', '401', '422', '429', '500', '503']);
    });

    it('documents the Idempotency-Key header and example bodies for the run and validate routes', () => {
      const run = doc.paths['/api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/{template_name}']?.post;
      expect(run?.parameters.find((p) => p.name === 'Idempotency-Key')).to.include({ in: 'header' });
      for (const op of [run, doc.paths['/api/v1/pipelines/validate/{tenant_id}/{provider}/{domain}/{template_name}']?.post]) {
        expect(op?.requestBody?.content['application/json']?.example).to.deep.equal({});
      }
    });

    it('lists the health and metrics routes', () => {
      for (const path of ['/health', '/health/live', '/health/ready', '/metrics']) expect(doc.paths[path], path).to.have.property('get');
    });
  });

  describe('real answers', () => {
    it('match the documented schemas on every route', async function () {
      this.timeout(60_000);
      const admin = { 'X-Admin-Key': t.adminKey };
      await call('get', '/health', {});
      await call('get', '/health/live', {});
      await call('get', '/health/ready', {});
      await call('get', '/metrics', admin);
      await call('post', '/api/v1/admin/bootstrap', admin);
      await call('post', '/api/v1/tenants/dryrun', admin, { tenant_id: 'doc_corp', company_name: 'Doc Inc', admin_email: 'admin@doc.com', subscription_plan: 'SCALE' });
      const key = await onboard(t, 'doc_corp', 'SCALE');
      await call('post', '/api/v1/tenants/onboard', admin, { tenant_id: 'doc_corp', company_name: 'Doc Inc', admin_email: 'admin@doc.com', subscription_plan: 'SCALE' }); // 409
      const tenant = { 'X-API-Key': key, 'X-User-ID': 'ana' };
      await call('get', '/api/v1/tenants/doc_corp', tenant);
      await call('get', '/api/v1/tenants/doc_corp/quota', tenant);
      await call('put', '/api/v1/tenants/doc_corp/providers/gcp', tenant, { settings: { project_id: 'doc-project' } });
      await call('get', '/api/v1/tenants/doc_corp/providers/gcp', tenant);
      await call('delete', '/api/v1/tenants/doc_corp/providers/gcp', tenant);
      await call('get', '/api/v1/pipelines/templates', tenant);
      await call('post', '/api/v1/pipelines/validate/doc_corp/gcp/cost/billing_cost', tenant, { date: '2025-11-14' });
      // The body Swagger UI pre-fills is accepted as it is.
      const example = doc.paths['/api/v1/pipelines/validate/{tenant_id}/{provider}/{domain}/{template_name}']?.post?.requestBody?.content['application/json']?.example as object;
      expect((await call('post', '/api/v1/pipelines/validate/doc_corp/gcp/cost/dryrun', tenant, example)).status).to.equal(200);
      const run = await call('post', '/api/v1/pipelines/run/doc_corp/gcp/cost/dryrun', { ...tenant, 'Idempotency-Key': 'doc-1' });
      const id = run.body.pipeline_logging_id as string;
      await waitForRun(t, key, id);
      await call('get', `/api/v1/pipelines/runs/${id}`, tenant);
      await call('get', '/api/v1/pipelines/runs?limit=5', tenant);
      await call('delete', `/api/v1/pipelines/runs/${id}`, tenant); // 409: finished
      await call('get', '/api/v1/pipelines/runs/00000000-0000-4000-8000-000000000000', tenant); // 404
      await call('post', '/api/v1/pipelines/run/doc_corp/gcp/cost/nope', tenant, {}); // 404
      await call('post', '/api/v1/pipelines/run/doc_corp/gcp/cost/dryrun', { ...tenant, 'Idempotency-Key': 'bad key!' }, {}); // 422

      const base = '/api/v1/scheduler/customer/doc_corp/pipelines';
      const created = await call('post', base, tenant, { provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '0 2 * * *' });
      const configId = created.body.config_id as string;
      await call('get', base, tenant);
      await call('get', `${base}/${configId}`, tenant);
      await call('patch', `${base}/${configId}`, tenant, { is_active: false });
      await call('delete', `${base}/${configId}`, tenant);
      for (const path of ['trigger', 'process-queue', 'reset-daily-quotas', 'cleanup-orphaned-pipelines']) await call('post', `/api/v1/scheduler/${path}`, admin);
      await call('get', '/api/v1/scheduler/status', admin);

      // Backfills and fan-outs (issue 15): billing_cost declares `date`; its runs may fail (no export table), which does not matter here.
      const backfill = await call('post', '/api/v1/pipelines/backfill/doc_corp/gcp/cost/billing_cost', tenant, { start_date: '2025-11-01', end_date: '2025-11-02' });
      await call('post', '/api/v1/pipelines/backfill/doc_corp/gcp/cost/billing_cost', tenant, { start_date: '2025-11-01', end_date: '2025-11-02' }); // 200: the active one
      await call('post', '/api/v1/pipelines/backfill/doc_corp/gcp/cost/dryrun', tenant, { start_date: '2025-11-01', end_date: '2025-11-02' }); // 422: no date
      await call('get', `/api/v1/pipelines/backfills/${backfill.body.backfill_id as string}`, tenant);
      await call('delete', `/api/v1/pipelines/backfills/${backfill.body.backfill_id as string}`, tenant);
      await call('get', '/api/v1/pipelines/backfills/00000000-0000-4000-8000-000000000000', tenant); // 404
      const fanout = await call('post', '/api/v1/admin/fanout/gcp/cost/dryrun', admin, { selector: { tenant_ids: ['doc_corp'] }, spread_seconds: 0 });
      await call('post', '/api/v1/admin/fanout/gcp/cost/dryrun', admin, { selector: { tenant_ids: ['doc_corp'] }, spread_seconds: 0 }); // 200: same window
      await call('get', `/api/v1/admin/fanouts/${fanout.body.fanout_id as string}`, admin);
      await call('get', '/api/v1/admin/fanouts/00000000-0000-4000-8000-000000000000', admin); // 404
      await call('delete', `/api/v1/admin/fanouts/${fanout.body.fanout_id as string}`, admin);
      await call('delete', '/api/v1/admin/fanouts/00000000-0000-4000-8000-000000000000', admin); // 404

      await call('get', '/api/v1/admin/tenants/doc_corp', admin);
      await call('patch', '/api/v1/admin/tenants/doc_corp', admin, { subscription_plan: 'PROFESSIONAL' });
      const issued = await call('post', '/api/v1/admin/tenants/doc_corp/api-keys', admin);
      await call('delete', `/api/v1/admin/api-keys/${issued.body.key_id as string}`, admin);
      await call('post', '/api/v1/tenants/doc_corp/api-keys/rotate', tenant, { grace_seconds: 60 });
      await call('post', '/api/v1/tenants/doc_corp/api-keys/rotate', tenant, { grace_seconds: 60 }); // 409: the key is in its grace
      await call('post', '/api/v1/admin/warehouse/query', admin, { sql: 'SELECT 1 AS one' });
      await call('post', '/api/v1/admin/tenants/doc_corp/sample-data', admin, { days: 1, rows_per_day: 5 });
      await t.system.auditLog.flush(); // issue 13.3: the audit log as the admin and the tenant read it
      await call('get', '/api/v1/admin/audit?limit=2', admin);
      await call('get', '/api/v1/tenants/doc_corp/audit?action=api_key.rotate', tenant);
      await call('get', '/api/v1/tenants/doc_corp', {}); // 401
      const second = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send({ tenant_id: 'doc_two', company_name: 'Two Inc', admin_email: 'admin@two.com', subscription_plan: 'STARTER' });
      expect(second.status).to.equal(201);
      conforms('post', '/api/v1/tenants/onboard', second);
      await call('post', '/api/v1/admin/tenants/doc_two/offboard', admin, { dry_run: true });
      await call('post', '/api/v1/admin/tenants/doc_two/offboard', admin, {});
      await call('post', '/api/v1/admin/tenants/doc_two/offboard', admin, {}); // the stored result again
      await call('post', '/api/v1/admin/tenants/doc_nobody/offboard', admin, {}); // 404
      // A waiting run is cancelled at once (200): a system without a worker, so none takes it first.
      await t.close();
      t = await startTestSystem({ role: 'api' });
      const waitingKey = await onboard(t, 'doc_wait', 'SCALE');
      const waiting = await t.request.post('/api/v1/pipelines/run/doc_wait/gcp/cost/dryrun').set('X-API-Key', waitingKey);
      await call('delete', `/api/v1/pipelines/runs/${waiting.body.pipeline_logging_id as string}`, { 'X-API-Key': waitingKey });

      // Webhooks (issue 13.1), in this worker-less system so no delivery leaves the machine.
      const hooks = '/api/v1/tenants/doc_wait/webhooks';
      const waitKey = { 'X-API-Key': waitingKey };
      const hook = await call('post', hooks, waitKey, { url: 'https://93.184.216.34/hook', events: ['schedule.misfired'] });
      const hookId = hook.body.webhook_id as string;
      await call('post', hooks, waitKey, { url: 'https://127.0.0.1/hook', events: ['run.failed'] }); // 422
      await call('get', hooks, waitKey);
      await call('get', `${hooks}/${hookId}`, waitKey);
      await call('get', `${hooks}/wh_missing`, waitKey); // 404
      await call('patch', `${hooks}/${hookId}`, waitKey, { events: ['schedule.misfired', 'run.failed'] });
      await call('post', `${hooks}/${hookId}/rotate-secret`, waitKey, { grace_seconds: 60 });
      expect(await t.system.webhooks.emitter.emit('doc_wait', 'schedule.misfired', { config_id: 'doc' })).to.equal(1);
      const [job] = await t.system.webhooks.queue().getJobs(['waiting']);
      await call('get', `${hooks}/${hookId}/deliveries?limit=5`, waitKey);
      const redeliver = `${hooks}/${hookId}/deliveries/${job?.data.deliveryId ?? ''}/redeliver`;
      await call('post', redeliver, waitKey); // 409: the delivery is still queued
      await job?.remove(); // as if it were over
      await call('post', redeliver, waitKey);
      await call('delete', `${hooks}/${hookId}`, waitKey);

      const missed = routes.map((r) => `${r.method} ${r.path}`).filter((r) => !checked.has(r));
      expect(missed, 'routes no call checked').to.deep.equal([]);
    });
  });
});
