import { randomBytes } from 'node:crypto';
import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import { createRedis, closeRedis, waitForReady } from '../../src/redis/connection';
import type { RedisClient, RedisTarget } from '../../src/redis/connection';
import { clusterAnswers, redisAnswers } from '../../src/redis/local-server';
import { RedisKeys } from '../../src/redis/keys';
import { defaultRedisTarget } from './redis-targets';

export { TEST_REDIS_URL } from './redis-targets';

export interface TestRedis {
  redis: RedisClient;
  keys: RedisKeys;
  prefix: string;
  /** Where `redis` points: the single test server or a cluster. */
  target: RedisTarget;
  /** Deletes every key under this test's prefix (BullMQ's included) and closes the connection. */
  cleanup(): Promise<void>;
}

/**
 * A Redis connection plus a key namespace private to one test, so tests never see each other. Without a
 * target: the suite's default (the single test server, or the cluster when TEST_REDIS=cluster).
 */
export async function createTestRedis(target?: RedisTarget): Promise<TestRedis> {
  const where = target ?? (await defaultRedisTarget());
  const prefix = `t${randomBytes(4).toString('hex')}`;
  const redis = createRedis(where);
  const keys = new RedisKeys(prefix);
  return {
    redis,
    keys,
    prefix,
    target: where,
    async cleanup() {
      await deletePrefix(redis, prefix);
      await closeRedis(redis);
    },
  };
}

/**
 * Deletes a finished test's keys with a connection of its own, unless that Redis is gone (a test may
 * have stopped its private server or cluster for good).
 */
export async function dropTestKeys(target: RedisTarget, prefix: string): Promise<void> {
  if (!(target.kind === 'cluster' ? await clusterAnswers(target.nodes, 1000) : await redisAnswers(target.url, 500))) return;
  const redis = createRedis(target);
  redis.on('error', () => undefined);
  try {
    await deletePrefix(redis, prefix);
  } finally {
    await closeRedis(redis);
  }
}

/** Removes a test's keys: the product's (`<prefix>:…`) and BullMQ's (`{<prefix>:bull}…`). */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  // A cluster client knows its masters only once it has read the slot map.
  await waitForReady(redis, 10_000);
  await deleteByPattern(redis, `${prefix}:*`);
  await deleteByPattern(redis, `{${prefix}:*`);
}

/** Every master of a cluster (each holds its own share of the keys), or the one server. */
export function mastersOf(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes('master') : [client];
}

/** Every key matching `pattern`, from every master of a cluster (KEYS and SCAN see one server). */
export async function keysMatching(redis: RedisClient, pattern: string): Promise<string[]> {
  const found: string[] = [];
  for (const node of mastersOf(redis)) found.push(...(await node.keys(pattern)));
  return found;
}

/**
 * SCAN walks one server, so on a cluster every master is scanned. Keys are unlinked one per command:
 * a multi-key UNLINK is refused by a cluster node when its keys sit in different slots.
 */
export async function deleteByPattern(redis: RedisClient, pattern: string): Promise<void> {
  for (const node of mastersOf(redis)) {
    let cursor = '0';
    do {
      const [next, found] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await Promise.all(found.map((key) => node.unlink(key)));
    } while (cursor !== '0');
  }
}
