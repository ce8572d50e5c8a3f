import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { dependencyUnavailable } from '../shared/errors';

export interface WebhookLockDeps {
  redis: RedisClient;
  keys: RedisKeys;
}

const LOCK_TTL_MS = 10_000;
const WAIT_STEP_MS = 50;
const MAX_WAIT_MS = 5_000;

/**
 * Runs `fn` while holding the tenant's webhook lock (SET NX PX). Only endpoint creation takes it, so it
 * is held for one warehouse write; a holder that died frees it after LOCK_TTL_MS.
 */
export async function withTenantWebhookLock<T>(deps: WebhookLockDeps, tenantId: string, fn: () => Promise<T>): Promise<T> {
  const key = deps.keys.webhookLock(tenantId);
  const token = randomBytes(8).toString('hex');
  for (let waited = 0; ; waited += WAIT_STEP_MS) {
    if ((await deps.redis.set(key, token, 'PX', LOCK_TTL_MS, 'NX')) === 'OK') break;
    if (waited >= MAX_WAIT_MS) throw dependencyUnavailable('The webhook lock');
    await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
  }
  try {
    return await fn();
  } finally {
    // Not atomic with the check, but the lock outlives any write by far; a lost race only frees it early.
    if ((await deps.redis.get(key)) === token) await deps.redis.del(key);
  }
}
