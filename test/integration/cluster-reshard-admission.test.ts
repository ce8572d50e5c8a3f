import { expect } from 'chai';
import Redis from 'ioredis';
import { slotOf } from '../../src/redis/slots';
import { startRedisCluster } from '../helpers/redis-cluster';
import type { TestRedisCluster } from '../helpers/redis-cluster';
import { describeOnCluster } from '../helpers/redis-targets';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Redis Cluster: the tenant's slot is resharded to another master while triggers are admitted (MIGRATING/IMPORTING:
 * ASK redirections and TRYAGAIN for the multi-key commands and scripts whose keys are split, then MOVED).
 * Quotas must stay exact: every 202 counted once, nothing counted that was not answered 202, no 500 — a trigger
 * meeting the split slot answers 503 DEPENDENCY_UNAVAILABLE (src/api/middleware/error-handler.ts).
 */
const TENANT = 'reshard_corp';

interface NodeInfo { id: string; port: number; client: Redis }

describeOnCluster('admission while the tenant\'s slot is resharded', function () {
  this.timeout(90_000);
  let cluster: TestRedisCluster;
  let t: TestSystem;
  let key: string;
  const nodes: NodeInfo[] = [];

  before(async () => {
    cluster = await startRedisCluster(3);
    for (const n of cluster.nodes) {
      const client = new Redis({ host: n.host, port: n.port });
      nodes.push({ id: String(await client.call('CLUSTER', 'MYID')), port: n.port, client });
    }
    t = await startTestSystem({ role: 'api', redis: cluster.target });
    key = await onboard(t, TENANT, 'SCALE');
  });
  after(async () => {
    await t?.close().catch(() => undefined);
    for (const n of nodes) n.client.disconnect();
    await cluster?.stop();
  });

  async function ownerOf(slot: number): Promise<NodeInfo> {
    const shards = (await nodes[0]!.client.call('CLUSTER', 'SLOTS')) as Array<[number, number, [string, number, string]]>;
    const shard = shards.find(([from, to]) => slot >= from && slot <= to);
    const port = shard?.[2][1];
    const owner = nodes.find((n) => n.port === port);
    if (!owner) throw new Error(`no owner for slot ${slot}`);
    return owner;
  }

  /**
   * Starts moving `slot` from its owner to another master as redis-cli --cluster reshard does (IMPORTING /
   * MIGRATING, then MIGRATE key by key), moving the keys `first` names first; `finish` moves the rest and hands
   * the slot over. In between, the slot's keys live on two masters — where a live reshard (Memorystore scaling
   * out) leaves them for as long as its keys take to copy.
   */
  async function startReshard(slot: number, first: string[]): Promise<{ finish(): Promise<void> }> {
    const source = await ownerOf(slot);
    const target = nodes.find((n) => n !== source)!;
    await target.client.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', source.id);
    await source.client.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', target.id);
    await source.client.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...first);
    return {
      async finish() {
        for (;;) {
          const keys = (await source.client.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
          if (keys.length === 0) break;
          await source.client.call('MIGRATE', '127.0.0.1', target.port, '', 0, 5000, 'KEYS', ...keys);
        }
        for (const n of nodes) await n.client.call('CLUSTER', 'SETSLOT', slot, 'NODE', target.id);
      },
    };
  }

  it('counts exactly the runs it admitted, answering every trigger 202, 429 or 503 — never 500', async () => {
    const slot = slotOf(`{t:${TENANT}}`);
    // The tenant's profile hash (admit.lua's KEYS[1]) moves first.
    const reshard = await startReshard(slot, [t.system.keys.tenantProfile(TENANT)]);
    const answers = [];
    for (let i = 1; i <= 5; i++) {
      answers.push(await t.request.post(`/api/v1/pipelines/run/${TENANT}/gcp/cost/billing_cost`).set('X-API-Key', key).set('X-User-ID', 'alice').send({ date: `2025-10-0${i}` }));
    }
    await reshard.finish();
    for (let i = 6; i <= 9; i++) {
      answers.push(await t.request.post(`/api/v1/pipelines/run/${TENANT}/gcp/cost/billing_cost`).set('X-API-Key', key).set('X-User-ID', 'alice').send({ date: `2025-10-0${i}` }));
    }
    const statuses = answers.map((a) => a.status);
    const admitted = answers.filter((a) => a.status === 202).length;
    const quota = await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key);
    expect(quota.status).to.equal(200);
    // Mid-migration the tenant's keys are split between the two masters: Redis answers "TRYAGAIN Multiple keys
    // request during rehashing of slot" (here already to the API-key cache's EXISTS of two keys), without running it.
    expect({
      unexpected: answers.filter((a) => ![202, 429, 503].includes(a.status)).map((a) => `${a.status} ${String(a.body.code)}`),
      today: quota.body.pipelines_run_today,
      running: quota.body.concurrent_pipelines_running,
    }, `statuses ${JSON.stringify(statuses)}`).to.deep.equal({ unexpected: [], today: admitted, running: admitted });
  });
});
