import { expect } from 'chai';
import Koa from 'koa';
import Router from '@koa/router';
import supertest from 'supertest';
import type { AuditEntry, AuditRecorder } from '../../src/audit/actions';
import { auditCall } from '../../src/api/audit-route';
import type { RouteAudit } from '../../src/api/audit-route';
import { AUDIT_SPECS } from '../../src/api/audit-specs';
import { jsonBody } from '../../src/api/middleware/json-body';
import { AppError } from '../../src/shared/errors';
import type { ApiState } from '../../src/api/types';

/**
 * The audit specs for the routes other features add (offboarding, webhooks), exercised through the same
 * guard-chain middleware as the real routes: the lead only adds `audit: AUDIT_SPECS.<name>` to their rows.
 */
const SECRET = 'whsec_never_in_audit_0a1b2c';
const TOKEN_URL = 'https://hooks.example.com/in?token=url-token-never-in-audit';

function appWith(spec: RouteAudit, method: 'post' | 'patch' | 'delete', path: string, answer: (ctx: Koa.ParameterizedContext<ApiState>) => void): { request: supertest.Agent; rows: AuditEntry[] } {
  const rows: AuditEntry[] = [];
  const recorder: AuditRecorder = { record: async (entry) => void rows.push(entry) };
  const app = new Koa<ApiState>();
  app.use(async (ctx, next) => {
    ctx.state.requestId = ctx.get('X-Request-ID') || 'generated';
    try {
      await next();
    } catch (err) {
      ctx.status = err instanceof AppError ? err.status : 500;
      ctx.body = { code: err instanceof AppError ? err.code : 'INTERNAL_ERROR' };
    }
  });
  app.use(jsonBody());
  const router = new Router<ApiState>();
  router[method](
    path,
    async (ctx, next) => {
      const key = ctx.get('X-API-Key');
      if (key) ctx.state.auth = { tenantId: 'acme_corp', keyId: 'key_123', userId: ctx.get('X-User-ID') || null };
      else ctx.state.adminKey = ctx.get('X-Admin-Key') === 'the-admin-key' ? 'valid' : ctx.get('X-Admin-Key') ? 'wrong' : 'missing';
      await next();
    },
    auditCall(spec, recorder),
    async (ctx) => answer(ctx),
  );
  app.use(router.routes());
  return { request: supertest.agent(app.callback()), rows };
}

describe('audit specs for the offboarding and webhook routes (issue 13.3)', () => {
  it('webhook.create names the new webhook by id and the fields set, never its URL or the secret shown once', async () => {
    const { request, rows } = appWith(AUDIT_SPECS.webhookCreate, 'post', '/api/v1/tenants/:tenant_id/webhooks', (ctx) => {
      ctx.status = 201;
      ctx.body = { webhook_id: 'wh_1', url: TOKEN_URL, secret: SECRET };
    });
    const res = await request.post('/api/v1/tenants/acme_corp/webhooks').set('X-API-Key', 'k').set('X-User-ID', 'bob').set('X-Request-ID', 'req-wh').send({ url: TOKEN_URL, events: ['run.failed'] });
    expect(res.status).to.equal(201);
    expect(rows).to.have.length(1);
    expect(rows[0]).to.deep.include({ action: 'webhook.create', actor: 'user:bob', keyId: 'key_123', userId: 'bob', requestId: 'req-wh', tenantId: 'acme_corp', target: 'webhook:wh_1', outcome: 'success', httpStatus: 201, details: { fields: ['events', 'url'] } });
    expect(JSON.stringify(rows)).not.to.include(SECRET).and.not.include('url-token');
  });

  it('webhook.update, .delete and .rotate_secret name the webhook of the path (webhook_id)', async () => {
    const cases: [RouteAudit, 'patch' | 'delete' | 'post', string, string][] = [
      [AUDIT_SPECS.webhookUpdate, 'patch', '/api/v1/tenants/:tenant_id/webhooks/:webhook_id', 'webhook.update'],
      [AUDIT_SPECS.webhookDelete, 'delete', '/api/v1/tenants/:tenant_id/webhooks/:webhook_id', 'webhook.delete'],
      [AUDIT_SPECS.webhookRotateSecret, 'post', '/api/v1/tenants/:tenant_id/webhooks/:webhook_id/rotate-secret', 'webhook.rotate_secret'],
    ];
    for (const [spec, method, path, action] of cases) {
      const { request, rows } = appWith(spec, method, path, (ctx) => {
        ctx.body = { webhook_id: 'wh_2', secret: SECRET };
      });
      const url = path.replace(':tenant_id', 'acme_corp').replace(':webhook_id', 'wh_2');
      expect((await request[method](url).set('X-API-Key', 'k').send(method === 'patch' ? { is_active: false } : {})).status, action).to.equal(200);
      expect(rows[0], action).to.deep.include({ action, actor: 'tenant_key:key_123', tenantId: 'acme_corp', target: 'webhook:wh_2', outcome: 'success' });
      expect(JSON.stringify(rows)).not.to.include(SECRET);
    }
  });

  it('tenant.offboard records the dry run flag and a failure with its code, and passes the error on unchanged', async () => {
    const { request, rows } = appWith(AUDIT_SPECS.offboard, 'post', '/api/v1/admin/tenants/:tenant_id/offboard', (ctx) => {
      if (ctx.query['fail']) throw new AppError(404, 'TENANT_NOT_FOUND', 'Tenant not found');
      ctx.body = { tenant_id: 'acme_corp' };
    });
    expect((await request.post('/api/v1/admin/tenants/acme_corp/offboard').set('X-Admin-Key', 'the-admin-key').send({ dry_run: true })).status).to.equal(200);
    const failed = await request.post('/api/v1/admin/tenants/acme_corp/offboard?fail=1').set('X-Admin-Key', 'the-admin-key').send({});
    expect([failed.status, failed.body.code]).to.deep.equal([404, 'TENANT_NOT_FOUND']);
    expect(rows.map((r) => [r.action, r.actor, r.outcome, r.outcomeCode, r.details])).to.deep.equal([
      ['tenant.offboard', 'admin', 'success', null, { dry_run: true }],
      ['tenant.offboard', 'admin', 'failure', 'TENANT_NOT_FOUND', { dry_run: false }],
    ]);
  });

  it('names an admin call that got through without the admin key (DISABLE_AUTH=true, development) anonymous', async () => {
    const { request, rows } = appWith(AUDIT_SPECS.offboard, 'post', '/api/v1/admin/tenants/:tenant_id/offboard', (ctx) => {
      ctx.body = { tenant_id: 'acme_corp' };
    });
    await request.post('/api/v1/admin/tenants/acme_corp/offboard').send({});
    await request.post('/api/v1/admin/tenants/acme_corp/offboard').set('X-Admin-Key', 'a-guess').send({});
    expect(rows.map((r) => r.actor)).to.deep.equal(['anonymous', 'anonymous']);
  });

  it('fanout.create names the fan-out it answered and the template, never the parameters; fanout.cancel the fan-out of the path', async () => {
    const created = appWith(AUDIT_SPECS.fanoutCreate, 'post', '/api/v1/admin/fanout/:provider/:domain/:template_name', (ctx) => {
      ctx.status = 202;
      ctx.body = { fanout_id: 'fo_1', tenants_total: 3 };
    });
    const body = { selector: { all_active: true }, parameters: { date: '2026-12-02', secret_ish: 'x' }, spread_seconds: 60 };
    expect((await created.request.post('/api/v1/admin/fanout/gcp/cost/daily').set('X-Admin-Key', 'the-admin-key').send(body)).status).to.equal(202);
    expect(created.rows[0]).to.deep.include({ action: 'fanout.create', actor: 'admin', tenantId: null, target: 'fanout:fo_1', outcome: 'success', details: { template: 'gcp/cost/daily' } });
    expect(JSON.stringify(created.rows)).not.to.include('secret_ish');
    const cancelled = appWith(AUDIT_SPECS.fanoutCancel, 'delete', '/api/v1/admin/fanouts/:fanout_id', (ctx) => {
      ctx.body = { fanout_id: 'fo_1' };
    });
    expect((await cancelled.request.delete('/api/v1/admin/fanouts/fo_1').set('X-Admin-Key', 'the-admin-key')).status).to.equal(200);
    expect(cancelled.rows[0]).to.deep.include({ action: 'fanout.cancel', actor: 'admin', target: 'fanout:fo_1', outcome: 'success' });
  });
});
