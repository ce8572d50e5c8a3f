import { expect } from 'chai';
import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { WEBHOOK_DELIVERIES_QUEUE } from '../../src/queues/webhook-deliveries';
import type { WebhookDeliveryJob } from '../../src/queues/webhook-deliveries';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Redelivery is one attempt at a time per delivery. The system runs without a webhook worker: this test takes the
 * delivery jobs itself (a BullMQ worker without a processor), so each state is held as long as it needs.
 */
describe('webhook redelivery while an attempt of the delivery is pending', () => {
  let t: TestSystem;
  let key: string;
  let taker: Worker<WebhookDeliveryJob>;
  const tenant = 'redeliver_corp';
  const base = `/api/v1/tenants/${tenant}/webhooks`;
  const token = 'test-taker';

  before(async () => {
    t = await startTestSystem({ role: 'api' });
    key = await onboard(t, tenant, 'STARTER');
    taker = new Worker<WebhookDeliveryJob>(WEBHOOK_DELIVERIES_QUEUE, null, {
      connection: t.system.clients.bull, prefix: t.system.keys.bullPrefix, autorun: false,
      // The first delivery's retry waits a minute: long past this test.
      settings: { backoffStrategy: () => 60_000 },
    });
  });
  after(async () => {
    await taker.close();
    await t.close();
  });

  const take = async (): Promise<Job<WebhookDeliveryJob>> => {
    const job = await taker.getNextJob(token, { block: false });
    if (!job) throw new Error('no delivery job waiting');
    return job;
  };

  it('answers 409 WEBHOOK_DELIVERY_IN_PROGRESS while an attempt is queued or in flight, and 202 once it is over', async () => {
    const hook = await t.request.post(base).set('X-API-Key', key).send({ url: 'https://93.184.216.34/hook', events: ['schedule.misfired'] });
    expect(hook.status).to.equal(201);
    expect(await t.system.webhooks.emitter.emit(tenant, 'schedule.misfired', { config_id: 'c1' })).to.equal(1);
    const [queued] = await t.system.webhooks.queue().getJobs(['waiting']);
    const deliveryId = queued?.data.deliveryId ?? '';
    const redeliver = () => t.request.post(`${base}/${String(hook.body.webhook_id)}/deliveries/${deliveryId}/redeliver`).set('X-API-Key', key);
    const inProgress = async (): Promise<void> => {
      const res = await redeliver();
      expect([res.status, res.body.code]).to.deep.equal([409, 'WEBHOOK_DELIVERY_IN_PROGRESS']);
    };
    await inProgress(); // the first delivery is queued

    const first = await take();
    expect(first.data.deliveryId).to.equal(deliveryId);
    await inProgress(); // … and in flight

    await first.moveToFailed(new Error('http_503'), token);
    expect(await first.getState()).to.equal('delayed');
    const accepted = await redeliver(); // between two retries: one redelivery may go
    expect(accepted.status).to.equal(202);
    await inProgress(); // the redelivery is queued
    await Promise.all(Array.from({ length: 5 }, () => inProgress())); // concurrent calls queue nothing more
    expect(await t.system.webhooks.queue().getWaitingCount()).to.equal(1);

    const again = await take();
    expect(again.data.deliveryId).to.equal(deliveryId);
    await inProgress(); // the redelivery is in flight
    await again.moveToCompleted({ status_code: 200 }, token, false);
    expect((await redeliver()).status).to.equal(202); // over: the next one may go
  });
});
