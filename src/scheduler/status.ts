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
 * queue, the tenants' running sets (one ZCARD each) and today's stats hash, which
 * `recordRunOutcome` maintains as runs end. The keys sit in many cluster slots, so these are
 * separate commands issued together (one round trip per node with auto-pipelining).
 */
export async function getSchedulerStatus(deps: StatusDeps, now: Date): Promise<SchedulerStatus> {
  const { redis, keys } = deps;
  const tenants = await redis.smembers(keys.tenantIndex());
  const [defined, dueNow, queued, daily, runningCounts] = await Promise.all([
    redis.zcard(keys.scheduleDue()),
    redis.zcount(keys.scheduleDue(), '-inf', now.getTime()),
    redis.zcard(keys.deferredQueue()),
    redis.hmget(keys.schedulerDaily(utcDay(now)), 'completed', 'failed', 'duration_ms_total', 'duration_count'),
    Promise.all(tenants.map((tenantId) => redis.zcard(keys.running(tenantId)))),
  ]);
  const [completed, failed, durationTotal, durationCount] = daily.map((v) => Number(v ?? 0));
  const running = runningCounts.reduce((sum, n) => sum + n, 0);
  return {
    total_active_pipelines: defined,
    pipelines_due_now: dueNow,
    pipelines_queued: queued,
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
  const counted = await new ScriptRunner(deps.redis).run(
    'schedule-record-outcome',
    [deps.keys.schedulerDaily(utcDay(outcome.at))],
    [outcome.runId ?? '', field, duration, STATS_TTL_SECONDS],
  );
  return counted === 1;
}
