import type { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { Logger } from '../shared/logger';
import type { RedisKeys } from '../redis/keys';
import type { PipelineRunJob } from '../queues/pipeline-runs';
import type { RunFinaliser } from '../queues/run-finaliser';
import type { RunStore } from '../queues/run-store';

export interface OrphanCleanupDeps {
  redis: RedisClient;
  keys: RedisKeys;
  runStore: RunStore;
  finaliser: RunFinaliser;
  queue: Queue<PipelineRunJob>;
  logger: Logger;
  /** Removes a run id from its tenant's running set without counting an outcome (its live record is gone). */
  releaseSlot(tenantId: string, runId: string): Promise<void>;
}

export interface OrphanCleanupSummary {
  tenants_checked: number;
  orphaned: number;
  failed: number;
  slots_released: number;
}

/**
 * Fails runs whose lease deadline (admission time + template timeout + margin) has passed, writes their
 * terminal rows and frees their slots. Safe to run concurrently and repeatedly: ending a run is
 * first-writer-wins, releasing a slot is a set removal.
 */
export async function cleanupOrphanedRuns(deps: OrphanCleanupDeps, now: Date): Promise<OrphanCleanupSummary> {
  const summary: OrphanCleanupSummary = { tenants_checked: 0, orphaned: 0, failed: 0, slots_released: 0 };
  const tenants = await deps.redis.smembers(deps.keys.tenantIndex());
  for (const tenantId of tenants) {
    summary.tenants_checked += 1;
    const expired = await deps.redis.zrangebyscore(deps.keys.running(tenantId), '-inf', now.getTime());
    for (const runId of expired) {
      summary.orphaned += 1;
      const job = await deps.runStore.getJob(tenantId, runId);
      if (!job) {
        await deps.releaseSlot(tenantId, runId);
        summary.slots_released += 1;
        continue;
      }
      const queued = await deps.queue.getJob(runId);
      await queued?.remove().catch(() => undefined); // a job still locked by a (hung) worker stays; its result is ignored
      await deps.redis.publish(deps.keys.cancelChannel(), runId);
      if (await deps.finaliser.finishUnexecuted(job, 'FAILED', 'Orphaned: the run exceeded its deadline (template timeout + margin)')) {
        summary.failed += 1;
      } else {
        await deps.releaseSlot(tenantId, runId);
      }
      summary.slots_released += 1;
      deps.logger.warn({ tenant_id: tenantId, pipeline_logging_id: runId }, 'orphaned run failed');
    }
  }
  return summary;
}
