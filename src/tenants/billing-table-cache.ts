import type { ResolvedTable } from '../warehouse/tenant-table';
import { billingExportTable } from './provider-settings';
import type { TenantDeps } from './tenant-deps';

export interface BillingTableCacheOptions {
  /** How long a tenant's resolved table is reused before the settings are read again. */
  ttlMs: number;
  /** Tenants remembered at most; the least recently used one is evicted beyond it. */
  maxEntries: number;
  /** Wall time for the expiry (not the run clock, which tests may freeze); Date.now by default. */
  nowMs?: () => number;
}

/**
 * The GCP billing export table of each tenant (provider settings, resolved for the tenant), remembered
 * briefly per process so every run and validation does not read the settings table. Bounded: expired
 * entries are dropped on read and the least recently used tenant goes when the cache is full. A
 * refusal (an unusable stored value) is never cached. The lookup itself is shared: a hundred runs of one
 * tenant starting together make one settings query, not a hundred (on BigQuery each is a query job).
 */
export class BillingTableCache {
  private readonly entries = new Map<string, { table: Promise<ResolvedTable | null>; untilMs: number }>();

  constructor(
    private readonly deps: Pick<TenantDeps, 'warehouse' | 'tableScope'>,
    private readonly options: BillingTableCacheOptions = { ttlMs: 30_000, maxEntries: 10_000 },
  ) {}

  get(tenantId: string): Promise<ResolvedTable | null> {
    const nowMs = (this.options.nowMs ?? Date.now)();
    const hit = this.entries.get(tenantId);
    this.entries.delete(tenantId);
    if (hit && hit.untilMs > nowMs) {
      this.entries.set(tenantId, hit); // most recently used last
      return hit.table;
    }
    const table = billingExportTable(this.deps, tenantId);
    const entry = { table, untilMs: nowMs + this.options.ttlMs };
    this.entries.set(tenantId, entry);
    table.catch(() => {
      if (this.entries.get(tenantId) === entry) this.entries.delete(tenantId);
    });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
    return table;
  }

  size(): number {
    return this.entries.size;
  }
}
