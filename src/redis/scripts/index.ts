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

/** Every script once; `satisfies` makes the compiler refuse a name missing here or unknown above. */
const SCRIPT_NAMES = Object.keys({
  admit: true, 'provider-touch': true, refund: true, release: true, 'run-cancel': true, 'run-start': true, 'run-terminal': true,
  'schedule-claim': true, 'schedule-reclaim': true, 'schedule-record-outcome': true, 'schedule-settle': true, 'team-touch': true,
} satisfies Record<ScriptName, true>) as ScriptName[];

type ScriptCommand = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

const texts = new Map<ScriptName, string>();
const defined = new WeakSet<RedisClient>();

export function loadScript(name: ScriptName): string {
  let lua = texts.get(name);
  if (lua === undefined) {
    lua = fs.readFileSync(path.join(__dirname, `${name}.lua`), 'utf8');
    texts.set(name, lua);
  }
  return lua;
}

const commandName = (name: ScriptName): string => `cv:${name}`; // keeps clear of Redis' own command names

/**
 * Registers every script on a new client, before its first command: ioredis (5.11) builds each
 * auto-pipeline with the commands defined at that moment, so a script defined while a pipeline is
 * open fails inside it (redis/ioredis#1931). `createRedis` calls this for every connection.
 */
export function defineScripts<C extends RedisClient>(redis: C): C {
  if (defined.has(redis)) return redis;
  for (const name of SCRIPT_NAMES) redis.defineCommand(commandName(name), { lua: loadScript(name) });
  defined.add(redis);
  return redis;
}

function commandOf(redis: RedisClient, name: ScriptName): ScriptCommand {
  defineScripts(redis); // a client made outside createRedis (tools, tests) is registered on first use
  // defineCommand adds the method at runtime; ioredis' types cannot know its name.
  return (redis as unknown as Record<string, ScriptCommand>)[commandName(name)]!.bind(redis);
}

export class ScriptRunner {
  constructor(private readonly redis: RedisClient) {}

  async run<N extends ScriptName>(name: N, keys: string[], args: (string | number)[]): Promise<ScriptResults[N]> {
    assertSingleSlot(`script ${name}`, keys);
    return (await commandOf(this.redis, name)(keys.length, ...keys, ...args)) as ScriptResults[N];
  }
}
