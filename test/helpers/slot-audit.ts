/**
 * Watches every command this process sends to a Redis server and groups them the way Redis Cluster
 * judges them: each script call's KEYS, each MULTI's keys, each other command's keys. It wraps
 * ioredis' `sendCommand` (every command of every connection passes there, a MULTI's in one
 * synchronous loop) and calls the original: the real code runs against the real Redis; the audit only
 * reads what goes over the wire. (ioredis' diagnostics channel redacts most arguments, keys included.)
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Redis from 'ioredis';
import type { Command } from 'ioredis';
import { slotOf } from '../../src/redis/slots';

export interface SentUnit {
  /** `script admit`, `MULTI`, or a command name. */
  what: string;
  keys: string[];
}

const SCRIPTS_DIR = path.resolve(__dirname, '../../src/redis/scripts');

/** Every script of the product, by the SHA1 EVALSHA names it with and by its text (EVAL after NOSCRIPT). */
export const PRODUCT_SCRIPTS: string[] = fs.readdirSync(SCRIPTS_DIR).filter((f) => f.endsWith('.lua')).map((f) => f.slice(0, -4)).sort();
const scriptBySha = new Map(PRODUCT_SCRIPTS.map((name) => [sha1(fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.lua`), 'utf8')), name]));

function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

type SendCommand = (this: Redis, command: Command, ...rest: unknown[]) => unknown;
const proto = Redis.prototype as unknown as { sendCommand: SendCommand };

export interface SlotAudit {
  units: SentUnit[];
  /** Product scripts seen at least once. */
  scriptsSeen(): string[];
  /** Units whose keys hash to more than one slot. */
  crossSlot(): SentUnit[];
  stop(): void;
}

export function startSlotAudit(): SlotAudit {
  const units: SentUnit[] = [];
  let transaction: SentUnit | null = null;
  // A MULTI's commands are sent in one synchronous loop, so nothing else comes between MULTI and EXEC.
  const observe = (command: string, args: unknown[], keys: string[]): void => {
    if (command === 'multi') {
      transaction = { what: 'MULTI', keys: [] };
    } else if (command === 'exec' || command === 'discard') {
      if (transaction) units.push(transaction);
      transaction = null;
    } else if (transaction) {
      transaction.keys.push(...keys);
    } else if (command === 'evalsha' || command === 'eval') {
      const first = String(args[0] ?? '');
      units.push({ what: `script ${scriptBySha.get(command === 'eval' ? sha1(first) : first) ?? 'of a library'}`, keys });
    } else if (keys.length > 1) {
      units.push({ what: command, keys });
    }
  };
  // A command queued while offline passes sendCommand again when the queue is flushed: count it once.
  const seen = new WeakSet<Command>();
  const original = proto.sendCommand;
  proto.sendCommand = function (this: Redis, command: Command, ...rest: unknown[]) {
    if (!seen.has(command)) {
      seen.add(command);
      observe(command.name, command.args, command.getKeys().map(String));
    }
    return original.call(this, command, ...rest);
  };
  return {
    units,
    scriptsSeen: () => [...new Set(units.flatMap((u) => (u.what.startsWith('script ') ? [u.what.slice(7)] : [])))].filter((n) => PRODUCT_SCRIPTS.includes(n)).sort(),
    crossSlot: () => units.filter((u) => new Set(u.keys.map(slotOf)).size > 1),
    stop: () => {
      proto.sendCommand = original;
    },
  };
}
