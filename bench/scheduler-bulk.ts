/**
 * Cloud Scheduler's deadline: `POST /api/v1/scheduler/trigger` with 10,000 schedules due at once, through the
 * real trigger path (admission script, run record, BullMQ add per fire) on the product's composition, must
 * answer well inside Cloud Scheduler's default 3-minute attempt deadline. Baseline: BullMQ `addBulk` of the
 * same number of jobs (the cheapest way to enqueue them, with no admission or bookkeeping).
 *
 *   npx tsx bench/scheduler-bulk.ts        (REDIS_URL, default redis://127.0.0.1:6379)
 */
import { Queue } from 'bullmq';
import { randomBytes } from 'node:crypto';
import { createRedis, closeRedis } from '../src/redis/connection';
import { encodeConfig } from '../src/scheduler/config-hash';
import { dueMember } from '../src/scheduler/due-index';
import type { ScheduleConfig } from '../src/scheduler/types';
import { createTestDuckDb } from '../test/helpers/warehouse';
import { BENCH_TEMPLATE, BENCH_TENANT, dropPrefix, REDIS_URL, startBenchSystem } from './support';

export const DUE_AT_ONCE = 10_000;
const DEADLINE_MS = 180_000;

export interface SchedulerBulkResult {
  due: number;
  triggered: number;
  endpointMs: number;
  baselineMs: number;
  ratio: number;
  deadlineMs: number;
}

const config = (i: number, created: string): ScheduleConfig => ({
  config_id: `bulk-${i}`,
  tenant_id: BENCH_TENANT,
  provider: BENCH_TEMPLATE.provider,
  domain: BENCH_TEMPLATE.domain,
  pipeline_template: BENCH_TEMPLATE.name,
  schedule_cron: '0 * * * *',
  timezone: 'UTC',
  is_active: true,
  parameters: { n: i },
  overlap_policy: 'allow',
  misfire_policy: 'run_once',
  last_run_time: null,
  last_run_status: null,
  last_run_id: null,
  created_at: created,
  updated_at: created,
});

export async function runSchedulerBulkBench(log: (line: string) => void = () => undefined): Promise<SchedulerBulkResult> {
  const wh = await createTestDuckDb();
  const bench = await startBenchSystem({ warehouse: wh.warehouse });
  const { keys, clients } = bench.system;
  const basePrefix = `bulkbase${randomBytes(3).toString('hex')}`;
  try {
    const now = new Date();
    const fire = new Date(Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    log(`scheduler bulk: defining ${DUE_AT_ONCE} schedules due at ${fire.toISOString()}`);
    for (let start = 0; start < DUE_AT_ONCE; start += 2_000) {
      const pipeline = clients.redis.pipeline();
      for (let i = start; i < Math.min(DUE_AT_ONCE, start + 2_000); i += 1) {
        pipeline.hset(keys.schedule(BENCH_TENANT, `bulk-${i}`), encodeConfig(config(i, now.toISOString())));
        pipeline.sadd(keys.tenantSchedules(BENCH_TENANT), `bulk-${i}`);
        pipeline.zadd(keys.scheduleDue(), fire.getTime(), dueMember({ tenantId: BENCH_TENANT, configId: `bulk-${i}` }));
      }
      await pipeline.exec();
    }
    log('scheduler bulk: POST /scheduler/trigger routine (the endpoint’s code)');
    const started = process.hrtime.bigint();
    const summary = (await bench.system.apiDeps().scheduler.trigger(now)) as { triggered: number; due: number };
    const endpointMs = Number(process.hrtime.bigint() - started) / 1e6;

    log('scheduler bulk: baseline BullMQ addBulk');
    const connection = createRedis(REDIS_URL, { forBullMQ: true });
    const queue = new Queue('bulk-baseline', { connection, prefix: `{${basePrefix}:bull}` });
    const t0 = process.hrtime.bigint();
    for (let start = 0; start < DUE_AT_ONCE; start += 1_000) {
      await queue.addBulk(Array.from({ length: Math.min(1_000, DUE_AT_ONCE - start) }, (_, i) => ({ name: 'run', data: { n: start + i }, opts: { jobId: `b-${start + i}` } })));
    }
    const baselineMs = Number(process.hrtime.bigint() - t0) / 1e6;
    await queue.close();
    await closeRedis(connection);
    return { due: summary.due, triggered: summary.triggered, endpointMs, baselineMs, ratio: baselineMs / endpointMs, deadlineMs: DEADLINE_MS };
  } finally {
    await bench.close();
    await wh.cleanup();
    await dropPrefix(basePrefix);
  }
}

if (require.main === module) {
  runSchedulerBulkBench((line) => console.error(line))
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    });
}
