import type { Redis } from 'ioredis';
import type { RedisKeys } from '../redis/keys';
import { loadScript } from '../redis/scripts';

/** One config's last-run fields after a fire (or after its deferred run finally started). */
export interface ConfigSettlement {
  configId: string;
  fields: Record<string, string>;
}

/**
 * Writes many settlements in one pipelined round trip. The script is loaded first (one extra
 * round trip) so the pipelined EVALSHAs cannot fail with NOSCRIPT after a Redis restart.
 */
export async function settleConfigs(redis: Redis, keys: RedisKeys, settlements: ConfigSettlement[]): Promise<void> {
  if (settlements.length === 0) return;
  const { lua, sha } = loadScript('schedule-settle');
  await redis.script('LOAD', lua);
  const pipeline = redis.pipeline();
  for (const s of settlements) {
    pipeline.evalsha(sha, 1, keys.schedule(s.configId), ...Object.entries(s.fields).flat());
  }
  await pipeline.exec();
}
