/**
 * Redis cost of one trigger, counted at the server: the API runs against a private redis-server (so other
 * clients of the shared Redis cannot blur the counts), and `INFO commandstats` / `INFO stats` are read
 * before and after a batch of triggers.
 *
 * - commands per trigger: the delta of every command's `calls`, divided by the triggers sent;
 * - round trips per trigger: the delta of `total_reads_processed` (each socket read the server handles is
 *   one batch a client sent) with requests sent one at a time, so no two triggers share a pipeline. It
 *   bounds the trigger's sequential waits on Redis from above: commands sent together but in separate
 *   writes (two concurrent consumes, a mark sent without waiting for it) may count as two reads.
 *
 * The API's own idle traffic in the window (readiness, BullMQ's housekeeping) is included; it is small
 * against a few hundred triggers.
 */
import autocannon from 'autocannon';
import Redis from 'ioredis';

export interface RedisCounters {
  calls: Record<string, number>;
  reads: number;
}

export interface RedisCostFigures {
  triggers: number;
  commandsPerTrigger: number;
  roundTripsPerTrigger: number;
  /** The commands of one trigger by name (calls per trigger, largest first). */
  byCommand: Record<string, number>;
}

export async function readRedisCounters(url: string): Promise<RedisCounters> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const [commandstats, stats] = await Promise.all([redis.info('commandstats'), redis.info('stats')]);
    const calls: Record<string, number> = {};
    for (const m of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1] ?? ''] = Number(m[2]);
    const reads = Number(/^total_reads_processed:(\d+)/m.exec(stats)?.[1] ?? 0);
    return { calls, reads };
  } finally {
    redis.disconnect();
  }
}

/** What happened between two readings, per trigger; the reading's own INFO calls are left out. */
export function costBetween(before: RedisCounters, after: RedisCounters, triggers: number): RedisCostFigures {
  const byCommand: Record<string, number> = {};
  let commands = 0;
  for (const [name, calls] of Object.entries(after.calls)) {
    const own = name === 'info' ? 2 : 0;
    const delta = calls - (before.calls[name] ?? 0) - own;
    if (delta <= 0) continue;
    commands += delta;
    byCommand[name] = Math.round((delta / triggers) * 100) / 100;
  }
  // Each reading connects, asks twice, and the server reads at least once per request.
  const ownReads = 3;
  const sorted = Object.fromEntries(Object.entries(byCommand).sort((a, b) => b[1] - a[1]));
  return { triggers, commandsPerTrigger: commands / triggers, roundTripsPerTrigger: Math.max(0, after.reads - before.reads - ownReads) / triggers, byCommand: sorted };
}

/** Sends `triggers` requests one after the other (one connection) and counts what Redis did for them. */
export async function measureRedisCost(options: {
  redisUrl: string;
  baseUrl: string;
  path: string;
  headers: Record<string, string>;
  triggers: number;
}): Promise<RedisCostFigures> {
  let n = 1e9 + Math.floor(Math.random() * 1e8);
  const before = await readRedisCounters(options.redisUrl);
  const result = await autocannon({
    url: options.baseUrl,
    connections: 1,
    amount: options.triggers,
    requests: [
      {
        method: 'POST',
        path: options.path,
        headers: { 'Content-Type': 'application/json', ...options.headers },
        setupRequest: (req) => {
          n += 1;
          return { ...req, body: JSON.stringify({ n }) };
        },
      },
    ],
  });
  const after = await readRedisCounters(options.redisUrl);
  const accepted = result.statusCodeStats?.['202']?.count ?? 0;
  if (accepted !== options.triggers) throw new Error(`redis cost: ${accepted} of ${options.triggers} triggers answered 202`);
  return costBetween(before, after, options.triggers);
}

/** redis-server's own CPU so far (INFO cpu: used_cpu_sys + used_cpu_user), ms. */
export async function redisCpuMs(url: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    const info = await redis.info('cpu');
    const field = (name: string): number => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(info)?.[1] ?? 0);
    return (field('used_cpu_sys') + field('used_cpu_user')) * 1000;
  } finally {
    redis.disconnect();
  }
}

export interface CpuCostFigures {
  requests: number;
  /** CPU of the serving process per request (all its threads, user + system, from /proc), µs. */
  processCpuUsPerRequest: number;
  /** redis-server's CPU per request (INFO cpu deltas), µs; the server must serve nothing else. */
  redisCpuUsPerRequest: number;
}

/**
 * CPU per request of a process and of its (private) redis-server, under load: `requests` POSTs with a fresh
 * `{"n": i}`, `connections` at a time. CPU, not wall time, so the figure holds on a shared machine.
 */
export async function measureCpuCost(options: {
  redisUrl: string;
  baseUrl: string;
  pathOf: (n: number) => string;
  headers: Record<string, string>;
  requests: number;
  connections: number;
  /** CPU ms so far of the serving process (e.g. cpuMsOf(pid)). */
  processCpuMs: () => number;
}): Promise<CpuCostFigures> {
  let n = 2e9 + Math.floor(Math.random() * 1e8);
  const redis0 = await redisCpuMs(options.redisUrl);
  const process0 = options.processCpuMs();
  const result = await autocannon({
    url: options.baseUrl,
    connections: options.connections,
    amount: options.requests,
    requests: [
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...options.headers },
        setupRequest: (req) => {
          n += 1;
          return { ...req, path: options.pathOf(n), body: JSON.stringify({ n }) };
        },
      },
    ],
  });
  const processMs = options.processCpuMs() - process0;
  const redisMs = (await redisCpuMs(options.redisUrl)) - redis0;
  const accepted = result.statusCodeStats?.['202']?.count ?? 0;
  if (accepted !== options.requests) throw new Error(`cpu cost: ${accepted} of ${options.requests} requests answered 202`);
  return { requests: options.requests, processCpuUsPerRequest: (processMs * 1000) / options.requests, redisCpuUsPerRequest: (redisMs * 1000) / options.requests };
}
