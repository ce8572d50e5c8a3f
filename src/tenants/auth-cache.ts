import { randomUUID } from 'node:crypto';

/**
 * This process's memory of API keys that authenticated: key hash → tenant and key id, so a trigger does
 * not ask Redis who it is. Three things keep it honest:
 * - every change (revoke, rotate, issue, plan or status change) is announced on a Redis channel and drops
 *   the entry (or all of a tenant's) on every process (auth-invalidation.ts) — within milliseconds;
 * - entries live `ttlMs` at most, so a missed announcement heals on its own;
 * - the cache is off (`live` false) while the announcement channel is not subscribed, and cleared when
 *   it drops: announcements sent meanwhile are lost, so nothing remembered from before may be served.
 * A rotated key's grace end is kept in the entry and checked on every request, so the old key stops at
 * its `expires_at` to the millisecond. Only successes are remembered: unknown or refused keys are not
 * kept (no negative entries an attacker could fill), and the entry count is capped (oldest out first).
 */
export interface CachedAuth {
  tenantId: string;
  keyId: string;
  /** Epoch ms after which the key stops working (rotation grace), or null. */
  expiresAtMs: number | null;
}

interface Entry extends CachedAuth {
  storedAtMs: number;
}

export const AUTH_CACHE_TTL_MS = 5_000;
export const AUTH_CACHE_MAX_ENTRIES = 10_000;

export class AuthCache {
  /** Names this process's announcements, so it skips their echo (it forgot at once when it made them). */
  readonly origin = randomUUID();
  private readonly entries = new Map<string, Entry>();
  /** Bumped by every invalidation: a lookup that started before one must not store what it read. */
  private generation = 0;
  private live = false;

  constructor(private readonly options: { ttlMs?: number; maxEntries?: number } = {}) {}

  private get ttlMs(): number {
    return this.options.ttlMs ?? AUTH_CACHE_TTL_MS;
  }

  /** The remembered success for this hash, or undefined (absent, too old, or the cache is not live). */
  get(keyHash: string, nowMs: number): CachedAuth | undefined {
    if (!this.live) return undefined;
    const entry = this.entries.get(keyHash);
    if (!entry) return undefined;
    if (nowMs - entry.storedAtMs >= this.ttlMs) {
      this.entries.delete(keyHash);
      return undefined;
    }
    return entry;
  }

  /** Taken before reading Redis; `set` stores only if no invalidation came in between. */
  ticket(): number {
    return this.generation;
  }

  set(keyHash: string, value: CachedAuth, nowMs: number, ticket: number): void {
    if (!this.live || ticket !== this.generation || this.ttlMs === 0) return;
    this.entries.delete(keyHash);
    this.entries.set(keyHash, { ...value, storedAtMs: nowMs });
    const max = this.options.maxEntries ?? AUTH_CACHE_MAX_ENTRIES;
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= max) break;
      this.entries.delete(oldest);
    }
  }

  forgetKey(keyHash: string): void {
    this.generation += 1;
    this.entries.delete(keyHash);
  }

  forgetTenant(tenantId: string): void {
    this.generation += 1;
    for (const [hash, entry] of this.entries) if (entry.tenantId === tenantId) this.entries.delete(hash);
  }

  /** Announcements can be trusted (true) or may have been missed (false: everything is dropped). */
  setLive(live: boolean): void {
    this.generation += 1;
    if (!live) this.entries.clear();
    this.live = live;
  }

  get size(): number {
    return this.entries.size;
  }
}
