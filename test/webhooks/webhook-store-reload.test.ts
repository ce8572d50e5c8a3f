import { expect } from 'chai';
import { WebhookStore } from '../../src/webhooks/webhook-store';
import type { WebhookRecord } from '../../src/webhooks/types';
import type { Warehouse } from '../../src/warehouse/types';
import { createSharedTenantEnv, uniqueTenantId } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/**
 * The hot copy of a tenant's endpoints is rebuilt from the warehouse when Redis does not have it. A worker that
 * finishes a hundred runs of one tenant at once asks for it a hundred times in the same moment: on BigQuery each
 * rebuild is a query job, so concurrent misses must share one.
 */
describe('the webhook store rebuilding a tenant’s endpoints from the warehouse', () => {
  let env: SharedTenantEnv;
  let t: TestRedis;
  let queries: string[];
  let store: WebhookStore;

  before(async () => {
    env = await createSharedTenantEnv();
  });
  after(async () => env.cleanup());
  beforeEach(async () => {
    t = await createTestRedis();
    queries = [];
    const counting: Warehouse = Object.create(env.warehouse) as Warehouse;
    counting.query = (sql, options) => {
      queries.push(sql);
      return env.warehouse.query(sql, options);
    };
    store = new WebhookStore({ redis: t.redis, keys: t.keys, warehouse: counting });
  });
  afterEach(async () => t.cleanup());

  const record = (tenantId: string, webhookId: string): WebhookRecord => ({
    webhookId, tenantId, url: 'https://hooks.example.com/in', events: ['run.completed'], isActive: true, disabledReason: null,
    encryptedSecret: Buffer.from('secret').toString('base64'), previousEncryptedSecret: null, previousSecretExpiresAt: null,
    createdAt: '2025-11-14T12:00:00.000Z', updatedAt: '2025-11-14T12:00:00.000Z',
  });

  it('answers 100 concurrent lookups of a tenant without endpoints with one warehouse query', async () => {
    const tenantId = uniqueTenantId('hooks_none');
    const answers = await Promise.all(Array.from({ length: 100 }, () => store.subscribers(tenantId, 'run.completed')));
    expect(answers.every((a) => a.length === 0)).to.equal(true);
    expect(queries).to.have.length(1);
    // Loaded now: later lookups stay in Redis.
    await store.subscribers(tenantId, 'run.completed');
    expect(queries).to.have.length(1);
  });

  it('gives every concurrent lookup the endpoints after Redis lost them, from one warehouse query', async () => {
    const tenantId = uniqueTenantId('hooks_lost');
    await store.save(record(tenantId, 'wh_1'), new Date('2025-11-14T12:00:00Z'));
    await t.redis.del(t.keys.webhooks(tenantId));
    queries = [];
    const answers = await Promise.all(Array.from({ length: 50 }, () => store.subscribers(tenantId, 'run.completed')));
    expect(answers.map((a) => a.map((w) => w.webhookId).join(','))).to.deep.equal(Array(50).fill('wh_1'));
    expect(queries).to.have.length(1);
  });
});
