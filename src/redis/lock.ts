import { randomBytes } from 'node:crypto';
import type { RedisClient } from './connection';

/** A lock held in Redis by this caller (SET NX PX with a random token). */
export interface HeldLock {
  /** Extends the lock to `ttlMs` from now, only while this caller still holds it; false when it no longer does. */
  renew(): Promise<boolean>;
  /** Frees the lock, only if this caller still holds it (it may have lapsed and been taken by another). */
  release(): Promise<void>;
}

/**
 * Takes `key` for `ttlMs` if nobody holds it; null otherwise. A holder that dies frees it when the TTL runs out.
 * Renew and release compare the token first, then act: not one atomic step, so a lock that lapses between the
 * two can be freed (or extended) for its next holder. Callers keep their TTLs far above their work, and every
 * guarded section is safe to repeat; that is the contract, not mutual exclusion under every clock.
 */
export async function tryLock(redis: RedisClient, key: string, ttlMs: number): Promise<HeldLock | null> {
  const token = randomBytes(12).toString('hex');
  if ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return null;
  const ours = async (): Promise<boolean> => (await redis.get(key)) === token;
  return {
    renew: async () => {
      if (!(await ours())) return false;
      await redis.pexpire(key, ttlMs);
      return true;
    },
    release: async () => {
      if (await ours()) await redis.del(key);
    },
  };
}
