import { expect } from 'chai';
import { createWebhookEmitter } from '../../src/queues/webhook-events';
import type { WebhookEmitterDeps } from '../../src/queues/webhook-events';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { RedisKeys } from '../../src/redis/keys';
import type { RedisClient } from '../../src/redis/connection';
import { ManualClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import type { WebhookStore } from '../../src/webhooks/webhook-store';
import type { DeliveryLog } from '../../src/webhooks/delivery-log';
import type { WebhookDeliveriesQueue } from '../../src/queues/webhook-deliveries';

const job: PipelineRunJob = {
  pipelineLoggingId: 'run-1', pipelineId: 'acme-gcp-cost-x', tenantId: 'acme', provider: 'gcp', domain: 'cost', templateName: 'x',
  parameters: {}, userId: null, triggerType: 'api', admittedAt: '2025-11-14T12:00:00.000Z',
};

describe('the webhook emitter when its dependencies fail', () => {
  const broken = (): WebhookEmitterDeps => ({
    redis: { set: async () => { throw new Error('redis down'); } } as unknown as RedisClient,
    keys: new RedisKeys('t'),
    store: { subscribers: async () => { throw new Error('warehouse down'); } } as unknown as WebhookStore,
    log: {} as DeliveryLog,
    queue: () => ({}) as WebhookDeliveriesQueue,
    policy: { maxAttempts: 1, retryBaseMs: 1, retryMaxMs: 1 },
    clock: new ManualClock('2025-11-14T12:00:00Z'),
    logger: silentLogger(),
    getRun: async () => { throw new Error('redis down'); },
  });

  it('never throws to the run, the trigger or the tick: it logs and enqueues nothing', async () => {
    const emitter = createWebhookEmitter(broken());
    expect(await emitter.emit('acme', 'run.completed', {})).to.equal(0);
    await emitter.notifyRunFinished(job, 'COMPLETED', 10);
    await emitter.notifyQuotaExhausted('acme', 'DAILY_QUOTA_EXCEEDED');
    await emitter.notifyScheduleMisfired('acme', { config_id: 'c' });
  });

  it('ignores statuses that are not a run end and refusals that are not daily or monthly quota', async () => {
    let looked = 0;
    const deps = broken();
    deps.store = { subscribers: async () => { looked += 1; return []; } } as unknown as WebhookStore;
    deps.getRun = async () => null;
    const emitter = createWebhookEmitter(deps);
    await emitter.notifyRunFinished(job, 'RUNNING', null);
    await emitter.notifyQuotaExhausted('acme', 'CONCURRENT_LIMIT_REACHED');
    expect(looked).to.equal(0);
    await emitter.notifyRunFinished(job, 'CANCELLED', null);
    expect(looked).to.equal(1);
  });

  it('reads the run only when the tenant has an endpoint for the event', async () => {
    let reads = 0;
    const deps = broken();
    deps.store = { subscribers: async () => [] } as unknown as WebhookStore;
    deps.getRun = async () => {
      reads += 1;
      return null;
    };
    await createWebhookEmitter(deps).notifyRunFinished(job, 'COMPLETED', 10);
    expect(reads).to.equal(0);
  });
});
