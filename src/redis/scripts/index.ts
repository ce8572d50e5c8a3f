import fs from 'node:fs';
import path from 'node:path';
import type { RedisClient } from '../connection';
import { assertSingleSlot } from '../slots';

/**
 * Atomic Redis work lives in `*.lua` files beside this loader, each with a header naming its KEYS,
 * ARGV and return values. Like BullMQ, each script is registered on the client with ioredis'
 * `defineCommand`: it is sent by SHA and loaded on NOSCRIPT (per connection, so per cluster node),
 * which makes a Redis restart or failover transparent. On a cluster a script runs on the node of its
 * keys' slot, so every call's KEYS must share one slot — `ScriptRunner` checks that before sending,
 * on any server. Negative return codes become errors in one table: `./errors.ts`.
 */

/** What each script returns (see its header); `ScriptRunner.run` is typed by it. */
export interface ScriptResults {
  admit: [number, string];
  'provider-touch': number;
  refund: number;
  release: number;
  'run-cancel': [number, string];
  'run-start': [number, string];
  'run-terminal': string;
  'schedule-claim': number[];
  'schedule-reclaim': number[];
  'schedule-record-outcome': number;
  'schedule-settle': number;
  'team-touch': number;
}

export type ScriptName = keyof ScriptResults;

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

const texts = new Map<ScriptName, string>();
const defined = new WeakMap<RedisClient, Set<ScriptName>>();

export function loadScript(name: ScriptName): string {
  let lua = texts.get(name);
  if (lua === undefined) {
    lua = fs.readFileSync(path.join(__dirname, `${name}.lua`), 'utf8');
    texts.set(name, lua);
  }
  return lua;
}

/** The client's command for a script, defined on first use (`cv:` keeps clear of Redis' own names). */
function commandOf(redis: RedisClient, name: ScriptName): ScriptCommand {
  const command = `cv:${name}`;
  let names = defined.get(redis);
  if (!names) defined.set(redis, (names = new Set()));
  if (!names.has(name)) {
    redis.defineCommand(command, { lua: loadScript(name) });
    names.add(name);
  }
  // defineCommand adds the method at runtime; ioredis' types cannot know its name.
  return (redis as unknown as Record<string, ScriptCommand>)[command]!.bind(redis);
}

export class ScriptRunner {
  constructor(private readonly redis: RedisClient) {}

  async run<N extends ScriptName>(name: N, keys: string[], args: (string | number)[]): Promise<ScriptResults[N]> {
    assertSingleSlot(`script ${name}`, keys);
    return (await commandOf(this.redis, name)(keys.length, ...keys, ...args)) as ScriptResults[N];
  }
}
