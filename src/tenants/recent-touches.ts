import type { TouchResult } from './team-and-providers';

/**
 * Remembers, per process and for a short while, which team members and providers were just confirmed
 * as known, so the request path skips the Redis script for them. Only a confirmed seat is remembered:
 * a new member or provider always goes through the atomic limit check.
 */
export class RecentTouches {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 50_000,
  ) {}

  async touch(key: string, nowMs: number, confirm: () => Promise<TouchResult>): Promise<void> {
    const until = this.seen.get(key);
    if (until !== undefined && until > nowMs) return;
    const result = await confirm();
    if (result === 'profile_missing') return;
    if (this.seen.size >= this.maxEntries) this.seen.clear();
    this.seen.set(key, nowMs + this.ttlMs);
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}
