import { randomBytes } from 'node:crypto';
import { createRedis, closeRedis } from '../../src/redis/connection';
import type { Redis } from '../../src/redis/connection';
import { RedisKeys } from '../../src/redis/keys';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestRedis {
  redis: Redis;
  keys: RedisKeys;
  prefix: string;
  /** Deletes every key under this test's prefix (BullMQ's included) and closes the connection. */
  cleanup(): Promise<void>;
}

/** A Redis connection plus a key namespace private to one test, so tests never see each other. */
export async function createTestRedis(): Promise<TestRedis> {
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const redis = createRedis(TEST_REDIS_URL);
  const keys = new RedisKeys(prefix);
  return {
    redis,
    keys,
    prefix,
    async cleanup() {
      await deleteByPattern(redis, `${prefix}:*`);
      await deleteByPattern(redis, `{${prefix}:*`);
      await closeRedis(redis);
    },
  };
}

export async function deleteByPattern(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) await redis.unlink(...found);
  } while (cursor !== '0');
}
