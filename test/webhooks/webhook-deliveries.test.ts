import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { verifySignature } from '../../src/webhooks/signature';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { WebhookReceiver } from '../helpers/webhook-receiver';

const QUICK = 'description: A run that ends at once\nversion: 1.0.0\ntimeout_minutes: 1\nsteps:\n  - id: one\n    type: query\n    sql: SELECT 1 AS x\n';
const BROKEN = 'description: A run that fails\nversion: 1.0.0\ntimeout_minutes: 1\nsteps:\n  - id: one\n    type: query\n    sql: SELECT * FROM {tenant_id}.no_such_table\n';

/** configs/ plus two test templates, pointed at by CONFIGS_DIR. */
export function configsWithTestTemplates(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-configs-'));
  fs.cpSync(path.resolve(__dirname, '../../configs'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'gcp/test'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'gcp/test/quick.yml'), QUICK);
  fs.writeFileSync(path.join(dir, 'gcp/test/broken.yml'), BROKEN);
  return dir;
}

interface Attempt { delivery_id: string; attempt: number; status_code: number | null; error: string | null; success: boolean; next_retry_at: string | null }

describe('webhook deliveries to a local receiver (WEBHOOK_ALLOW_PRIVATE=true)', () => {
  let t: TestSystem;
  let receiver: WebhookReceiver;
  let configsDir: string;
  let key: string;
  const tenant = 'hook_corp';
  const base = `/api/v1/tenants/${tenant}/webhooks`;

  before(async () => {
    configsDir = configsWithTestTemplates();
    receiver = await new WebhookReceiver().start();
    t = await startTestSystem({
      env: {
        CONFIGS_DIR: configsDir,
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT_MS: '300',
        WEBHOOK_RETRY_BASE_MS: '20',
        WEBHOOK_RETRY_MAX_MS: '100',
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_DISABLE_AFTER: '2',
      },
    });
    key = await onboard(t, tenant, 'SCALE');
  });
  after(async () => {
    await t.close();
    await receiver.close();
    fs.rmSync(configsDir, { recursive: true, force: true });
  });

  const create = async (urlPath: string, events: string[]): Promise<{ webhook_id: string; secret: string }> => {
    const res = await t.request.post(base).set('X-API-Key', key).send({ url: receiver.url(urlPath), events });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { webhook_id: string; secret: string };
  };
  const runOnce = async (template = 'quick'): Promise<string> => {
    const res = await t.request.post(`/api/v1/pipelines/run/${tenant}/gcp/test/${template}`).set('X-API-Key', key);
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const id = res.body.pipeline_logging_id as string;
    await waitForRun(t, key, id);
    return id;
  };
  const attempts = async (webhookId: string): Promise<Attempt[]> => {
    const res = await t.request.get(`${base}/${webhookId}/deliveries?limit=100`).set('X-API-Key', key);
    expect(res.status).to.equal(200);
    return res.body.deliveries as Attempt[];
  };
  const remove = async (webhookId: string): Promise<void> => {
    expect((await t.request.delete(`${base}/${webhookId}`).set('X-API-Key', key)).status).to.equal(204);
  };

  it('delivers run.completed signed with the secret of the creation answer, with the run in data', async () => {
    const hook = await create('/ok', ['run.completed', 'run.failed']);
    expect(hook.secret).to.match(/^whsec_/);
    const runId = await runOnce();
    const [req] = await eventually('the delivery', async () => (receiver.at('/ok').length > 0 ? receiver.at('/ok') : undefined));
    if (!req) throw new Error('no request');
    const now = Math.floor(Date.now() / 1000);
    expect(verifySignature(String(req.headers['convergence-signature']), req.body, hook.secret, now)).to.equal(true);
    expect(verifySignature(String(req.headers['convergence-signature']), req.body, 'whsec_wrong', now)).to.equal(false);
    expect(req.headers['content-type']).to.equal('application/json');
    expect(req.headers['user-agent']).to.match(/^Convergence-Webhooks\//);
    expect(req.headers['convergence-event']).to.equal('run.completed');
    expect(req.headers['convergence-delivery-id']).to.match(/^whd_/);
    const body = JSON.parse(req.body) as { id: string; type: string; created: number; data: Record<string, unknown> };
    expect(body.type).to.equal('run.completed');
    expect(body.id).to.match(/^evt_/);
    expect(body.data).to.include({ pipeline_logging_id: runId, status: 'COMPLETED', tenant_id: tenant, pipeline_id: `${tenant}-gcp-test-quick`, error_message: null });
    expect(body.data.end_time).to.be.a('string');
    const log = await eventually('the attempt log', async () => ((await attempts(hook.webhook_id)).length > 0 ? attempts(hook.webhook_id) : undefined));
    expect(log[0]).to.include({ attempt: 1, status_code: 200, error: null, success: true, next_retry_at: null });
    await remove(hook.webhook_id);
  });

  it('retries after 500s with the same delivery id and body until a 2xx', async () => {
    receiver.script('/flaky', { status: 500 }, { status: 500 }, { status: 204 });
    const hook = await create('/flaky', ['run.failed']);
    const runId = await runOnce('broken');
    const reqs = await eventually('three attempts', async () => (receiver.at('/flaky').length >= 3 ? receiver.at('/flaky') : undefined));
    expect(new Set(reqs.map((r) => r.headers['convergence-delivery-id'])).size).to.equal(1);
    expect(new Set(reqs.map((r) => r.body)).size).to.equal(1);
    const body = JSON.parse(reqs[0]?.body ?? '{}') as { type: string; data: { pipeline_logging_id: string; status: string; error_message: string } };
    expect(body.type).to.equal('run.failed');
    expect(body.data).to.include({ pipeline_logging_id: runId, status: 'FAILED' });
    expect(body.data.error_message).to.be.a('string').and.not.equal('');
    const log = await eventually('three logged attempts', async () => {
      const a = await attempts(hook.webhook_id);
      return a.length >= 3 ? a : undefined;
    });
    // Newest first.
    expect(log.map((a) => [a.attempt, a.status_code, a.success])).to.deep.equal([[3, 204, true], [2, 500, false], [1, 500, false]]);
    expect(log[1]?.error).to.equal('http_500');
    expect(log[1]?.next_retry_at).to.be.a('string');
    await remove(hook.webhook_id);
  });

  it('retries after a time-out (WEBHOOK_TIMEOUT_MS) with the same delivery id', async () => {
    receiver.script('/slow', 'hang', { status: 200 });
    const hook = await create('/slow', ['run.completed']);
    await runOnce();
    const reqs = await eventually('two attempts', async () => (receiver.at('/slow').length >= 2 ? receiver.at('/slow') : undefined));
    expect(reqs[0]?.headers['convergence-delivery-id']).to.equal(reqs[1]?.headers['convergence-delivery-id']);
    const log = await eventually('two logged attempts', async () => {
      const a = await attempts(hook.webhook_id);
      return a.length >= 2 ? a : undefined;
    });
    expect(log.map((a) => [a.attempt, a.error, a.status_code])).to.deep.equal([[2, null, 200], [1, 'timeout', null]]);
    await remove(hook.webhook_id);
  });

  it('does not follow a redirect to a private address: the 302 is a failed attempt', async () => {
    receiver.script('/moved', { status: 302, headers: { Location: receiver.url('/computeMetadata/v1/') } }, { status: 200 });
    const hook = await create('/moved', ['run.completed']);
    await runOnce();
    const log = await eventually('a successful retry', async () => {
      const a = await attempts(hook.webhook_id);
      return a.some((x) => x.success) ? a : undefined;
    });
    expect(log.map((a) => [a.attempt, a.status_code, a.error])).to.deep.equal([[2, 200, null], [1, 302, 'http_302']]);
    expect(receiver.at('/computeMetadata/v1/')).to.have.length(0);
    await remove(hook.webhook_id);
  });

  it('redelivers a delivery with the same id as a fresh attempt', async () => {
    const hook = await create('/again', ['run.completed']);
    await runOnce();
    const [first] = await eventually('the delivery', async () => (receiver.at('/again').length > 0 ? receiver.at('/again') : undefined));
    const deliveryId = String(first?.headers['convergence-delivery-id']);
    const res = await t.request.post(`${base}/${hook.webhook_id}/deliveries/${deliveryId}/redeliver`).set('X-API-Key', key);
    expect(res.status).to.equal(202);
    expect(res.body).to.include({ delivery_id: deliveryId, webhook_id: hook.webhook_id, event_type: 'run.completed', queued: true });
    const reqs = await eventually('the redelivery', async () => (receiver.at('/again').length >= 2 ? receiver.at('/again') : undefined));
    expect(reqs[1]?.headers['convergence-delivery-id']).to.equal(deliveryId);
    expect(reqs[1]?.body).to.equal(first?.body);
    const log = await eventually('two logged attempts', async () => {
      const a = await attempts(hook.webhook_id);
      return a.length >= 2 ? a : undefined;
    });
    expect(log.map((a) => a.attempt)).to.deep.equal([2, 1]);
    const unknown = await t.request.post(`${base}/${hook.webhook_id}/deliveries/whd_nope/redeliver`).set('X-API-Key', key);
    expect([unknown.status, unknown.body.code]).to.deep.equal([404, 'WEBHOOK_DELIVERY_NOT_FOUND']);
    await remove(hook.webhook_id);
  });

  it('signs with both secrets during a rotation grace, and with the new one only after a rotation without grace', async () => {
    const hook = await create('/rotated', ['run.completed']);
    const rotated = await t.request.post(`${base}/${hook.webhook_id}/rotate-secret`).set('X-API-Key', key).send({ grace_seconds: 3600 });
    expect(rotated.status).to.equal(201);
    const newSecret = rotated.body.secret as string;
    expect(newSecret).to.match(/^whsec_/).and.not.equal(hook.secret);
    expect(rotated.body.previous_secret_expires_at).to.be.a('string');
    await runOnce();
    const [req] = await eventually('the delivery', async () => (receiver.at('/rotated').length > 0 ? receiver.at('/rotated') : undefined));
    const header = String(req?.headers['convergence-signature']);
    const now = Math.floor(Date.now() / 1000);
    expect(header.split(',').filter((p) => p.startsWith('v1='))).to.have.length(2);
    expect(verifySignature(header, req?.body ?? '', hook.secret, now)).to.equal(true);
    expect(verifySignature(header, req?.body ?? '', newSecret, now)).to.equal(true);

    const again = await t.request.post(`${base}/${hook.webhook_id}/rotate-secret`).set('X-API-Key', key).send({ grace_seconds: 0 });
    const latest = again.body.secret as string;
    expect(again.body.previous_secret_expires_at).to.equal(null);
    await runOnce();
    const reqs = await eventually('the second delivery', async () => (receiver.at('/rotated').length >= 2 ? receiver.at('/rotated') : undefined));
    const second = String(reqs[1]?.headers['convergence-signature']);
    expect(second.split(',').filter((p) => p.startsWith('v1='))).to.have.length(1);
    expect(verifySignature(second, reqs[1]?.body ?? '', latest, Math.floor(Date.now() / 1000))).to.equal(true);
    expect(verifySignature(second, reqs[1]?.body ?? '', newSecret, Math.floor(Date.now() / 1000))).to.equal(false);
    await remove(hook.webhook_id);
  });

  it('announces quota.exhausted once per UTC day when admission refuses runs for the daily quota', async () => {
    const starterKey = await onboard(t, 'quota_hook', 'STARTER');
    const res = await t.request.post('/api/v1/tenants/quota_hook/webhooks').set('X-API-Key', starterKey).send({ url: receiver.url('/quota'), events: ['quota.exhausted'] });
    expect(res.status).to.equal(201);
    const trigger = () => t.request.post('/api/v1/pipelines/run/quota_hook/gcp/test/quick').set('X-API-Key', starterKey);
    for (let n = 0; n < 6; n += 1) {
      const run = await trigger();
      expect(run.status).to.equal(202);
      await waitForRun(t, starterKey, run.body.pipeline_logging_id as string);
    }
    for (let n = 0; n < 2; n += 1) expect((await trigger()).body.code).to.equal('DAILY_QUOTA_EXCEEDED');
    const [req] = await eventually('the quota delivery', async () => (receiver.at('/quota').length > 0 ? receiver.at('/quota') : undefined));
    const body = JSON.parse(req?.body ?? '{}') as { type: string; data: Record<string, unknown> };
    expect(body.type).to.equal('quota.exhausted');
    expect(body.data).to.include({ tenant_id: 'quota_hook', quota: 'daily', code: 'DAILY_QUOTA_EXCEEDED' });
    // Emitting is awaited before the 429 answers, so the second refusal made no delivery at all.
    expect(await t.system.clients.redis.zcard(t.system.keys.webhookDeliveryIndex('quota_hook'))).to.equal(1);
  });

  it('shows the delivery queue read-only on Bull Board and in the queue-depth metric', async () => {
    const api = await t.request.get('/admin/queues/api/queues').auth('admin', t.adminKey);
    const queue = (api.body.queues as Array<{ name: string; readOnlyMode: boolean }>).find((q) => q.name === 'webhook-deliveries');
    expect(queue?.readOnlyMode).to.equal(true);
    const metrics = await t.request.get('/metrics');
    expect(metrics.text).to.match(/queue_jobs\{queue="webhook-deliveries",state="completed"\} \d+/);
  });

  it('disables the endpoint after WEBHOOK_DISABLE_AFTER consecutive failed deliveries, and GET says why', async () => {
    receiver.script('/down', { status: 503 });
    const hook = await create('/down', ['run.completed']);
    await runOnce();
    await eventually('the first delivery to fail for good', async () => ((await attempts(hook.webhook_id)).length >= 3 ? true : undefined));
    const stillActive = await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key);
    expect(stillActive.body.is_active).to.equal(true);
    await runOnce();
    const disabled = await eventually('the endpoint disabled', async () => {
      const res = await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key);
      return res.body.is_active === false ? res.body as { disabled_reason: string } : undefined;
    });
    expect(disabled.disabled_reason).to.equal('disabled after 2 consecutive failed deliveries');
    // The platform's own change is in the tenant's audit trail, by the `system` actor.
    await t.system.auditLog.flush();
    const audit = await t.request.get(`/api/v1/tenants/${tenant}/audit?actor=system`).set('X-API-Key', key);
    expect(audit.body.entries.map((e: { action: string; target: string; details: { reason: string } }) => [e.action, e.target, e.details.reason]))
      .to.deep.include(['webhook.update', `webhook:${hook.webhook_id}`, 'disabled_after_failures']);
    expect(receiver.at('/down')).to.have.length(6);
    // Redelivering to a disabled endpoint is refused until it is re-enabled.
    const deliveryId = (await attempts(hook.webhook_id))[0]?.delivery_id ?? '';
    const refused = await t.request.post(`${base}/${hook.webhook_id}/deliveries/${deliveryId}/redeliver`).set('X-API-Key', key);
    expect([refused.status, refused.body.code]).to.deep.equal([409, 'WEBHOOK_INACTIVE']);
    const enabled = await t.request.patch(`${base}/${hook.webhook_id}`).set('X-API-Key', key).send({ is_active: true });
    expect(enabled.body).to.include({ is_active: true, disabled_reason: null });
    await remove(hook.webhook_id);
  });
});
