import { ScriptRunner } from '../redis/scripts';
import { utcDay } from '../shared/clock';
import type { RunStatus } from '../queues/pipeline-runs';
import type { SchedulerBaseDeps } from './types';

export type StatusDeps = Pick<SchedulerBaseDeps, 'redis' | 'keys'>;

export interface SchedulerStatus {
  total_active_pipelines: number;
  pipelines_due_now: number;
  pipelines_queued: number;
  pipelines_running: number;
  pipelines_completed_today: number;
  pipelines_failed_today: number;
  avg_execution_time_seconds: number;
}

/** Daily stats are kept a week beyond their day, long enough for yesterday's questions. */
const STATS_TTL_SECONDS = 8 * 86_400;

/**
 * `GET /scheduler/status` without scanning runs: counts come from the due index, the deferred
 * queue, the tenants' running sets (one pipelined ZCARD each) and today's stats hash, which
 * `recordRunOutcome` maintains as runs end.
 */
export async function getSchedulerStatus(deps: StatusDeps, now: Date): Promise<SchedulerStatus> {
  const { redis, keys } = deps;
  const tenants = await redis.smembers(keys.tenantIndex());
  const pipeline = redis
    .pipeline()
    .zcard(keys.scheduleDue())
    .zcount(keys.scheduleDue(), '-inf', now.getTime())
    .zcard(keys.deferredQueue())
    .hmget(keys.schedulerDaily(utcDay(now)), 'completed', 'failed', 'duration_ms_total', 'duration_count');
  for (const tenantId of tenants) pipeline.zcard(keys.running(tenantId));
  const results = (await pipeline.exec()) ?? [];
  const value = (i: number): unknown => {
    const entry = results[i];
    if (entry?.[0]) throw entry[0];
    return entry?.[1];
  };
  const [completed, failed, durationTotal, durationCount] = (value(3) as (string | null)[]).map((v) => Number(v ?? 0));
  let running = 0;
  for (let i = 0; i < tenants.length; i += 1) running += Number(value(4 + i) ?? 0);
  return {
    total_active_pipelines: Number(value(0)),
    pipelines_due_now: Number(value(1)),
    pipelines_queued: Number(value(2)),
    pipelines_running: running,
    pipelines_completed_today: completed ?? 0,
    pipelines_failed_today: failed ?? 0,
    avg_execution_time_seconds: durationCount ? Math.round(((durationTotal ?? 0) / durationCount) / 10) / 100 : 0,
  };
}

export interface RunOutcome {
  status: Extract<RunStatus, 'COMPLETED' | 'FAILED' | 'CANCELLED'>;
  durationMs: number | null;
  /** When the run ended: the outcome counts on that UTC day. */
  at: Date;
  /** With a run id a repeated report of the same run is counted once. */
  runId?: string;
}

/** Counts a terminal run in today's scheduler stats; the worker calls it for every run that ends. */
export async function recordRunOutcome(deps: StatusDeps, outcome: RunOutcome): Promise<boolean> {
  const field = outcome.status === 'COMPLETED' ? 'completed' : outcome.status === 'FAILED' ? 'failed' : 'cancelled';
  const duration = outcome.durationMs === null || !Number.isFinite(outcome.durationMs) ? '' : Math.max(0, Math.round(outcome.durationMs));
  const counted = await new ScriptRunner(deps.redis).run<number>(
    'schedule-record-outcome',
    [deps.keys.schedulerDaily(utcDay(outcome.at))],
    [outcome.runId ?? '', field, duration, STATS_TTL_SECONDS],
  );
  return counted === 1;
}
