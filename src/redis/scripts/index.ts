import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { RedisClient } from '../connection';
import { assertSingleSlot } from '../slots';

/**
 * Atomic Redis work lives in `*.lua` files beside this loader, each with a header naming its
 * KEYS, ARGV and return values. `ScriptRunner` runs them by SHA and loads them on NOSCRIPT,
 * so a Redis restart or failover is transparent. On a cluster a script runs on the node of its
 * keys' slot, so every call's KEYS must share one slot (checked before sending, on any server).
 */
export type ScriptName = string;

const cache = new Map<string, { lua: string; sha: string }>();

export function loadScript(name: ScriptName): { lua: string; sha: string } {
  const hit = cache.get(name);
  if (hit) return hit;
  const lua = fs.readFileSync(path.join(__dirname, `${name}.lua`), 'utf8');
  const entry = { lua, sha: createHash('sha1').update(lua).digest('hex') };
  cache.set(name, entry);
  return entry;
}

export class ScriptRunner {
  constructor(private readonly redis: RedisClient) {}

  async run<T = unknown>(name: ScriptName, keys: string[], args: (string | number)[]): Promise<T> {
    assertSingleSlot(`script ${name}`, keys);
    const { lua, sha } = loadScript(name);
    try {
      return (await this.redis.evalsha(sha, keys.length, ...keys, ...args)) as T;
    } catch (err) {
      // Each cluster node has its own script cache: a node that never saw the script loads it here.
      if (err instanceof Error && err.message.includes('NOSCRIPT')) {
        return (await this.redis.eval(lua, keys.length, ...keys, ...args)) as T;
      }
      throw err;
    }
  }
}
