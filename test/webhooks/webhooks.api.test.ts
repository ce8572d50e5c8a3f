import { expect } from 'chai';
import type { ResolvedAddress } from '../../src/webhooks/ssrf';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const PUBLIC = '93.184.216.34';

describe('webhook endpoints over HTTP (WEBHOOK_ALLOW_PRIVATE=false, injected DNS)', () => {
  let t: TestSystem;
  let key: string;
  let otherKey: string;
  /** What each host name resolves to; tests change it to play DNS rebinding. */
  const dns = new Map<string, string[]>();
  const resolveAll = async (host: string): Promise<ResolvedAddress[]> => {
    const answers = dns.get(host);
    if (!answers) throw Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const base = '/api/v1/tenants/strict_corp/webhooks';

  before(async () => {
    t = await startTestSystem({ env: { WEBHOOK_MAX_ATTEMPTS: '1' }, webhookResolveAll: resolveAll });
    key = await onboard(t, 'strict_corp', 'STARTER');
    otherKey = await onboard(t, 'other_corp', 'STARTER');
  });
  after(async () => t.close());
  beforeEach(async () => {
    dns.clear();
    dns.set('hooks.example.com', [PUBLIC]);
    const list = await t.request.get(base).set('X-API-Key', key);
    for (const w of list.body.webhooks as Array<{ webhook_id: string }>) await t.request.delete(`${base}/${w.webhook_id}`).set('X-API-Key', key);
  });

  const create = (url: string, events: string[] = ['run.completed']) => t.request.post(base).set('X-API-Key', key).send({ url, events });

  describe('creating, reading, changing and deleting', () => {
    it('shows the secret once, stores it encrypted, and never returns it again', async () => {
      const created = await create('https://hooks.example.com/convergence', ['run.completed', 'quota.exhausted']);
      expect(created.status).to.equal(201);
      const { webhook_id: id, secret } = created.body as { webhook_id: string; secret: string };
      expect(created.body).to.include({ tenant_id: 'strict_corp', url: 'https://hooks.example.com/convergence', is_active: true, disabled_reason: null });
      expect(secret).to.match(/^whsec_[A-Za-z0-9_-]{32}$/);

      const one = await t.request.get(`${base}/${id}`).set('X-API-Key', key);
      expect(one.status).to.equal(200);
      expect(one.body).to.not.have.property('secret');
      expect(one.body.events).to.deep.equal(['run.completed', 'quota.exhausted']);
      const list = await t.request.get(base).set('X-API-Key', key);
      expect(JSON.stringify(list.body)).to.not.include(secret);
      expect(list.body.webhooks).to.have.length(1);

      const { rows } = await t.warehouse.query('SELECT encrypted_secret FROM `tenants.tenant_webhooks` WHERE webhook_id = @id', { params: { id } });
      const stored = Buffer.from(rows[0]?.encrypted_secret as Uint8Array);
      expect(stored.length).to.be.greaterThan(0);
      expect(stored.toString('utf8')).to.not.include(secret);
      const hot = await t.system.clients.redis.hgetall(t.system.keys.webhooks('strict_corp'));
      expect(JSON.stringify(hot)).to.not.include(secret);

      const patched = await t.request.patch(`${base}/${id}`).set('X-API-Key', key).send({ events: ['run.failed'], is_active: false });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.include({ is_active: false });
      expect(patched.body.events).to.deep.equal(['run.failed']);
      expect((await t.request.delete(`${base}/${id}`).set('X-API-Key', key)).status).to.equal(204);
      const gone = await t.request.get(`${base}/${id}`).set('X-API-Key', key);
      expect([gone.status, gone.body.code]).to.deep.equal([404, 'WEBHOOK_NOT_FOUND']);
    });

    it('survives the loss of the Redis copy: endpoints reload from the warehouse', async () => {
      const created = await create('https://hooks.example.com/a');
      await t.system.clients.redis.del(t.system.keys.webhooks('strict_corp'));
      const one = await t.request.get(`${base}/${created.body.webhook_id as string}`).set('X-API-Key', key);
      expect(one.status).to.equal(200);
      expect(one.body.url).to.equal('https://hooks.example.com/a');
    });

    it('answers 422 VALIDATION_ERROR for an unknown event or an empty body', async () => {
      const bad = await create('https://hooks.example.com/x', ['run.exploded']);
      expect([bad.status, bad.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
      const empty = await t.request.post(base).set('X-API-Key', key).send({});
      expect([empty.status, empty.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
    });
  });

  describe('the plan limit (STARTER: 2 endpoints)', () => {
    it('answers 403 WEBHOOK_LIMIT_REACHED for the third, even when three are created at once', async () => {
      const all = await Promise.all([1, 2, 3].map((n) => create(`https://hooks.example.com/${n}`)));
      expect(all.map((r) => r.status).sort()).to.deep.equal([201, 201, 403]);
      expect(all.find((r) => r.status === 403)?.body.code).to.equal('WEBHOOK_LIMIT_REACHED');
      const list = await t.request.get(base).set('X-API-Key', key);
      expect(list.body.webhooks).to.have.length(2);
    });
  });

  describe('another tenant', () => {
    it('gets 403 on this tenant’s paths and 404 for this tenant’s webhook id under its own path', async () => {
      const created = await create('https://hooks.example.com/mine');
      const id = created.body.webhook_id as string;
      const theirs = await t.request.get(`${base}/${id}`).set('X-API-Key', otherKey);
      expect([theirs.status, theirs.body.code]).to.deep.equal([403, 'TENANT_MISMATCH']);
      const own = await t.request.get(`/api/v1/tenants/other_corp/webhooks/${id}`).set('X-API-Key', otherKey);
      expect([own.status, own.body.code]).to.deep.equal([404, 'WEBHOOK_NOT_FOUND']);
      const del = await t.request.delete(`/api/v1/tenants/other_corp/webhooks/${id}`).set('X-API-Key', otherKey);
      expect(del.status).to.equal(404);
      expect((await t.request.get(`${base}/${id}`).set('X-API-Key', key)).status).to.equal(200);
    });
  });

  describe('the SSRF guard', () => {
    const refused: Array<[string, string, string[] | null]> = [
      ['http', 'http://hooks.example.com/x', null],
      ['loopback', 'https://127.0.0.1/x', null],
      ['IPv6 loopback', 'https://[::1]/x', null],
      ['link-local', 'https://169.254.1.1/x', null],
      ['the metadata address', 'https://169.254.169.254/computeMetadata/v1/', null],
      ['the metadata host', 'https://metadata.google.internal/computeMetadata/v1/', null],
      ['a private range', 'https://192.168.10.10/x', null],
      ['CGNAT', 'https://100.64.0.9/x', null],
      ['a name resolving to loopback', 'https://evil.example.com/x', ['127.0.0.1']],
      ['a name resolving to 10.0.0.5', 'https://evil.example.com/x', ['10.0.0.5']],
      ['a name resolving to the metadata address', 'https://evil.example.com/x', ['169.254.169.254']],
      ['a name that does not resolve', 'https://missing.example.com/x', null],
    ];
    for (const [what, url, answers] of refused) {
      it(`answers 422 WEBHOOK_URL_NOT_ALLOWED for ${what}`, async () => {
        if (answers) dns.set('evil.example.com', answers);
        const res = await create(url);
        expect([res.status, res.body.code]).to.deep.equal([422, 'WEBHOOK_URL_NOT_ALLOWED']);
      });
    }

    it('refuses a PATCH to a private URL and keeps the old one', async () => {
      const created = await create('https://hooks.example.com/ok');
      const res = await t.request.patch(`${base}/${created.body.webhook_id as string}`).set('X-API-Key', key).send({ url: 'https://10.0.0.1/x' });
      expect([res.status, res.body.code]).to.deep.equal([422, 'WEBHOOK_URL_NOT_ALLOWED']);
      expect((await t.request.get(`${base}/${created.body.webhook_id as string}`).set('X-API-Key', key)).body.url).to.equal('https://hooks.example.com/ok');
    });

    const firstAttemptAfter = async (change: () => void): Promise<Record<string, unknown>> => {
      dns.set('rebind.example.com', [PUBLIC]);
      const created = await create('https://rebind.example.com/hook', ['schedule.misfired']);
      expect(created.status).to.equal(201);
      change();
      expect(await t.system.webhooks.emitter.emit('strict_corp', 'schedule.misfired', { config_id: 'c1' })).to.equal(1);
      const attempts = await eventually('the first attempt', async () => {
        const res = await t.request.get(`${base}/${created.body.webhook_id as string}/deliveries`).set('X-API-Key', key);
        return (res.body.deliveries as unknown[]).length > 0 ? res.body.deliveries as Array<Record<string, unknown>> : undefined;
      });
      return attempts[0] ?? {};
    };

    it('checks again at delivery time: a host rebound to loopback is not contacted (blocked_address)', async () => {
      const attempt = await firstAttemptAfter(() => dns.set('rebind.example.com', ['127.0.0.1']));
      expect(attempt).to.include({ attempt: 1, error: 'blocked_address', status_code: null, success: false, next_retry_at: null });
    });

    it('a host that no longer resolves at delivery time is a dns_error, not a blocked address', async () => {
      const attempt = await firstAttemptAfter(() => dns.delete('rebind.example.com'));
      expect(attempt).to.include({ attempt: 1, error: 'dns_error', status_code: null, success: false, next_retry_at: null });
    });
  });

  describe('what offboarding calls', () => {
    it('disableAllWebhooks disables every endpoint; deleteTenantWebhookState leaves no row and no webhook key', async () => {
      const created = await create('https://hooks.example.com/bye', ['schedule.misfired']);
      const id = created.body.webhook_id as string;
      expect(await t.system.webhooks.disableAllWebhooks('strict_corp')).to.deep.equal([id]);
      expect((await t.request.get(`${base}/${id}`).set('X-API-Key', key)).body).to.include({ is_active: false, disabled_reason: 'tenant offboarded' });
      await t.system.webhooks.emitter.notifyQuotaExhausted('strict_corp', 'DAILY_QUOTA_EXCEEDED');
      await t.system.clients.redis.incr(t.system.keys.webhookFailures('strict_corp', id));

      await t.system.webhooks.deleteTenantWebhookState('strict_corp');
      const { rows } = await t.warehouse.query("SELECT COUNT(*) AS n FROM `tenants.tenant_webhooks_events` WHERE tenant_id = 'strict_corp'");
      expect(Number(rows[0]?.n)).to.equal(0);
      const { redis } = t.system.clients;
      const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
      const left = (await Promise.all(nodes.map((n) => n.keys(`${t.prefix}:{t:strict_corp}:wh:*`)))).flat();
      expect(left).to.deep.equal([]);
    });
  });
});
