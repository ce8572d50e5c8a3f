import { expect } from 'chai';
import { hashApiKey } from '../../src/security/api-keys';
import { AUDIT_LOG_REF } from '../../src/audit/audit-log';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import type { AuditRow } from '../../src/audit/audit-log';

/**
 * Issue 13.3: every audited action leaves a row with its actor, request id, outcome and source address;
 * the admin and tenant audit routes filter and page; a tenant reads only its own rows; no row holds a secret.
 */
/** A row as the audit routes answer it: the stored columns. */
type AuditRowBody = AuditRow;

const A = 'audit_alpha';
const B = 'audit_beta';
const C = 'audit_delta';
const IP = '203.0.113.77';
const CREDENTIAL_SECRET = 'PRIVATE-KEY-never-in-audit-7f3a9c';
const WRONG_PASSWORD = 'wrong-dashboard-password-5b1e';

describe('audit log routes (issue 13.3)', () => {
  let t: TestSystem;
  let keyA = '';
  let keyB = '';
  let issuedKey = '';
  let issuedKeyId = '';
  let rotatedKey = '';
  let firstKeyId = '';
  let webhookId = '';
  const secrets: string[] = [];
  let rows: AuditRowBody[] = [];

  const admin = (method: 'get' | 'post' | 'patch' | 'delete', url: string, requestId: string) =>
    t.request[method](url).set('X-Admin-Key', t.adminKey).set('X-Request-ID', requestId).set('X-Forwarded-For', IP);
  const tenant = (method: 'get' | 'post' | 'put' | 'delete', url: string, key: string, requestId: string) =>
    t.request[method](url).set('X-API-Key', key).set('X-Request-ID', requestId).set('X-Forwarded-For', IP);
  const byRequest = (requestId: string): AuditRowBody => {
    const found = rows.filter((r) => r.request_id === requestId);
    expect(found, `audit rows of ${requestId}`).to.have.length(1);
    return found[0] as AuditRowBody;
  };

  before(async () => {
    t = await startTestSystem({ role: 'api', env: { TRUST_PROXY: 'true' } });
    const onboarded = await admin('post', '/api/v1/tenants/onboard', 'req-onboard').send({ tenant_id: A, company_name: 'Alpha', admin_email: 'admin@alpha.com' });
    expect(onboarded.status).to.equal(201);
    keyA = String(onboarded.body.api_key);
    keyB = await onboard(t, B);
    expect((await admin('post', '/api/v1/tenants/onboard', 'req-onboard-again').send({ tenant_id: A, company_name: 'Alpha', admin_email: 'admin@alpha.com' })).status).to.equal(409);
    expect((await admin('post', '/api/v1/tenants/dryrun', 'req-dryrun').send({ tenant_id: 'audit_gamma', company_name: 'G', admin_email: 'a@g.com' })).status).to.equal(200);
    expect((await admin('patch', `/api/v1/admin/tenants/${A}`, 'req-plan').send({ subscription_plan: 'professional' })).status).to.equal(200);
    expect((await admin('patch', `/api/v1/admin/tenants/${A}`, 'req-status').send({ status: 'ACTIVE' })).status).to.equal(200);
    const issued = await admin('post', `/api/v1/admin/tenants/${A}/api-keys`, 'req-issue');
    expect(issued.status).to.equal(201);
    [issuedKey, issuedKeyId] = [String(issued.body.api_key), String(issued.body.key_id)];
    expect((await admin('delete', `/api/v1/admin/api-keys/${issuedKeyId}`, 'req-revoke')).status).to.equal(200);
    expect((await admin('delete', '/api/v1/admin/api-keys/no_such_key', 'req-revoke-unknown')).status).to.equal(404);
    const rotated = await tenant('post', `/api/v1/tenants/${A}/api-keys/rotate`, keyA, 'req-rotate').set('X-User-ID', 'alice@alpha.com').send({ grace_seconds: 60 });
    expect(rotated.status).to.equal(201);
    [rotatedKey, firstKeyId] = [String(rotated.body.api_key), String(rotated.body.previous_key_id)];
    const gcp = `/api/v1/tenants/${A}/providers/gcp`;
    expect((await tenant('put', gcp, rotatedKey, 'req-credentials').send({ settings: { project_id: 'alpha-project' }, credentials: { private_key: CREDENTIAL_SECRET } })).status).to.equal(200);
    expect((await tenant('put', gcp, rotatedKey, 'req-settings').send({ settings: { project_id: 'alpha-project-2' } })).status).to.equal(200);
    expect((await tenant('put', gcp, rotatedKey, 'req-settings-refused').send({ settings: { billing_export_table: 'audit_beta.secret_table' } })).status).to.equal(422);
    expect((await tenant('delete', gcp, rotatedKey, 'req-provider-delete')).status).to.equal(204);
    expect((await admin('post', '/api/v1/admin/warehouse/query', 'req-sql').send({ sql: 'SELECT 1 AS x' })).status).to.equal(200);
    expect((await admin('post', '/api/v1/admin/warehouse/query', 'req-sql-refused').send({ sql: 'DELETE FROM tenants.tenant_profiles_events' })).status).to.equal(422);
    expect((await admin('post', '/api/v1/admin/warehouse/query', 'req-sql-long').send({ sql: `SELECT 1 AS x -- ${'y'.repeat(5000)}` })).status).to.equal(200);
    expect((await t.request.get('/admin/queues').set('X-Request-ID', 'req-dashboard').set('X-Forwarded-For', IP).auth('admin', t.adminKey)).status).to.equal(200);
    expect((await t.request.get('/admin/queues/api/queues').set('X-Request-ID', 'req-dashboard-api').set('X-Forwarded-For', IP).auth('admin', t.adminKey)).status).to.equal(200);
    expect((await t.request.get('/admin/queues').set('X-Request-ID', 'req-dashboard-wrong').set('X-Forwarded-For', IP).auth('admin', WRONG_PASSWORD)).status).to.equal(401);
    const hooks = `/api/v1/tenants/${A}/webhooks`;
    const hook = await tenant('post', hooks, rotatedKey, 'req-webhook-create').send({ url: 'https://93.184.216.34/hook?token=url-token-never-in-audit', events: ['run.failed'] });
    expect(hook.status).to.equal(201);
    webhookId = String(hook.body.webhook_id);
    expect((await t.request.patch(`${hooks}/${webhookId}`).set('X-API-Key', rotatedKey).set('X-Request-ID', 'req-webhook-update').set('X-Forwarded-For', IP).send({ events: ['run.completed'] })).status).to.equal(200);
    const rotatedSecret = await tenant('post', `${hooks}/${webhookId}/rotate-secret`, rotatedKey, 'req-webhook-rotate').send({ grace_seconds: 60 });
    expect(rotatedSecret.status).to.equal(201);
    expect((await tenant('delete', `${hooks}/${webhookId}`, rotatedKey, 'req-webhook-delete')).status).to.equal(204);
    secrets.push(String(hook.body.secret), String(rotatedSecret.body.secret), 'url-token-never-in-audit');
    await onboard(t, C);
    expect((await admin('post', `/api/v1/admin/tenants/${C}/offboard`, 'req-offboard-dry').send({ dry_run: true })).status).to.equal(200);
    expect((await admin('post', `/api/v1/admin/tenants/${C}/offboard`, 'req-offboard').send({})).status).to.equal(200);
    secrets.push(t.adminKey, keyA, keyB, issuedKey, rotatedKey, CREDENTIAL_SECRET, WRONG_PASSWORD, ...[keyA, keyB, issuedKey, rotatedKey].map(hashApiKey));
    await t.system.auditLog.flush();
    const all = await admin('get', '/api/v1/admin/audit?limit=500', 'req-read');
    expect(all.status).to.equal(200);
    rows = all.body.entries as AuditRowBody[];
  });
  after(async () => t?.close());

  describe('a row for each audited action', () => {
    const cases: [string, Partial<AuditRowBody> | (() => Partial<AuditRowBody>)][] = [
      ['req-onboard', { action: 'tenant.onboard', actor: 'admin', outcome: 'success', tenant_id: A, target: `tenant:${A}`, http_status: 201 }],
      ['req-onboard-again', { action: 'tenant.onboard', actor: 'admin', outcome: 'failure', outcome_code: 'TENANT_EXISTS', tenant_id: A, http_status: 409 }],
      ['req-plan', { action: 'tenant.update', actor: 'admin', outcome: 'success', tenant_id: A, details: { subscription_plan: 'PROFESSIONAL' } }],
      ['req-status', { action: 'tenant.update', actor: 'admin', outcome: 'success', tenant_id: A, details: { status: 'ACTIVE' } }],
      ['req-issue', () => ({ action: 'api_key.issue', actor: 'admin', outcome: 'success', tenant_id: A, target: `api_key:${issuedKeyId}` })],
      ['req-revoke', () => ({ action: 'api_key.revoke', actor: 'admin', outcome: 'success', tenant_id: A, target: `api_key:${issuedKeyId}` })],
      ['req-revoke-unknown', { action: 'api_key.revoke', actor: 'admin', outcome: 'failure', outcome_code: 'API_KEY_NOT_FOUND', target: 'api_key:no_such_key', http_status: 404 }],
      ['req-rotate', () => ({ action: 'api_key.rotate', actor: 'user:alice@alpha.com', key_id: firstKeyId, user_id: 'alice@alpha.com', outcome: 'success', tenant_id: A, details: { previous_key_id: firstKeyId, grace_seconds: 60 } })],
      ['req-credentials', { action: 'provider.credentials_update', outcome: 'success', tenant_id: A, target: 'provider:gcp', details: { settings: ['project_id'], credentials: 'set' } }],
      ['req-settings', { action: 'provider.settings_update', outcome: 'success', tenant_id: A, target: 'provider:gcp', details: { settings: ['project_id'], credentials: 'unchanged' } }],
      ['req-settings-refused', { action: 'provider.settings_update', outcome: 'failure', outcome_code: 'INVALID_TABLE_REFERENCE', tenant_id: A, http_status: 422 }],
      ['req-provider-delete', { action: 'provider.delete', outcome: 'success', tenant_id: A, target: 'provider:gcp', http_status: 204 }],
      ['req-sql', { action: 'admin.warehouse_query', actor: 'admin', outcome: 'success', tenant_id: null, details: { sql: 'SELECT 1 AS x', sql_chars: 13 } }],
      ['req-sql-refused', { action: 'admin.warehouse_query', actor: 'admin', outcome: 'failure', outcome_code: 'SQL_NOT_READ_ONLY', http_status: 422 }],
      ['req-webhook-create', () => ({ action: 'webhook.create', outcome: 'success', tenant_id: A, target: `webhook:${webhookId}` })],
      ['req-webhook-update', () => ({ action: 'webhook.update', outcome: 'success', tenant_id: A, target: `webhook:${webhookId}`, details: { fields: ['events'] } })],
      ['req-webhook-rotate', () => ({ action: 'webhook.rotate_secret', outcome: 'success', tenant_id: A, target: `webhook:${webhookId}` })],
      ['req-webhook-delete', () => ({ action: 'webhook.delete', outcome: 'success', tenant_id: A, target: `webhook:${webhookId}` })],
      ['req-offboard-dry', { action: 'tenant.offboard', actor: 'admin', outcome: 'success', tenant_id: C, target: `tenant:${C}`, details: { dry_run: true } }],
      ['req-offboard', { action: 'tenant.offboard', actor: 'admin', outcome: 'success', tenant_id: C, target: `tenant:${C}`, details: { dry_run: false } }],
      ['req-dashboard', { action: 'dashboard.login', actor: 'admin', outcome: 'success', target: 'dashboard' }],
      ['req-dashboard-wrong', { action: 'dashboard.login', actor: 'anonymous', outcome: 'failure', outcome_code: 'INVALID_ADMIN_KEY', http_status: 401 }],
    ];
    for (const [requestId, expected] of cases) {
      it(`${requestId}: ${typeof expected === 'function' ? 'as expected' : `${String(expected.action)} ${String(expected.outcome)}`}, with its request id and source address`, () => {
        const row = byRequest(requestId);
        expect(row).to.deep.include(typeof expected === 'function' ? expected() : expected);
        expect(row.source_ip).to.equal(IP);
      });
    }

    it('records the rotating tenant key by id, never the key', () => {
      expect(byRequest('req-credentials').actor).to.match(/^tenant_key:[A-Za-z0-9_-]+$/);
      expect(byRequest('req-credentials').key_id).to.equal(byRequest('req-credentials').actor.slice('tenant_key:'.length));
    });

    it('keeps the admin SQL up to 2,048 characters and says it was truncated', () => {
      const details = byRequest('req-sql-long').details ?? {};
      expect(String(details['sql'])).to.have.length(2048);
      expect(details).to.deep.include({ sql_chars: 5017, truncated: true });
    });

    it('records neither the dry run (it changes nothing) nor the dashboard’s own API calls (not a login)', () => {
      expect(rows.filter((r) => r.request_id === 'req-dryrun' || r.request_id === 'req-dashboard-api')).to.deep.equal([]);
    });
  });

  it('holds no secret in any column of any row (keys, their hashes, credentials, passwords)', async () => {
    const stored = await t.warehouse.query(`SELECT * FROM \`${AUDIT_LOG_REF.dataset}.${AUDIT_LOG_REF.table}\``);
    expect(stored.rows.length).to.be.at.least(rows.length);
    const text = JSON.stringify(stored.rows);
    for (const secret of secrets) expect(text.includes(secret), `a secret of length ${secret.length} is in the audit log`).to.equal(false);
    const outbox = await t.system.clients.redis.lrange(t.system.keys.auditOutbox(), 0, -1);
    for (const secret of secrets) expect(outbox.join('\n').includes(secret)).to.equal(false);
  });

  it('exposes the rows waiting for the warehouse as the audit_rows_pending gauge', async () => {
    const res = await t.request.get('/metrics').set('X-Admin-Key', t.adminKey);
    expect(res.status).to.equal(200);
    expect(res.text).to.match(/^audit_rows_pending \d+$/m);
  });

  describe('GET /api/v1/admin/audit', () => {
    it('filters by tenant, action, actor, outcome and time', async () => {
      const get = async (query: string): Promise<AuditRowBody[]> => {
        const res = await admin('get', `/api/v1/admin/audit?${query}`, 'req-filter');
        expect(res.status, query).to.equal(200);
        return res.body.entries as AuditRowBody[];
      };
      expect((await get(`tenant_id=${B}`)).map((r) => r.action)).to.deep.equal(['tenant.onboard']);
      expect((await get('action=api_key.revoke')).map((r) => r.request_id).sort()).to.deep.equal(['req-revoke', 'req-revoke-unknown']);
      expect((await get('actor=anonymous')).map((r) => r.request_id)).to.deep.equal(['req-dashboard-wrong']);
      expect((await get(`outcome=failure&tenant_id=${A}`)).map((r) => r.request_id).sort()).to.deep.equal(['req-onboard-again', 'req-settings-refused']);
      const onboardedAt = byRequest('req-onboard').event_time;
      const revokedAt = byRequest('req-revoke').event_time;
      const window = await get(`from=${onboardedAt}&to=${revokedAt}&tenant_id=${A}`);
      expect(window.every((r) => r.event_time >= onboardedAt && r.event_time < revokedAt)).to.equal(true);
      expect(window.map((r) => r.request_id)).to.include('req-onboard').and.not.include('req-revoke');
    });

    it('pages with an opaque cursor, newest first, without gaps or repeats', async () => {
      const seen: AuditRowBody[] = [];
      let cursor: string | null = null;
      do {
        const res = await admin('get', `/api/v1/admin/audit?limit=3${cursor ? `&cursor=${cursor}` : ''}`, 'req-page');
        expect(res.status).to.equal(200);
        expect(res.body.entries.length).to.be.at.most(3);
        seen.push(...(res.body.entries as AuditRowBody[]));
        cursor = res.body.next_cursor as string | null;
      } while (cursor);
      expect(seen.map((r) => r.audit_id)).to.deep.equal(rows.map((r) => r.audit_id));
      const times = seen.map((r) => r.event_time);
      expect([...times].sort().reverse()).to.deep.equal(times);
    });

    it('refuses a limit above 500, an unknown action and a cursor it did not issue (422)', async () => {
      for (const query of ['limit=501', 'action=tenant.delete_everything', 'cursor=bm90LWEtY3Vyc29y']) {
        const res = await admin('get', `/api/v1/admin/audit?${query}`, 'req-bad');
        expect([res.status, res.body.code], query).to.deep.equal([422, 'VALIDATION_ERROR']);
      }
    });

    it('needs the admin key', async () => {
      expect((await t.request.get('/api/v1/admin/audit').set('X-API-Key', rotatedKey)).status).to.equal(401);
    });
  });

  describe('GET /api/v1/tenants/{tenant_id}/audit', () => {
    it('answers only the tenant’s own rows, with the same filters, and hides the admin’s address', async () => {
      const res = await tenant('get', `/api/v1/tenants/${A}/audit?limit=500`, rotatedKey, 'req-tenant-read');
      expect(res.status).to.equal(200);
      const own = res.body.entries as AuditRowBody[];
      expect(own.map((r) => r.audit_id)).to.deep.equal(rows.filter((r) => r.tenant_id === A).map((r) => r.audit_id));
      expect(own.filter((r) => r.actor === 'admin').every((r) => r.source_ip === null)).to.equal(true);
      const rotations = await tenant('get', `/api/v1/tenants/${A}/audit?action=api_key.rotate&actor=user:alice@alpha.com`, rotatedKey, 'req-tenant-filter');
      expect((rotations.body.entries as AuditRowBody[]).map((r) => r.request_id)).to.deep.equal(['req-rotate']);
      const beta = await tenant('get', `/api/v1/tenants/${B}/audit`, keyB, 'req-beta-read');
      expect((beta.body.entries as AuditRowBody[]).map((r) => [r.tenant_id, r.action])).to.deep.equal([[B, 'tenant.onboard']]);
    });

    it('refuses another tenant’s rows (403 TENANT_MISMATCH) and a tenant_id filter (422)', async () => {
      const other = await tenant('get', `/api/v1/tenants/${A}/audit`, keyB, 'req-cross');
      expect([other.status, other.body.code]).to.deep.equal([403, 'TENANT_MISMATCH']);
      const filter = await tenant('get', `/api/v1/tenants/${B}/audit?tenant_id=${A}`, keyB, 'req-cross-filter');
      expect([filter.status, filter.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
    });

    it('pages with the cursor within the tenant’s rows', async () => {
      const first = await tenant('get', `/api/v1/tenants/${A}/audit?limit=2`, rotatedKey, 'req-tenant-page');
      const second = await tenant('get', `/api/v1/tenants/${A}/audit?limit=2&cursor=${String(first.body.next_cursor)}`, rotatedKey, 'req-tenant-page-2');
      const ids = [...first.body.entries, ...second.body.entries].map((r: AuditRowBody) => r.audit_id);
      expect(ids).to.deep.equal(rows.filter((r) => r.tenant_id === A).slice(0, 4).map((r) => r.audit_id));
    });
  });
});
