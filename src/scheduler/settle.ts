import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';

/** One config's last-run fields after a fire (or after its deferred run finally started). */
export interface ConfigSettlement {
  tenantId: string;
  configId: string;
  fields: Record<string, string>;
}

/**
 * Writes many settlements at once. Config hashes live in their tenants' slots (on a cluster, on
 * different nodes), so each is its own script call; issued together they share a round trip per
 * node through auto-pipelining, and a node that lacks the script loads it on NOSCRIPT.
 */
export async function settleConfigs(redis: RedisClient, keys: RedisKeys, settlements: ConfigSettlement[]): Promise<void> {
  const scripts = new ScriptRunner(redis);
  await Promise.all(
    settlements.map((s) => scripts.run('schedule-settle', [keys.schedule(s.tenantId, s.configId)], Object.entries(s.fields).flat())),
  );
}
