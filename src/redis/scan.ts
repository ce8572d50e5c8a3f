import { Cluster } from 'ioredis';
import type { Redis } from 'ioredis';
import type { RedisClient } from './connection';

/**
 * Every key matching `pattern`, on one server or on every master of a cluster (SCAN is per node there).
 * Keys may repeat (SCAN's guarantee); the result is de-duplicated. For rare admin work (offboarding), never
 * on a request path.
 */
export async function scanEveryMaster(redis: RedisClient, pattern: string, count = 1000): Promise<string[]> {
  const nodes: Redis[] = redis instanceof Cluster ? redis.nodes('master') : [redis];
  const found = new Set<string>();
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, batch] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      for (const key of batch) found.add(key);
      cursor = next;
    } while (cursor !== '0');
  }
  return [...found];
}

/** Members of a sorted set or set matching `pattern` (ZSCAN / SSCAN), de-duplicated. */
export async function scanMembers(redis: RedisClient, kind: 'zset' | 'set', key: string, pattern: string): Promise<string[]> {
  const found = new Set<string>();
  let cursor = '0';
  do {
    const [next, batch] = kind === 'zset' ? await redis.zscan(key, cursor, 'MATCH', pattern, 'COUNT', 1000) : await redis.sscan(key, cursor, 'MATCH', pattern, 'COUNT', 1000);
    // ZSCAN answers member, score, member, score…
    const members = kind === 'zset' ? batch.filter((_, i) => i % 2 === 0) : batch;
    for (const m of members) found.add(m);
    cursor = next;
  } while (cursor !== '0');
  return [...found];
}
