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
  /** [code, runId] or, admitted, [1, runId, dispatch priority]. */
  admit: [number, string, number?];
  'provider-touch': number;
  refund: number;
  release: number;
  'run-cancel': [number, string];
  'run-start': [number, string];
  'run-terminal': [string, string];
  'run-late-steps': number;
  'run-progress': number;
  'schedule-claim': number[];
  'schedule-reclaim': number[];
  'schedule-record-outcome': number;
  'schedule-settle': number;
  'team-touch': number;
  /** The id holding the request, or SCRIPT_CODES.backfillLimit. */
  'backfill-create': string | number;
  'fanout-create': number;
  'fanout-cancel': number;
  'fanout-run-ended': number;
  'apikey-fill': number;
  'tenant-absent': number;
  'bytes-reserve': [number, number, number, number, string];
  'bytes-settle': number;
  'rate-limit': number[];
  /** -14 (endpoint gone) or the endpoint's failed deliveries in a row. */
  'webhook-attempt': number;
  'webhook-slot-take': number;
  /** Parked job ids to wake. */
  'webhook-slot-give': string[];
}

export type ScriptName = keyof ScriptResults;

/**
 * How many KEYS each script takes (its header lists them). Declared at definition, as BullMQ does, so the
 * keys lead the command's arguments: ioredis routes an auto-pipelined custom command by its first
 * argument, which must then be a key, not the key count. `satisfies` keeps this table and ScriptResults equal.
 */
const KEY_COUNTS = {
  admit: 13, 'provider-touch': 2, refund: 7, release: 4, 'run-cancel': 1, 'run-start': 3, 'run-terminal': 1, 'run-late-steps': 1, 'run-progress': 1,
  'schedule-claim': 2, 'schedule-reclaim': 1, 'schedule-record-outcome': 1, 'schedule-settle': 1, 'team-touch': 2,
  'backfill-create': 3, 'fanout-create': 1, 'fanout-cancel': 1, 'fanout-run-ended': 1, 'apikey-fill': 1, 'tenant-absent': 2,
  'bytes-reserve': 4, 'bytes-settle': 3,
  'rate-limit': 2,
  'webhook-attempt': 3, 'webhook-slot-take': 3, 'webhook-slot-give': 3,
} satisfies Record<ScriptName, number>;
const SCRIPT_NAMES = Object.keys(KEY_COUNTS) as ScriptName[];

type ScriptCommand = (...keysAndArgs: (string | number)[]) => Promise<unknown>;

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
  for (const name of SCRIPT_NAMES) redis.defineCommand(commandName(name), { lua: loadScript(name), numberOfKeys: KEY_COUNTS[name] });
  defined.add(redis);
  return redis;
}

function commandOf(redis: RedisClient, name: ScriptName): ScriptCommand {
  defineScripts(redis); // a client made outside createRedis (tools, tests) is registered on first use
  // defineCommand adds the method at runtime; ioredis' types cannot know its name.
  return (redis as unknown as Record<string, ScriptCommand>)[commandName(name)]!.bind(redis);
}

/** As ioredis' own `retryDelayOnTryAgain`, which it applies to single commands but not to auto-pipelined batches. */
const TRYAGAIN_DELAY_MS = 100;

/**
 * Replies Redis gives before running anything, so the script did not run and one more call cannot count twice
 * (a lost reply is something else: it is never retried here).
 * `TRYAGAIN`: the cluster refused a multi-key command because the slot is being resharded and its keys are split
 * between two masters.
 * `NOSCRIPT`: the master does not have the script cached — a replica just promoted by a failover never had it
 * (scripts are not replicated). ioredis sends EVAL instead of EVALSHA on its own, except for an auto-pipelined
 * batch it sent again after a redirection (ioredis 5.11); after the NOSCRIPT it sends EVAL on that connection.
 */
const NOT_RUN = /^(TRYAGAIN|NOSCRIPT) /;
const notRun = (err: unknown): boolean => err instanceof Error && NOT_RUN.test(err.message);

export class ScriptRunner {
  constructor(private readonly redis: RedisClient) {}

  /** One retry after a `TRYAGAIN` or `NOSCRIPT` reply; a second one reaches the caller (the API answers 503). */
  async run<N extends ScriptName>(name: N, keys: string[], args: (string | number)[]): Promise<ScriptResults[N]> {
    if (keys.length !== KEY_COUNTS[name]) throw new Error(`script ${name} takes ${KEY_COUNTS[name]} keys, got ${keys.length}`);
    assertSingleSlot(`script ${name}`, keys);
    const command = commandOf(this.redis, name);
    try {
      return (await command(...keys, ...args)) as ScriptResults[N];
    } catch (err) {
      if (!notRun(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, TRYAGAIN_DELAY_MS));
      return (await command(...keys, ...args)) as ScriptResults[N];
    }
  }
}
