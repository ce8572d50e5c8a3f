import type { ApiDeps } from '../api/deps';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Warehouse } from '../warehouse/types';
import type { TemplateRegistry } from '../pipelines/template-registry';
import { validateRunParameters } from '../pipelines/parameters';
import type { PipelineRunJob, RunStatus, TriggerRun } from '../queues/pipeline-runs';
import type { RunStore } from '../queues/run-store';
import type { RunFinaliser } from '../queues/run-finaliser';
import type { Queue } from 'bullmq';
import { processDeferredQueue } from '../scheduler/deferred-queue';
import { cleanupOrphanedRuns } from '../scheduler/orphan-cleanup';
import { createScheduleSchema, patchScheduleSchema } from '../scheduler/schedule-schemas';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, patchSchedule } from '../scheduler/schedule-store';
import { getSchedulerStatus, recordRunOutcome } from '../scheduler/status';
import { triggerDueSchedules } from '../scheduler/tick';
import type { Admission } from '../tenants/admission';
import type { Seats } from './seats';
import { refreshUsageRows, resetDailyQuotas } from '../tenants/usage-sync';
import type { MaintenanceRoutines } from '../workers/maintenance-worker';

type Json = Record<string, unknown>;
const json = <T>(value: T): Json => value as unknown as Json;

export interface SchedulerServicesDeps {
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  templates: TemplateRegistry;
  seats: Seats;
  admission: Admission;
  runStore: RunStore;
  finaliser: RunFinaliser;
  queue: Queue<PipelineRunJob>;
  /** Resolved lazily: the trigger routine and the scheduler are built from each other's parts. */
  trigger: TriggerRun;
  /** Rewrites warehouse rows of finished runs whose log write was never confirmed (RunLogOutbox). */
  reconcileLogs(now: Date): Promise<unknown>;
}

export interface SchedulerServices {
  api: ApiDeps['scheduler'];
  routines: MaintenanceRoutines;
  onRunFinished(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
}

/** Schedules, the tick, the deferred queue and the maintenance routines — the same code for both drivers. */
export function buildSchedulerServices(deps: SchedulerServicesDeps): SchedulerServices {
  const { redis, keys, warehouse, logger } = deps;
  const getRunStatus = (tenantId: string, runId: string): Promise<RunStatus | null> => deps.runStore.status(tenantId, runId);
  const storeDeps = {
    redis,
    keys,
    warehouse,
    logger,
    clock: deps.clock,
    templateExists: (p: string, d: string, n: string) => deps.templates.get(p, d, n) !== undefined,
    validateParameters: (p: string, d: string, n: string, params: Record<string, unknown>) => {
      const template = deps.templates.get(p, d, n);
      if (template) validateRunParameters(template, params, deps.clock.now());
    },
    touchProvider: (tenantId: string, provider: string) => deps.seats.provider(tenantId, provider),
  };
  const runDeps = { redis, keys, warehouse, logger, trigger: deps.trigger, getRunStatus };
  const routines: MaintenanceRoutines = {
    tick: (now) => triggerDueSchedules(runDeps, now),
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
  const api: ApiDeps['scheduler'] = {
    createSchema: createScheduleSchema,
    patchSchema: patchScheduleSchema,
    create: async (tenantId, body) => json(await createSchedule(storeDeps, tenantId, body)),
    list: async (tenantId) => (await listSchedules(storeDeps, tenantId)).map(json),
    get: async (tenantId, id) => json(await getSchedule(storeDeps, tenantId, id)),
    patch: async (tenantId, id, body) => json(await patchSchedule(storeDeps, tenantId, id, body)),
    remove: (tenantId, id) => deleteSchedule(storeDeps, tenantId, id),
    trigger: async (now) => json(await routines.tick(now)),
    processQueue: async (now) => json(await routines.processQueue(now)),
    resetDailyQuotas: async (now) => {
      const r = await resetDailyQuotas({ redis, keys, warehouse }, now);
      return { closed_day: r.closedDay, already_closed: r.alreadyClosed, tenants: r.tenants };
    },
    cleanupOrphans: async (now) => json(await routines.cleanupOrphans(now)),
    status: async (now) => json(await getSchedulerStatus({ redis, keys }, now)),
  };
  return {
    api,
    routines,
    async onRunFinished(job, status, durationMs) {
      if (status !== 'COMPLETED' && status !== 'FAILED' && status !== 'CANCELLED') return;
      const at = deps.clock.now();
      // Independent, so one round trip of wait, not two (the worker's slot is held until both are done).
      // A slot just freed: start the tenant's oldest deferred run now rather than at the next tick.
      await Promise.all([
        recordRunOutcome({ redis, keys }, { status, durationMs, at, runId: job.pipelineLoggingId }),
        processDeferredQueue(runDeps, at, { tenantId: job.tenantId }),
      ]);
    },
  };
}
