import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { FANOUT_STORED_READS_PER_GET } from '../../src/batches/fanout-run-status';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { readDayTemplate } from '../helpers/templates';
import { createTestBigQuery, createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { beforeEachQuery } from '../helpers/warehouse-spy';

/**
 * GET /api/v1/admin/fanouts/{id} shows each admitted tenant's run status. A run's live record leaves Redis a day after
 * its end, the fan-out stays 30 days: the fan-out records each run's end, so reading it costs no warehouse query per
 * tenant (a fan-out over 10,000 tenants would be 10,000 BigQuery jobs per GET).
 */
for (const adapter of ['duckdb', 'bigquery'] as const) describe(`reading a fan-out after its runs’ records left Redis (${adapter})`, function () {
  this.timeout(60_000);
  const N = 12;
  const tenants = Array.from({ length: N }, (_, i) => `fo_cost_${i}`);
  let configs: { dir: string; cleanup(): void };
  let wh: TestWarehouse;
  let t: TestSystem;
  let counting = false;
  let queries = 0;
  let failing = false;
  let id = '';

  const get = async () => {
    queries = 0;
    counting = true;
    try {
      const res = await t.request.get(`/api/v1/admin/fanouts/${id}`).set('X-Admin-Key', t.adminKey);
      expect(res.status).to.equal(200);
      return { body: res.body as { counts: Record<string, number>; tenants: Array<{ tenant_id: string; run_status: string | null }> }, queries };
    } finally {
      counting = false;
    }
  };
  /** As a fan-out from before the run ends were recorded (or one whose run-end hook was lost) looks. */
  const forgetRecordedEnds = async (): Promise<void> => {
    for (const tenantId of tenants) await t.system.clients.redis.hdel(t.system.keys.fanout(id), `r:${tenantId}`);
  };

  before(async () => {
    configs = configsWith({ 'gcp/chaos/read_day.yml': readDayTemplate('fan-out status') });
    wh = adapter === 'duckdb' ? await createTestDuckDb() : await createTestBigQuery();
    const spied = beforeEachQuery(wh.warehouse, () => {
      if (!counting) return;
      queries += 1;
      if (failing) throw new Error('warehouse down');
    });
    t = await startTestSystem({ warehouse: spied, clock: new ManualClock('2026-12-04T10:00:00Z'), env: { CONFIGS_DIR: configs.dir } });
    for (const tenantId of tenants) await onboard(t, tenantId, 'STARTER');
    const res = await t.request.post('/api/v1/admin/fanout/gcp/chaos/read_day').set('X-Admin-Key', t.adminKey)
      .send({ selector: { tenant_ids: tenants }, parameters: { date: '2026-12-01' }, spread_seconds: 0 });
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    id = res.body.fanout_id as string;
    // No GET in between: the run finaliser's hook records each end in the fan-out.
    await eventually('every tenant’s run end recorded in the fan-out', async () => {
      const h = await t.system.clients.redis.hgetall(t.system.keys.fanout(id));
      return tenants.every((x) => h[`r:${x}`] === 'COMPLETED') ? true : undefined;
    }, 30_000);
    const done = (await t.request.get(`/api/v1/admin/fanouts/${id}`).set('X-Admin-Key', t.adminKey)).body.tenants as Array<{ tenant_id: string; run_id: string }>;
    // A day later: the runs' rows are in the warehouse, their live records gone from Redis (terminal TTL), the fan-out is still there.
    await t.system.logWriter.flush();
    for (const x of done) await t.system.clients.redis.del(t.system.keys.run(x.tenant_id, x.run_id));
  });
  after(async () => {
    await t.close();
    await wh.cleanup();
    configs.cleanup();
  });

  it('answers from the run ends the fan-out recorded, with no warehouse query', async () => {
    const old = await get();
    expect(old.queries, `${old.queries} warehouse queries for one GET of a fan-out over ${N} tenants`).to.equal(0);
    expect(old.body.counts).to.deep.equal({ COMPLETED: N });
  });

  describe('when the fan-out has no record of the ends (written before they were recorded, or a lost hook)', () => {
    it('reads them in one warehouse statement, records them, and the next GET reads nothing', async () => {
      await forgetRecordedEnds();
      const first = await get();
      expect(first.queries).to.equal(1);
      expect(first.body.tenants.map((x) => x.run_status)).to.deep.equal(tenants.map(() => 'COMPLETED'));
      const second = await get();
      expect(second.queries).to.equal(0);
      expect(second.body.counts).to.deep.equal({ COMPLETED: N });
      expect(FANOUT_STORED_READS_PER_GET, 'one statement covers this fan-out').to.be.at.least(N);
    });

    it('shows UNKNOWN, not "no status", for runs the warehouse failed to read, and reads them at the next GET', async () => {
      await forgetRecordedEnds();
      failing = true;
      try {
        const down = await get();
        expect(down.queries).to.equal(1);
        expect(down.body.counts).to.deep.equal({ UNKNOWN: N });
      } finally {
        failing = false;
      }
      const back = await get();
      expect(back.body.counts).to.deep.equal({ COMPLETED: N });
    });

    it('a tenant whose dataset is gone (offboarded) shows no status; the other tenants’ runs are still read', async () => {
      await wh.warehouse.dropDataset(tenants[0]!);
      await forgetRecordedEnds();
      const read = await get();
      expect(read.body.tenants.find((x) => x.tenant_id === tenants[0])?.run_status).to.equal(null);
      expect(read.body.counts).to.deep.equal({ COMPLETED: N - 1, ADMITTED: 1 });
    });
  });
});
