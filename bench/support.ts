/**
 * What the benchmarks share: a configs/ copy with a bench plan and a parameterised dryrun template,
 * an in-process system on a private key prefix, and a few number helpers.
 *
 * Why a bench plan: the shipped plans cap a tenant at 100 runs a day and 10 at once, which a load test
 * passes in milliseconds; the plan is added to a temporary copy of configs/plans.yml (the real config
 * path), nothing in configs/ changes. Why a parameter: two identical triggers in flight return the
 * existing run (200), so a 202-only load needs distinct runs; `gcp/cost/dryrun_bench` is the shipped
 * dryrun template plus one integer parameter `n`, and each request sends a fresh `{"n": i}`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config';
import { closeRedis, createRedis } from '../src/redis/connection';
import { silentLogger } from '../src/shared/logger';
import { createSystem } from '../src/system/system';
import { bootstrapCentral } from '../src/tenants/bootstrap';
import type { System } from '../src/system/system';
import type { Warehouse } from '../src/warehouse/types';
import { configsWith } from '../test/helpers/processes';
import { deleteByPattern } from '../test/helpers/redis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BENCH_TENANT = 'bench_corp';
export const BENCH_PLAN = 'BENCH';
export const BENCH_TEMPLATE = { provider: 'gcp', domain: 'cost', name: 'dryrun_bench' };
export const BENCH_RUN_PATH = `/api/v1/pipelines/run/${BENCH_TENANT}/gcp/cost/dryrun_bench`;
/** One query step, one query job per run: `SELECT @n AS n` (the I/O-bound worker benchmark). */
export const QUERY_BENCH_TEMPLATE = { provider: 'gcp', domain: 'cost', name: 'query_bench' };

const REPO_ROOT = path.resolve(__dirname, '..');

/** Rate limits out of the way: the figures are the trigger path's, not the limiter's refusals. */
export const UNTHROTTLED_ENV: Record<string, string> = {
  RATE_LIMIT_RUN_PER_MINUTE: '1000000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '1000000000',
  RATE_LIMIT_IP_PER_MINUTE: '1000000000',
  RUN_RETENTION_COUNT: '1000000',
};

export function benchConfigs(): { dir: string; cleanup(): void } {
  const dryrun = fs.readFileSync(path.join(REPO_ROOT, 'configs/gcp/cost/dryrun.yml'), 'utf8');
  const plans = fs.readFileSync(path.join(REPO_ROOT, 'configs/plans.yml'), 'utf8');
  const parameter = 'parameters:\n  n:\n    type: integer\n    required: false\n    default: 0\n    description: Benchmark request number (makes each run distinct)\n';
  const benchPlan = `  ${BENCH_PLAN}:\n    daily_limit: 1000000000\n    monthly_limit: 1000000000\n    concurrent_limit: 1000000000\n    team_limit: 1000\n    provider_limit: 1000\n`;
  const queryBench = `description: Benchmark - one query job per run\nversion: 1.0.0\ntimeout_minutes: 5\n${parameter}steps:\n  - id: one_query\n    type: query\n    sql: "SELECT @n AS n"\n`;
  return configsWith({
    'gcp/cost/dryrun_bench.yml': dryrun.replace(/^steps:/m, `${parameter}steps:`),
    'gcp/cost/query_bench.yml': queryBench,
    'plans.yml': `${plans.trimEnd()}\n${benchPlan}`,
  });
}

export interface BenchSystem {
  system: System;
  prefix: string;
  /** Admits and enqueues `count` distinct runs of the bench template (n = from … from+count-1), `parallel` at a time. */
  triggerMany(count: number, from?: number, parallel?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** The product in this process (same composition as `npm start`), onboarding the bench tenant on the bench plan. */
export async function startBenchSystem(options: { warehouse: Warehouse; env?: Record<string, string> }): Promise<BenchSystem> {
  const prefix = `bench${randomBytes(3).toString('hex')}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-bench-'));
  const configs = benchConfigs();
  const config = loadConfig({
    NODE_ENV: 'test',
    PORT: '0',
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    CONFIGS_DIR: configs.dir,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    ADMIN_API_KEY: `admin_${randomBytes(12).toString('hex')}`,
    SCHEDULER_MODE: 'external',
    ...UNTHROTTLED_ENV,
    ...options.env,
  });
  const system = await createSystem(config, { logger: silentLogger(), warehouse: options.warehouse });
  // The api role bootstraps the central tables at start; the bench may start only a worker.
  await bootstrapCentral({ warehouse: options.warehouse });
  await system.apiDeps().tenants.onboard({ tenant_id: BENCH_TENANT, company_name: 'Bench Inc', admin_email: 'bench@bench.io', subscription_plan: BENCH_PLAN });
  const trigger = (n: number): Promise<string> =>
    system.runs
      .trigger({ tenantId: BENCH_TENANT, provider: BENCH_TEMPLATE.provider, domain: BENCH_TEMPLATE.domain, templateName: BENCH_TEMPLATE.name, parameters: { n }, userId: null, triggerType: 'api' })
      .then((r) => r.pipelineLoggingId);
  return {
    system,
    prefix,
    async triggerMany(count, from = 0, parallel = 50) {
      const ids: string[] = [];
      for (let start = 0; start < count; start += parallel) {
        const batch = Array.from({ length: Math.min(parallel, count - start) }, (_, i) => trigger(from + start + i));
        ids.push(...(await Promise.all(batch)));
      }
      return ids;
    },
    async close() {
      await system.close();
      await dropPrefix(prefix);
      configs.cleanup();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function dropPrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = createRedis(url);
  await deleteByPattern(redis, `${prefix}:*`);
  await deleteByPattern(redis, `{${prefix}:*`);
  await closeRedis(redis);
}

/** Polls until `done()` or the deadline; returns the elapsed ms. */
export async function until(what: string, done: () => Promise<boolean>, timeoutMs = 120_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** CPU time a process (all its threads) or one of its threads has used so far (user + system), ms, from /proc. */
export function cpuMsOf(pid: number, thread?: number): number {
  const stat = fs.readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
/** USER_HZ; 100 on every Linux the benchmarks run on (`getconf CLK_TCK`). */
const CLOCK_TICKS = 100;

/** Redis commands executed so far (INFO commandstats, commands inside scripts included), all clients. */
export async function redisCommandCount(url = REDIS_URL): Promise<number> {
  const redis = createRedis(url);
  try {
    const info = await redis.info('commandstats');
    return [...info.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  } finally {
    await closeRedis(redis);
  }
}

/** Resident set size (current and peak) of a process, MB, from /proc. */
export function rssOf(pid: number): { rssMb: number; peakMb: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
