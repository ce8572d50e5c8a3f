import { expect } from 'chai';
import { BillingTableCache } from '../../src/tenants/billing-table-cache';
import type { Warehouse } from '../../src/warehouse/types';
import { createSharedTenantEnv } from '../helpers/tenant-deps';
import type { SharedTenantEnv } from '../helpers/tenant-deps';
import { warehouseOutage } from '../helpers/warehouse-outage';
import { write } from '../../src/tenants/tenant-store';
import { tenantProviders } from '../../src/warehouse/tables';
import { beforeEachQuery } from '../helpers/warehouse-spy';

/** A gcp billing_export_table stored as a row, the way an old version or a hand-written row could have. */
async function storeBillingTable(warehouse: Warehouse, tenantId: string, value: string, at: Date): Promise<void> {
  await write(warehouse, tenantProviders, [{
    tenant_id: tenantId, provider: 'gcp', settings: JSON.stringify({ billing_export_table: value }),
    encrypted_credentials: null, is_deleted: false, created_at: at, updated_at: at,
  }], at, 'stream');
}

/** The real warehouse, counting the settings reads that reach it. */
function counting(inner: Warehouse): { warehouse: Warehouse; reads: () => number } {
  let reads = 0;
  const warehouse = beforeEachQuery(inner, () => {
    reads += 1;
  });
  return { warehouse, reads: () => reads };
}

describe('the billing export table cache', () => {
  let env: SharedTenantEnv;
  before(async () => {
    env = await createSharedTenantEnv();
  });
  after(async () => env.cleanup());

  describe('when more tenants ask than it may remember', () => {
    it('keeps at most maxEntries and evicts the least recently used tenant', async () => {
      const wh = counting(env.warehouse);
      const cache = new BillingTableCache({ warehouse: wh.warehouse, tableScope: { kind: 'duckdb' } }, { ttlMs: 60_000, maxEntries: 2 });
      for (const tenant of ['cache_a', 'cache_b', 'cache_a', 'cache_c']) expect(await cache.get(tenant)).to.equal(null);
      expect(cache.size()).to.equal(2);
      expect(wh.reads()).to.equal(3); // cache_a's second ask was a hit
      await cache.get('cache_a'); // still remembered: it was used after cache_b
      expect(wh.reads()).to.equal(3);
      await cache.get('cache_b'); // evicted by cache_c
      expect(wh.reads()).to.equal(4);
      expect(cache.size()).to.equal(2);
    });
  });

  describe('when an entry is older than ttlMs', () => {
    it('serves it while one background read refreshes it, then serves the refreshed one', async () => {
      const wh = counting(env.warehouse);
      let now = 1_000_000;
      const cache = new BillingTableCache({ warehouse: wh.warehouse, tableScope: { kind: 'duckdb' } }, { ttlMs: 30_000, maxEntries: 10, nowMs: () => now });
      await cache.get('cache_ttl');
      now += 29_999;
      await cache.get('cache_ttl');
      expect(wh.reads()).to.equal(1);
      now += 1;
      const stale = await Promise.all([cache.get('cache_ttl'), cache.get('cache_ttl'), cache.get('cache_ttl')]);
      expect(stale).to.deep.equal([null, null, null]);
      expect(wh.reads(), 'three asks of a stale entry start one read').to.equal(2);
      await new Promise((r) => setTimeout(r, 50)); // the background read lands
      now += 29_999;
      await cache.get('cache_ttl');
      expect(wh.reads(), 'the refreshed entry is fresh for another ttlMs').to.equal(2);
      expect(cache.size()).to.equal(1);
    });

    it('keeps serving it while the warehouse fails, until maxStaleMs has passed too', async () => {
      const outage = warehouseOutage(env.warehouse);
      let now = 1_000_000;
      const cache = new BillingTableCache({ warehouse: outage.warehouse, tableScope: { kind: 'duckdb' } }, { ttlMs: 30_000, maxEntries: 10, maxStaleMs: 60_000, nowMs: () => now });
      await cache.get('cache_stale');
      outage.down(['query']);
      now += 30_000 + 59_999;
      expect(await cache.get('cache_stale'), 'stale, refresh failing').to.equal(null);
      await new Promise((r) => setTimeout(r, 20));
      now += 1;
      const failed = await cache.get('cache_stale').then(() => null, (err: Error) => err);
      expect(failed?.message, 'too stale: the run waits for the read, which fails').to.equal('warehouse down');
      outage.up();
    });
  });

  describe('when a refresh finds a value the tenant may not read', () => {
    it('drops the entry instead of serving it stale: the next run fails with the refusal', async () => {
      let now = 1_000_000;
      const cache = new BillingTableCache({ warehouse: env.warehouse, tableScope: { kind: 'duckdb' } }, { ttlMs: 30_000, maxEntries: 10, nowMs: () => now });
      await storeBillingTable(env.warehouse, 'cache_ref', 'cache_ref.my_export', new Date('2026-12-01T00:00:00Z'));
      expect((await cache.get('cache_ref'))?.table).to.equal('my_export');
      await storeBillingTable(env.warehouse, 'cache_ref', 'other_tenant.secret_table', new Date('2026-12-01T00:00:01Z'));
      now += 30_000;
      expect((await cache.get('cache_ref'))?.table, 'stale while the refresh reads').to.equal('my_export');
      await new Promise((r) => setTimeout(r, 50));
      const refused = await cache.get('cache_ref').then(() => null, (err: { code?: string }) => err);
      expect(refused?.code).to.equal('INVALID_TABLE_REFERENCE');
    });
  });

  describe('when reading the settings fails', () => {
    it('remembers nothing, so the next ask reads again', async () => {
      const outage = warehouseOutage(env.warehouse);
      const cache = new BillingTableCache({ warehouse: outage.warehouse, tableScope: { kind: 'duckdb' } });
      outage.down(['query']);
      const failed = await cache.get('cache_down').then(() => null, (err: Error) => err);
      expect(failed?.message).to.equal('warehouse down');
      expect(cache.size()).to.equal(0);
      outage.up();
      expect(await cache.get('cache_down')).to.equal(null);
      expect(cache.size()).to.equal(1);
    });
  });
});
