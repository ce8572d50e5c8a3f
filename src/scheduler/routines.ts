import type { Queue } from 'bullmq';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Warehouse } from '../warehouse/types';
import type { PipelineRunJob, RunStatus, TriggerRun } from '../queues/pipeline-runs';
import type { RunFinaliser } from '../queues/run-finaliser';
import type { ReconcileSummary } from '../queues/run-log-outbox';
import type { RunStore } from '../queues/run-store';
import type { Admission } from '../tenants/admission';
import { refreshUsageRows, resetDailyQuotas } from '../tenants/usage-sync';
import type { DayCloseResult } from '../tenants/usage-sync';
import { processDeferredQueue } from './deferred-queue';
import type { DeferredDeps, DeferredSummary } from './deferred-queue';
import { cleanupOrphanedRuns } from './orphan-cleanup';
import type { OrphanCleanupSummary } from './orphan-cleanup';
import { recordRunOutcome } from './status';
import { triggerDueSchedules } from './tick';
import type { TickSummary } from './tick';
import { isTerminalStatus } from '../shared/run-status';

export interface SchedulerRoutineDeps {
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  runStore: RunStore;
  finaliser: RunFinaliser;
  queue: Queue<PipelineRunJob>;
  admission: Pick<Admission, 'release'>;
  trigger: TriggerRun;
  /** Rewrites warehouse rows of finished runs whose log write was never confirmed (RunLogOutbox). */
  reconcileLogs(now: Date): Promise<ReconcileSummary>;
  /** schedule.misfired webhooks (never throws). */
  notifyScheduleMisfired?(tenantId: string, data: Record<string, unknown>): Promise<void>;
}

/** Every maintenance routine, whichever driver (BullMQ job schedulers or Cloud Scheduler via the admin endpoints) calls it. */
export interface SchedulerRoutines {
  tick(now: Date): Promise<TickSummary>;
  processQueue(now: Date): Promise<DeferredSummary>;
  refreshUsage(now: Date): Promise<{ tenants: number }>;
  reconcileLogs(now: Date): Promise<ReconcileSummary>;
  resetDailyQuotas(now: Date): Promise<DayCloseResult>;
  cleanupOrphans(now: Date): Promise<OrphanCleanupSummary>;
}

const deferredDeps = (deps: SchedulerRoutineDeps): DeferredDeps => ({
  redis: deps.redis,
  keys: deps.keys,
  warehouse: deps.warehouse,
  logger: deps.logger,
  trigger: deps.trigger,
  getRunStatus: (tenantId, runId) => deps.runStore.status(tenantId, runId),
});

export function schedulerRoutines(deps: SchedulerRoutineDeps): SchedulerRoutines {
  const { redis, keys, warehouse, logger } = deps;
  const runDeps = deferredDeps(deps);
  return {
    tick: (now) => triggerDueSchedules({ ...runDeps, ...(deps.notifyScheduleMisfired ? { onMisfire: deps.notifyScheduleMisfired } : {}) }, now),
    processQueue: (now) => processDeferredQueue(runDeps, now),
    refreshUsage: (now) => refreshUsageRows({ redis, keys, warehouse }, now),
    reconcileLogs: (now) => deps.reconcileLogs(now),
    resetDailyQuotas: (now) => resetDailyQuotas({ redis, keys, warehouse }, now),
    cleanupOrphans: (now) =>
      cleanupOrphanedRuns(
        {
          redis,
          keys,
          runStore: deps.runStore,
          finaliser: deps.finaliser,
          queue: deps.queue,
          logger,
          releaseSlot: async (tenantId, runId) => {
            await deps.admission.release(tenantId, runId, 'FAILED');
          },
        },
        now,
      ),
  };
}

/**
 * The scheduler's bookkeeping after a run ends, called by whichever process finalised it (usually a
 * worker): today's outcome counts, then the tenant's oldest deferred run, started now that a slot is free.
 */
export function afterRunFinished(deps: SchedulerRoutineDeps): (job: PipelineRunJob, status: RunStatus, durationMs: number | null) => Promise<void> {
  const runDeps = deferredDeps(deps);
  return async (job, status, durationMs) => {
    if (!isTerminalStatus(status)) return;
    const at = deps.clock.now();
    // Independent, so one round trip of wait, not two (the worker's slot is held until both are done).
    // A slot just freed: start the tenant's oldest deferred run now rather than at the next tick.
    await Promise.all([
      recordRunOutcome({ redis: deps.redis, keys: deps.keys }, { status, durationMs, at, runId: job.pipelineLoggingId }),
      processDeferredQueue(runDeps, at, { tenantId: job.tenantId }),
    ]);
  };
}
