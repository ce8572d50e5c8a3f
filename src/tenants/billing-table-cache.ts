import { isAppError } from '../shared/errors';
import type { ResolvedTable } from '../warehouse/tenant-table';
import { billingExportTable } from './provider-settings';
import type { TenantDeps } from './tenant-deps';

export interface BillingTableCacheOptions {
  /** How long a tenant's resolved table is reused before the settings are read again. */
  ttlMs: number;
  /** Tenants remembered at most; the least recently used one is evicted beyond it. */
  maxEntries: number;
  /**
   * How long past ttlMs an entry may still be served while its settings are read again in the background
   * (default 5 minutes). Past it — the warehouse has failed every refresh since — the next run waits for the read.
   */
  maxStaleMs?: number;
  /** Wall time for the expiry (not the run clock, which tests may freeze); Date.now by default. */
  nowMs?: () => number;
}

interface Entry {
  table: Promise<ResolvedTable | null>;
  /** Fresh until then; served stale (and refreshed) until `untilMs + maxStaleMs`. */
  untilMs: number;
  /** Set once `table` resolved: only a settled entry is served stale. */
  settled: boolean;
  refreshing?: Promise<void>;
}

/**
 * The GCP billing export table of each tenant (provider settings, resolved for the tenant), remembered
 * briefly per process so every run and validation does not read the settings table. Bounded: the least
 * recently used tenant goes when the cache is full. The lookup itself is shared: a hundred runs of one
 * tenant starting together make one settings query, not a hundred (on BigQuery each is a query job).
 *
 * Stale while revalidating: an entry past its TTL is still served while one background read refreshes it,
 * so a tenant's runs do not stall on a settings query every TTL (on BigQuery a query job, a second or so).
 * A settings change reaches the runs within ttlMs plus one read. A refusal (an unusable stored value) is
 * never cached nor served stale: the entry is dropped and the next run reads, and fails, again.
 */
export class BillingTableCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly deps: Pick<TenantDeps, 'warehouse' | 'tableScope'>,
    private readonly options: BillingTableCacheOptions = { ttlMs: 30_000, maxEntries: 10_000 },
  ) {}

  get(tenantId: string): Promise<ResolvedTable | null> {
    const nowMs = (this.options.nowMs ?? Date.now)();
    const hit = this.entries.get(tenantId);
    if (hit) {
      this.entries.delete(tenantId);
      const servable = hit.untilMs > nowMs || (hit.settled && hit.untilMs + (this.options.maxStaleMs ?? 300_000) > nowMs);
      if (servable) {
        this.entries.set(tenantId, hit); // most recently used last
        if (hit.untilMs <= nowMs) this.refresh(tenantId, hit);
        return hit.table;
      }
    }
    return this.load(tenantId, nowMs).table;
  }

  size(): number {
    return this.entries.size;
  }

  private load(tenantId: string, nowMs: number): Entry {
    const table = billingExportTable(this.deps, tenantId);
    const entry: Entry = { table, untilMs: nowMs + this.options.ttlMs, settled: false };
    this.entries.set(tenantId, entry);
    table.then(() => (entry.settled = true), () => {
      if (this.entries.get(tenantId) === entry) this.entries.delete(tenantId);
    });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.options.maxEntries) break;
      this.entries.delete(oldest);
    }
    return entry;
  }

  /** One background read per stale entry; the stale value is served until it lands. */
  private refresh(tenantId: string, stale: Entry): void {
    if (stale.refreshing) return;
    const nowMs = (this.options.nowMs ?? Date.now)();
    const table = billingExportTable(this.deps, tenantId);
    stale.refreshing = table.then(
      (value) => {
        if (this.entries.get(tenantId) !== stale) return;
        this.entries.set(tenantId, { table: Promise.resolve(value), untilMs: nowMs + this.options.ttlMs, settled: true });
      },
      (err: unknown) => {
        if (isAppError(err) && this.entries.get(tenantId) === stale) this.entries.delete(tenantId);
        else stale.refreshing = undefined; // the warehouse failed: keep serving stale, the next run tries again
      },
    );
  }
}
