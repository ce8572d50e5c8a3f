import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { MAINTENANCE_QUEUE, isMaintenanceJobName } from '../queues/maintenance';
import type { MaintenanceJobName } from '../queues/maintenance';
import { closeWorker } from './close-worker';

/** The routines a maintenance job runs; the same ones the admin endpoints call. */
export interface MaintenanceRoutines {
  tick(now: Date): Promise<unknown>;
  processQueue(now: Date): Promise<unknown>;
  refreshUsage(now: Date): Promise<unknown>;
  reconcileLogs(now: Date): Promise<unknown>;
  cleanupOrphans(now: Date): Promise<unknown>;
  resetDailyQuotas(now: Date): Promise<unknown>;
}

export interface MaintenanceWorkerDeps {
  /** A connection made for BullMQ (`maxRetriesPerRequest: null`). */
  connection: RedisClient;
  keys: RedisKeys;
  routines: MaintenanceRoutines;
  clock: Clock;
  logger?: Logger;
  /** Different maintenance jobs may run side by side; each is idempotent (default 2). */
  concurrency?: number;
}

export interface MaintenanceWorker {
  worker: Worker;
  close(): Promise<void>;
}

const ROUTINE_OF: Record<MaintenanceJobName, keyof MaintenanceRoutines> = {
  'scheduler-tick': 'tick',
  'process-queue': 'processQueue',
  'usage-refresh': 'refreshUsage',
  'log-reconcile': 'reconcileLogs',
  'cleanup-orphans': 'cleanupOrphans',
  'reset-daily-quotas': 'resetDailyQuotas',
};

export function createMaintenanceWorker(deps: MaintenanceWorkerDeps): MaintenanceWorker {
  const processor = async (job: Job): Promise<unknown> => {
    if (!isMaintenanceJobName(job.name)) throw new Error(`unknown maintenance job "${job.name}"`);
    const routine = ROUTINE_OF[job.name];
    const started = Date.now();
    const result = await deps.routines[routine](deps.clock.now());
    deps.logger?.debug({ job: job.name, durationMs: Date.now() - started, result }, 'maintenance job done');
    // The result is the job's return value, so Bull Board shows what each run did.
    return result ?? null;
  };
  const worker = new Worker(MAINTENANCE_QUEUE, processor, {
    connection: deps.connection,
    prefix: deps.keys.bullPrefix,
    concurrency: deps.concurrency ?? 2,
  });
  worker.on('failed', (job, err) => deps.logger?.error({ err, job: job?.name }, 'maintenance job failed'));
  worker.on('error', (err) => deps.logger?.error({ err }, 'maintenance worker error'));
  return {
    worker,
    close: () => closeWorker(worker),
  };
}
