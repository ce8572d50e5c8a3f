import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { ManualClock } from '../../src/shared/clock';
import { Admission } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { refreshUsageRows, resetDailyQuotas } from '../../src/tenants/usage-sync';
import type { UsageSyncDeps } from '../../src/tenants/usage-sync';
import { ensureStateTable } from '../../src/warehouse/state-tables';
import { CENTRAL_DATASET, tenantUsageQuotas } from '../../src/warehouse/tables';
import type { Warehouse } from '../../src/warehouse/types';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';


const GUIDE_SQL = `SELECT tenant_id, pipelines_run_today, daily_limit,
       (daily_limit - pipelines_run_today) as remaining
FROM \`tenants.tenant_usage_quotas\`
WHERE tenant_id = 'acme_corp' AND usage_date = CURRENT_DATE()`;

describe('usage sync', () => {
  let t: TestRedis;
  let wh: TestWarehouse;
  let deps: UsageSyncDeps;

  before(async () => {
    wh = await createTestDuckDb({ poolSize: 2 });
  });
  after(async () => wh.cleanup());

  beforeEach(async () => {
    t = await createTestRedis();
    await wh.warehouse.dropDataset(CENTRAL_DATASET);
    await wh.warehouse.createDataset(CENTRAL_DATASET);
    await ensureStateTable(wh.warehouse, CENTRAL_DATASET, tenantUsageQuotas);
    deps = { redis: t.redis, keys: t.keys, warehouse: wh.warehouse };
    for (const tenantId of ['acme_corp', 'globex']) {
      await writeProfileCache(t.redis, t.keys, tenantId, STARTER);
      await t.redis.sadd(t.keys.tenantIndex(), tenantId);
    }
  });
  afterEach(async () => t.cleanup());

  const eventCount = async (): Promise<number> => {
    const { rows } = await wh.warehouse.query<{ n: number }>('SELECT COUNT(*) AS n FROM `tenants.tenant_usage_quotas_events`');
    return Number(rows[0]?.n);
  };
  const usageRows = async (day: string) =>
    (
      await wh.warehouse.query(
        'SELECT tenant_id, pipelines_run_today, pipelines_succeeded_today, pipelines_failed_today, pipelines_run_month, concurrent_pipelines_running FROM `tenants.tenant_usage_quotas` WHERE usage_date = @day ORDER BY tenant_id',
        { params: { day }, paramTypes: { day: 'DATE' } },
      )
    ).rows;

  describe('when a tenant ran pipelines', () => {
    it("writes today's row, which the guide's SQL finds, and the latest snapshot wins", async () => {
      const clock = new ManualClock(Date.now());
      const admission = new Admission({ redis: t.redis, keys: t.keys, clock });
      await admission.admit({ tenantId: 'acme_corp', runId: randomUUID(), leaseMs: 60_000 });
      expect(await refreshUsageRows(deps, clock.now())).to.deep.equal({ tenants: 1 });

      await admission.admit({ tenantId: 'acme_corp', runId: randomUUID(), leaseMs: 60_000 });
      clock.advance(60_000);
      await refreshUsageRows(deps, clock.now());

      const { rows } = await wh.warehouse.query(GUIDE_SQL);
      expect(rows).to.deep.equal([{ tenant_id: 'acme_corp', pipelines_run_today: 2, daily_limit: 6, remaining: 4 }]);
    });
  });

  describe('when nothing changed since the last refresh', () => {
    it('writes nothing', async () => {
      const clock = new ManualClock('2025-03-10T12:00:00.000Z');
      await new Admission({ redis: t.redis, keys: t.keys, clock }).admit({ tenantId: 'globex', runId: randomUUID(), leaseMs: 1 });
      await refreshUsageRows(deps, clock.now());
      const before = await eventCount();
      expect(await refreshUsageRows(deps, clock.now())).to.deep.equal({ tenants: 0 });
      expect(await eventCount()).to.equal(before);
    });
  });

  describe('when the warehouse write fails', () => {
    it('keeps the tenants marked, so the next refresh writes them', async () => {
      await t.redis.sadd(t.keys.usageDirty(), 'acme_corp');
      const failing: Warehouse = Object.assign(Object.create(wh.warehouse) as Warehouse, {
        insertRows: async () => {
          throw new Error('warehouse down');
        },
      });
      let failed = false;
      await refreshUsageRows({ ...deps, warehouse: failing }, new Date('2025-03-10T12:00:00Z')).catch(() => {
        failed = true;
      });
      expect(failed).to.equal(true);
      expect(await t.redis.smembers(t.keys.usageDirty())).to.deep.equal(['acme_corp']);
    });
  });

  describe('when the previous UTC day is closed', () => {
    it('writes its final row and an opening row for every tenant, drops old keys, and does it once', async () => {
      const clock = new ManualClock('2025-03-10T22:00:00.000Z');
      const admission = new Admission({ redis: t.redis, keys: t.keys, clock });
      const done = randomUUID();
      await admission.admit({ tenantId: 'acme_corp', runId: done, leaseMs: 60_000 });
      await admission.admit({ tenantId: 'acme_corp', runId: randomUUID(), leaseMs: 60_000 });
      await admission.release('acme_corp', done, 'COMPLETED');
      const oldDay = t.keys.dailyUsage('acme_corp', '2025-03-08');
      await t.redis.hset(oldDay, 'run', '4');

      clock.set('2025-03-11T00:00:05.000Z');
      const first = await resetDailyQuotas(deps, clock.now());
      expect(first).to.deep.equal({ closedDay: '2025-03-10', alreadyClosed: false, tenants: 2 });
      expect(await usageRows('2025-03-10')).to.deep.equal([
        { tenant_id: 'acme_corp', pipelines_run_today: 2, pipelines_succeeded_today: 1, pipelines_failed_today: 0, pipelines_run_month: 2, concurrent_pipelines_running: 1 },
        { tenant_id: 'globex', pipelines_run_today: 0, pipelines_succeeded_today: 0, pipelines_failed_today: 0, pipelines_run_month: 0, concurrent_pipelines_running: 0 },
      ]);
      expect((await usageRows('2025-03-11')).map((r) => [r.tenant_id, r.pipelines_run_today, r.pipelines_run_month])).to.deep.equal([
        ['acme_corp', 0, 2],
        ['globex', 0, 0],
      ]);
      expect(await t.redis.exists(oldDay)).to.equal(0);
      expect(await t.redis.exists(t.keys.dailyUsage('acme_corp', '2025-03-10')), 'the closed day stays for late refunds').to.equal(1);

      const events = await eventCount();
      clock.advance(60_000);
      expect(await resetDailyQuotas(deps, clock.now())).to.deep.equal({ closedDay: '2025-03-10', alreadyClosed: true, tenants: 0 });
      expect(await eventCount()).to.equal(events);
    });

    it('can be retried after a failed attempt', async () => {
      const failing: Warehouse = Object.assign(Object.create(wh.warehouse) as Warehouse, {
        insertRows: async () => {
          throw new Error('warehouse down');
        },
      });
      const now = new Date('2025-03-11T00:00:05.000Z');
      let failed = false;
      await resetDailyQuotas({ ...deps, warehouse: failing }, now).catch(() => {
        failed = true;
      });
      expect(failed).to.equal(true);
      expect((await resetDailyQuotas(deps, now)).alreadyClosed).to.equal(false);
    });
  });
});
