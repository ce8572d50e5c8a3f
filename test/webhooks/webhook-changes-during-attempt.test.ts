import { expect } from 'chai';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * The worker disables an endpoint after its last failed attempt, up to WEBHOOK_TIMEOUT_MS after it read the endpoint.
 * Whatever the tenant changed meanwhile — a DELETE, a new URL, a rotated secret, an offboarding — must survive that.
 */
describe('webhook changes made while the last attempt of a delivery is in flight', () => {
  let t: TestSystem;
  let receiver: WebhookReceiver;
  let key: string;
  const tenant = 'race_hook';
  const base = `/api/v1/tenants/${tenant}/webhooks`;

  before(async () => {
    receiver = await new WebhookReceiver().start();
    t = await startTestSystem({
      env: {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT_MS: '1500',
        WEBHOOK_MAX_ATTEMPTS: '1',
        WEBHOOK_DISABLE_AFTER: '1',
      },
    });
    key = await onboard(t, tenant, 'SCALE');
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  const create = async (path: string): Promise<{ webhook_id: string; secret: string }> => {
    const res = await t.request.post(base).set('X-API-Key', key).send({ url: receiver.url(path), events: ['schedule.misfired'] });
    expect(res.status, JSON.stringify(res.body)).to.equal(201);
    return res.body as { webhook_id: string; secret: string };
  };
  /** Emits one event and waits until the receiver holds the (hanging) request. */
  const hangOneDelivery = async (path: string): Promise<void> => {
    receiver.script(path, 'hang');
    expect(await t.system.webhooks.emitter.emit(tenant, 'schedule.misfired', { config_id: 'c1' })).to.equal(1);
    await eventually('the attempt in flight', async () => (receiver.at(path).length > 0 ? true : undefined));
  };
  const attemptOver = () => eventually('the attempt over', async () => {
    const jobs = await t.system.webhooks.queue().getJobCounts('active');
    return jobs.active === 0 ? true : undefined;
  }, 10_000);
  const attemptLogged = (webhookId: string) => eventually('the failed attempt logged', async () => {
    const n = await t.system.clients.redis.llen(t.system.keys.webhookAttempts(tenant, webhookId));
    return n > 0 ? true : undefined;
  }, 10_000);

  it('a webhook deleted while its last attempt is in flight stays deleted', async () => {
    const hook = await create('/deleted');
    await hangOneDelivery('/deleted');
    expect((await t.request.delete(`${base}/${hook.webhook_id}`).set('X-API-Key', key)).status).to.equal(204);
    expect((await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key)).status).to.equal(404);
    // The attempt times out after the delete: it must neither disable (revive) the endpoint nor log an attempt for it.
    await attemptOver();
    await new Promise((r) => setTimeout(r, 300));
    const { redis } = t.system.clients;
    expect(await redis.exists(t.system.keys.webhookAttempts(tenant, hook.webhook_id), t.system.keys.webhookFailures(tenant, hook.webhook_id)), 'attempt log of a deleted endpoint written again').to.equal(0);
    const after = await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key);
    expect(after.status, `deleted webhook came back: ${JSON.stringify(after.body)}`).to.equal(404);
    const list = await t.request.get(base).set('X-API-Key', key);
    expect((list.body.webhooks as Array<{ webhook_id: string }>).map((w) => w.webhook_id)).to.not.include(hook.webhook_id);
    // And it survives a reload from the warehouse too (the latest row must be the tombstone).
    await t.system.clients.redis.del(t.system.keys.webhooks(tenant));
    const reloaded = await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key);
    expect(reloaded.status).to.equal(404);
  });

  it('a URL changed and a secret rotated while the last attempt is in flight are kept', async () => {
    const hook = await create('/old');
    await hangOneDelivery('/old');
    const patched = await t.request.patch(`${base}/${hook.webhook_id}`).set('X-API-Key', key).send({ url: receiver.url('/new') });
    expect(patched.status).to.equal(200);
    const rotated = await t.request.post(`${base}/${hook.webhook_id}/rotate-secret`).set('X-API-Key', key).send({ grace_seconds: 0 });
    expect(rotated.status).to.equal(201);
    const stored = async (): Promise<{ url: string; encryptedSecret: string }> =>
      JSON.parse((await t.system.clients.redis.hget(t.system.keys.webhooks(tenant), hook.webhook_id)) ?? '{}') as { url: string; encryptedSecret: string };
    const before = await stored();
    await attemptLogged(hook.webhook_id);
    await new Promise((r) => setTimeout(r, 300));
    const after = await stored();
    const view = await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key);
    expect(view.body.url, 'GET shows the reverted URL').to.equal(receiver.url('/new'));
    expect(after?.url, 'the new URL was reverted to the failing one').to.equal(receiver.url('/new'));
    expect(after?.encryptedSecret, 'the rotated secret was reverted to the old one').to.equal(before?.encryptedSecret);
    // The failure was the old URL's: it does not count against the new one.
    expect(view.body.is_active).to.equal(true);
    expect((await t.request.delete(`${base}/${hook.webhook_id}`).set('X-API-Key', key)).status).to.equal(204);
  });

  it('a disable after the last attempt changes only is_active and disabled_reason of the endpoint as it is then', async () => {
    const hook = await create('/same');
    await hangOneDelivery('/same');
    const patched = await t.request.patch(`${base}/${hook.webhook_id}`).set('X-API-Key', key).send({ events: ['schedule.misfired', 'run.failed'] });
    expect(patched.status).to.equal(200);
    const rotated = await t.request.post(`${base}/${hook.webhook_id}/rotate-secret`).set('X-API-Key', key).send({ grace_seconds: 0 });
    expect(rotated.status).to.equal(201);
    const stored = async (): Promise<{ encryptedSecret: string; events: string[]; isActive: boolean; disabledReason: string | null }> =>
      JSON.parse((await t.system.clients.redis.hget(t.system.keys.webhooks(tenant), hook.webhook_id)) ?? '{}') as { encryptedSecret: string; events: string[]; isActive: boolean; disabledReason: string | null };
    const before = await stored();
    await attemptLogged(hook.webhook_id);
    const after = await eventually('the endpoint disabled', async () => {
      const s = await stored();
      return s.isActive === false ? s : undefined;
    });
    expect(after.disabledReason).to.equal('disabled after 1 consecutive failed deliveries');
    expect(after.encryptedSecret, 'the rotated secret was reverted').to.equal(before.encryptedSecret);
    expect(after.events, 'the patched events were reverted').to.deep.equal(['schedule.misfired', 'run.failed']);
    // The warehouse's latest row agrees once the hot copy is rebuilt from it.
    await t.system.clients.redis.del(t.system.keys.webhooks(tenant));
    const view = await t.request.get(`${base}/${hook.webhook_id}`).set('X-API-Key', key);
    expect(view.body).to.include({ is_active: false });
    expect(view.body.events).to.deep.equal(['schedule.misfired', 'run.failed']);
  });

  it('an offboarding during the last attempt leaves no webhook row and no webhook key of the tenant', async () => {
    const gone = 'race_gone';
    const goneKey = await onboard(t, gone, 'SCALE');
    receiver.script('/gone', 'hang');
    const res = await t.request.post(`/api/v1/tenants/${gone}/webhooks`).set('X-API-Key', goneKey).send({ url: receiver.url('/gone'), events: ['schedule.misfired'] });
    expect(res.status).to.equal(201);
    expect(await t.system.webhooks.emitter.emit(gone, 'schedule.misfired', { config_id: 'c1' })).to.equal(1);
    await eventually('the attempt in flight', async () => (receiver.at('/gone').length > 0 ? true : undefined));
    const off = await t.request.post(`/api/v1/admin/tenants/${gone}/offboard`).set('X-Admin-Key', t.adminKey).send({});
    expect(off.status, JSON.stringify(off.body)).to.equal(200);
    // The hanging attempt times out after the offboarding finished.
    await attemptOver();
    await new Promise((r) => setTimeout(r, 300));
    const { rows } = await t.warehouse.query(`SELECT COUNT(*) AS n FROM \`tenants.tenant_webhooks_events\` WHERE tenant_id = '${gone}'`);
    expect(Number(rows[0]?.n), 'the offboarded tenant’s webhook row (URL, encrypted secret) was written again').to.equal(0);
    const { redis } = t.system.clients;
    const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
    const left = (await Promise.all(nodes.map((n) => n.keys(`${t.prefix}:{t:${gone}}:wh*`)))).flat();
    expect(left, 'webhook keys of the offboarded tenant written again').to.deep.equal([]);
  });
});
