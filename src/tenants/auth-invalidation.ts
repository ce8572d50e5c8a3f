import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Logger } from '../shared/logger';
import type { AuthCache } from './auth-cache';

/**
 * How a change to a key or a tenant reaches every API process's AuthCache: the process making the change
 * forgets at once (so its own next request sees it) and publishes `k:<hash>` / `t:<tenant>` on the
 * changes channel; every subscribed process forgets on receipt. Redis pub/sub is fire-and-forget, so
 * the cache is live only while the channel is subscribed (see AuthCache.setLive). A message is
 * `<origin> k:<hash>` or `<origin> t:<tenant>`; a process skips its own (it forgot before publishing,
 * after the change was written, so nothing it reads afterwards is stale).
 */
export interface AuthChanges {
  keyChanged(keyHash: string): Promise<void>;
  tenantChanged(tenantId: string): Promise<void>;
}

const KEY = 'k:';
const TENANT = 't:';

export function createAuthChanges(deps: { redis: RedisClient; keys: RedisKeys; cache: AuthCache; logger: Logger }): AuthChanges {
  const announce = async (message: string): Promise<void> => {
    try {
      await deps.redis.publish(deps.keys.authChangesChannel(), `${deps.cache.origin} ${message}`);
    } catch (err) {
      // The change itself is stored; other processes drop their copy when its TTL runs out (or already
      // did, when their channel dropped with the same Redis failure).
      deps.logger.warn({ err: (err as Error).message }, 'could not announce an API key or tenant change');
    }
  };
  return {
    async keyChanged(keyHash) {
      deps.cache.forgetKey(keyHash);
      await announce(`${KEY}${keyHash}`);
    },
    async tenantChanged(tenantId) {
      deps.cache.forgetTenant(tenantId);
      await announce(`${TENANT}${tenantId}`);
    },
  };
}

export interface AuthChangesSubscription {
  close(): void;
}

/**
 * Subscribes `subscriber` (a connection that may only subscribe; other channels may share it) to the
 * changes channel and keeps `cache` live exactly while the subscription stands: any drop clears it, and
 * it turns live again once re-subscribed after a reconnect.
 */
export async function subscribeAuthChanges(deps: { subscriber: RedisClient; keys: RedisKeys; cache: AuthCache; logger: Logger }): Promise<AuthChangesSubscription> {
  const channel = deps.keys.authChangesChannel();
  const { subscriber, cache } = deps;
  const onMessage = (from: string, message: string): void => {
    const space = message.indexOf(' ');
    if (from !== channel || space < 0 || message.slice(0, space) === cache.origin) return;
    const change = message.slice(space + 1);
    if (change.startsWith(KEY)) cache.forgetKey(change.slice(KEY.length));
    else if (change.startsWith(TENANT)) cache.forgetTenant(change.slice(TENANT.length));
  };
  const subscribe = async (): Promise<void> => {
    try {
      await subscriber.subscribe(channel);
      cache.setLive(true);
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message }, 'auth changes channel: subscribe failed; serving keys from Redis');
    }
  };
  const onDown = (): void => cache.setLive(false);
  const onReady = (): void => void subscribe();
  subscriber.on('message', onMessage);
  for (const event of ['close', 'end', 'reconnecting']) subscriber.on(event, onDown);
  subscriber.on('ready', onReady);
  await subscribe();
  return {
    close() {
      cache.setLive(false);
      subscriber.off('message', onMessage);
      for (const event of ['close', 'end', 'reconnecting']) subscriber.off(event, onDown);
      subscriber.off('ready', onReady);
      // Not awaited, and only on a live connection: while Redis is away a queued command would wait for it and
      // hold up shutdown; closing the connection ends the subscription anyway.
      if (subscriber.status === 'ready') void subscriber.unsubscribe(channel).catch(() => undefined);
    },
  };
}
