import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { readDayTemplate } from '../helpers/templates';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { beforeEachQuery } from '../helpers/warehouse-spy';

/**
 * GET /api/v1/admin/fanouts/{id} reads each admitted tenant's run status, and once the run's record left Redis
 * (7 days after it ended; the fan-out stays 30 days) each is one warehouse query, all at once (Promise.all): a
 * fan-out over 10,000 tenants costs 10,000 BigQuery query jobs per GET.
 */
describe('red team: reading an old fan-out', function () {
  this.timeout(60_000);
  const N = 12;
  let configs: { dir: string; cleanup(): void };
  let wh: TestWarehouse;
  let t: TestSystem;
  let counting = false;
  let queries = 0;

  before(async () => {
    configs = configsWith({ 'gcp/chaos/read_day.yml': readDayTemplate('red team') });
    wh = await createTestDuckDb();
    const spied = beforeEachQuery(wh.warehouse, () => {
      if (counting) queries += 1;
    });
    t = await startTestSystem({ warehouse: spied, clock: new ManualClock('2026-12-04T10:00:00Z'), env: { CONFIGS_DIR: configs.dir } });
    for (let i = 0; i < N; i += 1) await onboard(t, `fo_cost_${i}`, 'STARTER');
  });
  after(async () => {
    await t.close();
    await wh.cleanup();
    configs.cleanup();
  });

  it('does not cost one warehouse query per tenant', async () => {
    const tenants = Array.from({ length: N }, (_, i) => `fo_cost_${i}`);
    const res = await t.request.post('/api/v1/admin/fanout/gcp/chaos/read_day').set('X-Admin-Key', t.adminKey)
      .send({ selector: { tenant_ids: tenants }, parameters: { date: '2026-12-01' }, spread_seconds: 0 });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    const id = res.body.fanout_id as string;
    const done = await eventually('every tenant’s run COMPLETED', async () => {
      const g = await t.request.get(`/api/v1/admin/fanouts/${id}`).set('X-Admin-Key', t.adminKey);
      const list = g.body.tenants as Array<{ tenant_id: string; run_id: string; run_status: string }>;
      return list.every((x) => x.run_status === 'COMPLETED') ? list : undefined;
    }, 30_000);
    // A week later: the runs' live records are gone from Redis (terminal TTL), the fan-out is still there.
    for (const x of done) await t.system.clients.redis.del(t.system.keys.run(x.tenant_id, x.run_id));
    queries = 0;
    counting = true;
    const old = await t.request.get(`/api/v1/admin/fanouts/${id}`).set('X-Admin-Key', t.adminKey);
    counting = false;
    expect(old.status).to.equal(200);
    expect(queries, `${queries} warehouse queries for one GET of a fan-out over ${N} tenants`).to.be.at.most(2);
  });
});
