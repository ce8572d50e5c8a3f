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
    if (this.isFresh(key, nowMs)) return;
    const result = await confirm();
    if (result !== 'profile_missing') this.remember(key, nowMs);
  }

  /** Whether the seat was confirmed a moment ago (its check can be skipped). */
  isFresh(key: string, nowMs: number): boolean {
    const until = this.seen.get(key);
    return until !== undefined && until > nowMs;
  }

  /** Remembers a seat the atomic check just confirmed (known or added). */
  remember(key: string, nowMs: number): void {
    if (this.seen.size >= this.maxEntries) this.seen.clear();
    this.seen.set(key, nowMs + this.ttlMs);
  }

  forget(key: string): void {
    this.seen.delete(key);
  }
}
