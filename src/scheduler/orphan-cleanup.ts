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
  /** Runs admitted but never queued (no job NEVER_QUEUED_AFTER_MS after admission), failed and their slots freed. */
  never_queued: number;
}

/**
 * A PENDING run with no job this long after its admission never reached the run queue: its trigger's admission
 * reached Redis but the reply did not (a command timeout on a slow or frozen Redis answered 503), or its process
 * died between admission and enqueue. Far longer than the milliseconds between the two on a healthy trigger.
 */
export const NEVER_QUEUED_AFTER_MS = 5 * 60_000;
const NEVER_QUEUED = 'Never queued: admitted, but no job reached the run queue (the trigger most likely answered an error)';

/**
 * Fails runs whose lease deadline (template timeout + margin after their start, or after their admission while
 * not started) has passed, and runs admitted
 * but never queued (see NEVER_QUEUED_AFTER_MS), writes their terminal rows and frees their slots. Safe to run
 * concurrently and repeatedly: ending a run is first-writer-wins, releasing a slot is a set removal.
 */
export async function cleanupOrphanedRuns(deps: OrphanCleanupDeps, now: Date): Promise<OrphanCleanupSummary> {
  const summary: OrphanCleanupSummary = { tenants_checked: 0, orphaned: 0, failed: 0, slots_released: 0, never_queued: 0 };
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
    await failNeverQueued(deps, tenantId, new Set(expired), now, summary);
  }
  return summary;
}

/**
 * Fails the tenant's PENDING runs admitted at least NEVER_QUEUED_AFTER_MS ago that have no job, so the
 * concurrency slot is not held until the lease passes (template timeout + margin: an hour or more). The quota
 * unit stays counted, as for any run that failed. Only the tenant's dispatch backlog is read — the admitted runs no
 * worker has picked up, which a never-queued run stays in — not every run in flight.
 */
async function failNeverQueued(deps: OrphanCleanupDeps, tenantId: string, handled: Set<string>, now: Date, summary: OrphanCleanupSummary): Promise<void> {
  const waiting = (await deps.redis.zrange(deps.keys.dispatchBacklog(tenantId), 0, -1)).filter((runId) => !handled.has(runId));
  const states = await Promise.all(waiting.map((runId) => deps.redis.hmget(deps.keys.run(tenantId, runId), 'status', 'created_at')));
  const cutoffMs = now.getTime() - NEVER_QUEUED_AFTER_MS;
  const oldEnough = waiting.filter((_runId, i) => {
    const [status, createdAt] = states[i] ?? [];
    return status === 'PENDING' && !!createdAt && Date.parse(createdAt) <= cutoffMs;
  });
  // A run queued for hours is normal on a busy tenant: one EXISTS on its job hash each, sent together, rather
  // than reading and parsing every such job (the job id is the run id).
  const hasJob = await Promise.all(oldEnough.map((runId) => deps.redis.exists(deps.queue.toKey(runId))));
  for (const [i, runId] of oldEnough.entries()) {
    if (hasJob[i] === 1) continue;
    const job = await deps.runStore.getJob(tenantId, runId);
    if (!job) continue;
    if (await deps.finaliser.finishUnexecuted(job, 'FAILED', NEVER_QUEUED)) {
      summary.never_queued += 1;
      summary.slots_released += 1;
      deps.logger.warn({ tenant_id: tenantId, pipeline_logging_id: runId }, 'never-queued run failed');
    }
  }
}
