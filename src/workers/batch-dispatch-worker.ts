import { Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { BATCH_DISPATCH_QUEUE } from '../queues/batch-dispatch';
import type { BatchDispatchJob } from '../queues/batch-dispatch';
import { closeWorker } from './close-worker';

/** What a batch-dispatch job does (src/system/batch-services.ts builds these). */
export interface BatchDispatchRoutines {
  tick(now: Date): Promise<unknown>;
  dispatchBackfill(tenantId: string, backfillId: string): Promise<unknown>;
  dispatchTenantBackfills(tenantId: string): Promise<unknown>;
  startFanoutTenant(fanoutId: string, tenantId: string): Promise<unknown>;
}

export interface BatchDispatchWorkerDeps {
  /** A connection made for BullMQ (`maxRetriesPerRequest: null`). */
  connection: RedisClient;
  keys: RedisKeys;
  routines: BatchDispatchRoutines;
  clock: Clock;
  logger?: Logger;
  concurrency?: number;
}

export interface BatchDispatchWorker {
  worker: Worker<BatchDispatchJob>;
  close(): Promise<void>;
}

export function createBatchDispatchWorker(deps: BatchDispatchWorkerDeps): BatchDispatchWorker {
  const processor = async (job: Job<BatchDispatchJob>): Promise<unknown> => {
    const data = job.data;
    switch (data.kind) {
      case 'tick':
        return (await deps.routines.tick(deps.clock.now())) ?? null;
      case 'dispatch-backfill':
        return (await deps.routines.dispatchBackfill(data.tenantId, data.backfillId)) ?? null;
      case 'dispatch-tenant-backfills':
        return (await deps.routines.dispatchTenantBackfills(data.tenantId)) ?? null;
      case 'fanout-start':
        return (await deps.routines.startFanoutTenant(data.fanoutId, data.tenantId)) ?? null;
      default:
        throw new Error(`unknown batch-dispatch job ${JSON.stringify(data)}`);
    }
  };
  const worker = new Worker<BatchDispatchJob>(BATCH_DISPATCH_QUEUE, processor, {
    connection: deps.connection,
    prefix: deps.keys.bullPrefix,
    // Fan-out starts of many tenants may come due together; each backfill is serialised by its own lock.
    concurrency: deps.concurrency ?? 8,
  });
  worker.on('failed', (job, err) => deps.logger?.warn({ err: err.message, job: job?.name }, 'batch-dispatch job failed'));
  worker.on('error', (err) => deps.logger?.error({ err }, 'batch-dispatch worker error'));
  return { worker, close: () => closeWorker(worker) };
}
