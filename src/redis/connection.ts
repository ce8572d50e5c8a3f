import Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';

export type { Redis };

export interface RedisConnectOptions {
  /** Fail commands fast when disconnected (API): no offline queue, bounded command time. */
  failFast?: boolean;
  commandTimeoutMs?: number;
  /** BullMQ workers need `maxRetriesPerRequest: null`. */
  forBullMQ?: boolean;
  connectionName?: string;
}

export function createRedis(url: string, options: RedisConnectOptions = {}): Redis {
  const base: RedisOptions = {
    lazyConnect: false,
    connectionName: options.connectionName,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  };
  if (options.forBullMQ) {
    return new Redis(url, { ...base, maxRetriesPerRequest: null, enableReadyCheck: false });
  }
  if (options.failFast) {
    return new Redis(url, {
      ...base,
      enableOfflineQueue: false,
      // Commands issued in the same tick by concurrent requests share one round trip.
      enableAutoPipelining: true,
      // ioredis sends one auto-pipeline at a time, so while Redis is frozen a batch waits for the previous
      // batch's timeout before its own starts: 2 x commandTimeout. The first command of a request (the
      // API-key and profile lookups) and the readiness ping go out at once instead, so a request meets
      // a frozen Redis after one timeout and answers 503 DEPENDENCY_UNAVAILABLE well inside 2 s.
      autoPipeliningIgnoredCommands: ['hgetall', 'ping'],
      maxRetriesPerRequest: 1,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: options.commandTimeoutMs ?? 1000,
    });
  }
  return new Redis(url, { ...base, maxRetriesPerRequest: 3 });
}

/** Waits until the connection is ready or fails after `timeoutMs`. */
export async function waitForReady(redis: Redis, timeoutMs = 5000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Closes a connection, falling back to disconnect when QUIT cannot be sent. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
