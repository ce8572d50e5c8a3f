import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { dependencyUnavailable } from '../shared/errors';
import { tryLock } from '../redis/lock';
import type { HeldLock } from '../redis/lock';

export interface WebhookLockDeps {
  redis: RedisClient;
  keys: RedisKeys;
}

const LOCK_TTL_MS = 10_000;
const WAIT_STEP_MS = 50;
const MAX_WAIT_MS = 5_000;

/**
 * Runs `fn` while holding the tenant's webhook lock (SET NX PX). Every change of an endpoint takes it and
 * re-reads the endpoint inside (creation, PATCH, delete, rotation, the worker's disable, offboarding), so no
 * change writes back a copy read before another one; it is held for one warehouse write, and a holder that
 * died frees it after LOCK_TTL_MS.
 */
export async function withTenantWebhookLock<T>(deps: WebhookLockDeps, tenantId: string, fn: () => Promise<T>): Promise<T> {
  const key = deps.keys.webhookLock(tenantId);
  let lock: HeldLock | null = null;
  for (let waited = 0; ; waited += WAIT_STEP_MS) {
    lock = await tryLock(deps.redis, key, LOCK_TTL_MS);
    if (lock) break;
    if (waited >= MAX_WAIT_MS) throw dependencyUnavailable('The webhook lock');
    await new Promise((r) => setTimeout(r, WAIT_STEP_MS));
  }
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
