import type { Queue } from 'bullmq';
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
import type { ReconcileSummary } from '../queues/run-log-outbox';
import { afterRunFinished, schedulerRoutines } from '../scheduler/routines';
import type { SchedulerRoutines } from '../scheduler/routines';
import { schedulerOperations } from '../scheduler/scheduler-operations';
import type { SchedulerOperations } from '../scheduler/scheduler-operations';
import type { Admission } from '../tenants/admission';
import type { Seats } from '../tenants/seats';

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
  trigger: TriggerRun;
  reconcileLogs(now: Date): Promise<ReconcileSummary>;
  notifyScheduleMisfired?(tenantId: string, data: Record<string, unknown>): Promise<void>;
}

export interface SchedulerServices {
  api: SchedulerOperations;
  routines: SchedulerRoutines;
  onRunFinished(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
}

/** Wires schedules, the tick, the deferred queue and the maintenance routines — the same code for both drivers. */
export function buildSchedulerServices(deps: SchedulerServicesDeps): SchedulerServices {
  const { redis, keys, warehouse, logger, clock, templates } = deps;
  const store = {
    redis,
    keys,
    warehouse,
    logger,
    clock,
    templateExists: (p: string, d: string, n: string) => templates.get(p, d, n) !== undefined,
    validateParameters: (p: string, d: string, n: string, params: Record<string, unknown>) => {
      const template = templates.get(p, d, n);
      if (template) validateRunParameters(template, params, clock.now());
    },
    touchProvider: (tenantId: string, provider: string) => deps.seats.provider(tenantId, provider),
  };
  const routines = schedulerRoutines(deps);
  return { api: schedulerOperations(store, { redis, keys }, routines), routines, onRunFinished: afterRunFinished(deps) };
}
