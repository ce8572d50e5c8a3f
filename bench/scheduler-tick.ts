/**
 * Scheduler tick benchmark: 100,000 schedules defined, 1,000 due. Times one tick (claim script,
 * config reads, cron advance, trigger, settle; trigger stubbed as a Redis INCR, warehouse as an
 * in-memory sink) against a bare baseline over the same 1,000 due ids (ZRANGEBYSCORE, then one
 * pipelined ZADD + INCR per id), and shows the tick costs the same with 1,000 defined (O(due)).
 *
 *   npx tsx bench/scheduler-tick.ts        (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { randomBytes } from 'node:crypto';
import cliProgress from 'cli-progress';
import { createRedis, closeRedis } from '../src/redis/connection';
import type { RedisClient } from '../src/redis/connection';
import { RedisKeys } from '../src/redis/keys';
import { encodeConfig } from '../src/scheduler/config-hash';
import { dueMember } from '../src/scheduler/due-index';
import { triggerDueSchedules } from '../src/scheduler/tick';
import type { TickDeps } from '../src/scheduler/tick';
import type { ScheduleConfig } from '../src/scheduler/types';
import type { Warehouse } from '../src/warehouse/types';

const DEFINED = 100_000;
const DUE = 1_000;
const ROUNDS = 5;
const NOW = new Date('2025-11-15T07:00:30Z');

export interface SchedulerTickBenchResult {
  tickMs: number;
  baselineMs: number;
  ratio: number;
  tickSmallMs: number;
  scaling: number;
}

const CRONS: [string, string][] = [
  ['0 2 * * *', 'America/New_York'],
  ['*/5 * * * *', 'UTC'],
  ['0 */6 * * *', 'Europe/Berlin'],
  ['30 1 * * 1-5', 'Asia/Tokyo'],
];

function config(i: number): ScheduleConfig {
  const [cron, tz] = CRONS[i % CRONS.length] as [string, string];
  return {
    config_id: `bench-${i}`,
    tenant_id: `tenant_${i % 200}`,
    provider: 'gcp',
    domain: 'cost',
    pipeline_template: 'billing_cost',
    schedule_cron: cron,
    timezone: tz,
    is_active: true,
    parameters: {},
    overlap_policy: 'allow',
    misfire_policy: 'run_once',
    last_run_time: null,
    last_run_status: null,
    last_run_id: null,
    created_at: '2025-11-01T00:00:00.000Z',
    updated_at: '2025-11-01T00:00:00.000Z',
  };
}

const member = (i: number): string => dueMember({ tenantId: config(i).tenant_id, configId: config(i).config_id });

/** A warehouse that only counts rows: the figure is the scheduler's, not the warehouse's. */
function sinkWarehouse(): Warehouse {
  const unsupported = async (): Promise<never> => {
    throw new Error('not used by the benchmark');
  };
  return {
    kind: 'duckdb',
    ping: async () => undefined,
    close: async () => undefined,
    datasetExists: async () => true,
    createDataset: async () => false,
    dropDataset: async () => undefined,
    tableExists: async () => true,
    createTable: async () => false,
    dropTable: async () => undefined,
    addColumns: async () => undefined,
    createView: async () => undefined,
    listTables: async () => [],
    insertRows: async () => undefined,
    query: unsupported,
    sandboxQuery: unsupported,
    dryRun: async () => null,
    exportTable: unsupported,
  };
}

async function define(redis: RedisClient, keys: RedisKeys, count: number, label: string): Promise<void> {
  const bar = new cliProgress.SingleBar({ format: `${label} [{bar}] {value}/{total}`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(count, 0);
  for (let start = 0; start < count; start += 5_000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(count, start + 5_000); i += 1) {
      const c = config(i);
      pipeline.hset(keys.schedule(c.tenant_id, c.config_id), encodeConfig(c));
      pipeline.zadd(keys.scheduleDue(), NOW.getTime() + 3_600_000 + i, member(i));
    }
    await pipeline.exec();
    bar.update(Math.min(count, start + 5_000));
  }
  bar.stop();
}

/** Makes the first DUE configs due again (as if their fire time had just come). */
async function makeDue(redis: RedisClient, keys: RedisKeys): Promise<void> {
  const pipeline = redis.pipeline();
  for (let i = 0; i < DUE; i += 1) pipeline.zadd(keys.scheduleDue(), NOW.getTime() - 20_000, member(i));
  await pipeline.exec();
}

async function timeTick(redis: RedisClient, keys: RedisKeys): Promise<number> {
  const counter = `${keys.prefix}:bench:triggers`;
  const deps: TickDeps = {
    redis,
    keys,
    warehouse: sinkWarehouse(),
    getRunStatus: async () => null,
    trigger: async (req) => {
      await redis.incr(counter);
      return { kind: 'created', pipelineLoggingId: req.runId ?? '', pipelineId: 'x', tenantId: req.tenantId, status: 'PENDING' };
    },
  };
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    await makeDue(redis, keys);
    const started = process.hrtime.bigint();
    const summary = await triggerDueSchedules(deps, NOW);
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (summary.triggered !== DUE) throw new Error(`tick triggered ${summary.triggered}, expected ${DUE}`);
  }
  return median(samples);
}

async function timeBaseline(redis: RedisClient, keys: RedisKeys): Promise<number> {
  const counter = `${keys.prefix}:bench:baseline`;
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    await makeDue(redis, keys);
    const started = process.hrtime.bigint();
    const ids = await redis.zrangebyscore(keys.scheduleDue(), '-inf', NOW.getTime());
    const pipeline = redis.pipeline();
    for (const id of ids) pipeline.zadd(keys.scheduleDue(), NOW.getTime() + 86_400_000, id).incr(counter);
    await pipeline.exec();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (ids.length !== DUE) throw new Error(`baseline saw ${ids.length} due, expected ${DUE}`);
  }
  return median(samples);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

async function withPrefix<T>(redis: RedisClient, fn: (keys: RedisKeys) => Promise<T>): Promise<T> {
  const keys = new RedisKeys(`bench${randomBytes(3).toString('hex')}`);
  try {
    return await fn(keys);
  } finally {
    for (const pattern of [`${keys.prefix}:*`, `{${keys.prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 5000);
        cursor = next;
        if (found.length > 0) await redis.unlink(...found);
      } while (cursor !== '0');
    }
  }
}

export async function runSchedulerTickBench(redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'): Promise<SchedulerTickBenchResult> {
  const redis = createRedis(redisUrl);
  try {
    const [tickMs, baselineMs] = await withPrefix(redis, async (keys) => {
      await define(redis, keys, DEFINED, `defining ${DEFINED} schedules`);
      await timeTick(redis, keys); // warm-up: script load, JIT, zone offset caches
      return [await timeTick(redis, keys), await timeBaseline(redis, keys)];
    });
    const tickSmallMs = await withPrefix(redis, async (keys) => {
      await define(redis, keys, DUE, `defining ${DUE} schedules`);
      return timeTick(redis, keys);
    });
    return { tickMs, baselineMs, ratio: tickMs / baselineMs, tickSmallMs, scaling: tickMs / tickSmallMs };
  } finally {
    await closeRedis(redis);
  }
}

if (require.main === module) {
  runSchedulerTickBench()
    .then((r) => {
      const f = (ms: number): string => `${ms.toFixed(1)} ms`;
      console.log(`scheduler tick, ${DUE} due of ${DEFINED} defined (median of ${ROUNDS}): ${f(r.tickMs)}`);
      console.log(`baseline ZRANGEBYSCORE + pipelined ZADD/INCR over the same ${DUE}:   ${f(r.baselineMs)}`);
      console.log(`ratio tick / baseline: ${r.ratio.toFixed(1)}x`);
      console.log(`tick with ${DUE} defined: ${f(r.tickSmallMs)}  →  ${DEFINED} defined / ${DUE} defined = ${r.scaling.toFixed(2)}x (O(due))`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
