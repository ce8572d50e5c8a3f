import { expect } from 'chai';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * One tenant's endpoint that accepts the connection and never answers holds a delivery slot for WEBHOOK_TIMEOUT_MS
 * per attempt, and the worker serves the queue FIFO across tenants. Redelivering the same delivery again and again,
 * or having many deliveries to such endpoints, must not hold every slot: a redelivery of a delivery still queued or
 * in flight answers 409, and each endpoint and each tenant hold only a few slots (the rest are parked, not lost).
 */
describe('webhook delivery slots: a tenant’s hanging endpoints vs. other tenants’ deliveries', function () {
  this.timeout(90_000);
  let t: TestSystem;
  let receiver: WebhookReceiver;
  let keyA: string;
  let keyB: string;

  before(async () => {
    receiver = await new WebhookReceiver().start();
    t = await startTestSystem({
      env: {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        WEBHOOK_TIMEOUT_MS: '3000',
        WEBHOOK_MAX_ATTEMPTS: '1',
        // Scaled down from the defaults (20 slots, 2 per endpoint, 5 per tenant): the hog may hold 2 of 3 slots.
        WEBHOOK_CONCURRENCY: '3',
        WEBHOOK_ENDPOINT_CONCURRENCY: '1',
        WEBHOOK_TENANT_CONCURRENCY: '2',
      },
    });
    keyA = await onboard(t, 'hog_corp', 'STARTER');
    keyB = await onboard(t, 'victim_corp', 'STARTER');
  });
  after(async () => {
    await t.close();
    await receiver.close();
  });

  it('redelivering, or piling deliveries onto hanging endpoints, does not delay another tenant’s delivery', async () => {
    receiver.script('/hang', 'hang');
    receiver.script('/hang2', 'hang');
    const hogHooks = await Promise.all(['/hang', '/hang2'].map(async (path) => {
      const res = await t.request.post('/api/v1/tenants/hog_corp/webhooks').set('X-API-Key', keyA).send({ url: receiver.url(path), events: ['schedule.misfired'] });
      expect(res.status).to.equal(201);
      return res.body.webhook_id as string;
    }));
    const victimHook = await t.request.post('/api/v1/tenants/victim_corp/webhooks').set('X-API-Key', keyB).send({ url: receiver.url('/victim'), events: ['schedule.misfired'] });
    expect(victimHook.status).to.equal(201);

    expect(await t.system.webhooks.emitter.emit('hog_corp', 'schedule.misfired', { config_id: 'c1' })).to.equal(2);
    const [first] = await eventually('the hog’s first attempt', async () => (receiver.at('/hang').length > 0 ? receiver.at('/hang') : undefined));
    const deliveryId = String(first?.headers['convergence-delivery-id']);
    // The endpoint is still active (a hanging attempt is not yet a failure): redeliver the same delivery, again and again.
    for (let i = 0; i < 6; i += 1) {
      const res = await t.request.post(`/api/v1/tenants/hog_corp/webhooks/${hogHooks[0] ?? ''}/deliveries/${deliveryId}/redeliver`).set('X-API-Key', keyA);
      expect([res.status, res.body.code]).to.deep.equal([409, 'WEBHOOK_DELIVERY_IN_PROGRESS']);
    }
    // More deliveries to both hanging endpoints: 2 in flight (the tenant's cap), 6 parked.
    for (let i = 0; i < 3; i += 1) expect(await t.system.webhooks.emitter.emit('hog_corp', 'schedule.misfired', { config_id: `c${i + 2}` })).to.equal(2);

    const started = Date.now();
    expect(await t.system.webhooks.emitter.emit('victim_corp', 'schedule.misfired', { config_id: 'v1' })).to.equal(1);
    await eventually('the victim’s delivery', async () => (receiver.at('/victim').length > 0 ? true : undefined), 30_000);
    const waited = Date.now() - started;
    // Behind the hog's 8 deliveries at 3 s each, FIFO over 3 slots would hold the victim for ~6 s.
    expect(waited, `victim_corp waited ${waited} ms behind hog_corp's deliveries`).to.be.below(2000);

    // The hog's parked deliveries are sent in their turn, none lost, and each only once (parking is no attempt).
    await eventually('every hog delivery attempted', async () => (receiver.at('/hang').length + receiver.at('/hang2').length >= 8 ? true : undefined), 60_000);
    const ids = [...receiver.at('/hang'), ...receiver.at('/hang2')].map((r) => String(r.headers['convergence-delivery-id']));
    expect(new Set(ids).size).to.equal(8);
  });
});
