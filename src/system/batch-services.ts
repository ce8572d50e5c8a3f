import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { AppError } from '../shared/errors';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Warehouse } from '../warehouse/types';
import type { TemplateRegistry } from '../pipelines/template-registry';
import { isTerminalStatus } from '../queues/pipeline-runs';
import type { PipelineRunJob, RunStatus } from '../queues/pipeline-runs';
import { createBatchDispatchQueue, enqueueBackfillDispatch, enqueueFanoutStart, enqueueTenantBackfillsDispatch, removeFanoutStart } from '../queues/batch-dispatch';
import type { BatchDispatchQueue } from '../queues/batch-dispatch';
import type { PlanCatalog } from '../tenants/plans';
import { reloadProfileCache } from '../tenants/profile-loader';
import { getQuotaView } from '../tenants/quota-view';
import type { QuotaView } from '../tenants/quota-view';
import type { TenantDeps } from '../tenants/tenant-deps';
import { BackfillStore } from '../batches/backfill-store';
import { dispatchBackfill, recordedRunStatus } from '../batches/backfill-dispatch';
import type { BackfillDispatchDeps } from '../batches/backfill-dispatch';
import { backfillService } from '../batches/backfill-service';
import type { BackfillService } from '../batches/backfill-service';
import { FanoutStore } from '../batches/fanout-store';
import { fanoutService } from '../batches/fanout-service';
import { fanoutRunStatuses } from '../batches/fanout-run-status';
import { batchRunId } from '../batches/run-ids';
import type { FanoutService } from '../batches/fanout-service';
import { writeBackfillSnapshot, writeFanoutSnapshot } from '../batches/batch-rows';
import type { BatchDispatchRoutines } from '../workers/batch-dispatch-worker';
import type { RunServices } from './run-services';

export interface BatchServicesDeps {
  redis: RedisClient;
  bull: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  templates: TemplateRegistry;
  plans: PlanCatalog;
  tenantDeps: TenantDeps;
  runs: Pick<RunServices, 'trigger' | 'runStore' | 'runService'>;
  /** How long a waiting backfill sleeps when nothing wakes it sooner (default 30 s). */
  recheckMs?: number;
}

export interface BatchServices {
  queue: BatchDispatchQueue;
  backfills: BackfillService;
  fanouts: FanoutService;
  routines: BatchDispatchRoutines & { tick(now: Date): Promise<{ backfills: number }> };
  /** The RunFinaliser's after-run hook: a run of the tenant ended, so its active backfills may admit their next dates. */
  onRunFinished(job: PipelineRunJob, status: RunStatus): Promise<void>;
}

/** A dispatch pass holds its backfill's lock at most this long (a pass admits at most `max_parallel` runs). */
const DISPATCH_LOCK_MS = 60_000;

/** Backfills (issue 15.1) and admin fan-outs (15.2): their stores, services, and what the batch-dispatch jobs run. */
export function buildBatchServices(deps: BatchServicesDeps): BatchServices {
  const { redis, keys, warehouse, clock, logger } = deps;
  const queue = createBatchDispatchQueue(deps.bull, keys);
  const backfillStore = new BackfillStore(redis, keys);
  const fanoutStore = new FanoutStore(redis, keys);

  // Finished runs leave Redis after a day; the warehouse row is the record then.
  const runStatus = (tenantId: string, runId: string): Promise<RunStatus | null> =>
    recordedRunStatus(() => deps.runs.runStore.status(tenantId, runId), () => deps.runs.runService.getRun(tenantId, runId));
  const quota = async (tenantId: string): Promise<QuotaView> => {
    const view = (await getQuotaView({ redis, keys, clock }, tenantId)) ?? ((await reloadProfileCache(deps.tenantDeps, tenantId)) ? await getQuotaView({ redis, keys, clock }, tenantId) : null);
    if (!view) throw new AppError(404, 'TENANT_NOT_FOUND', `Tenant '${tenantId}' not found`);
    return view;
  };
  /**
   * Redis is what dispatch reads; the warehouse rows are the history. Every snapshot is the whole state, so one
   * that fails (warehouse down) is made good by the next change's and must not fail the dispatch that made it.
   */
  const bestEffort = async (what: string, write: () => Promise<void>): Promise<void> => {
    try {
      await write();
    } catch (err) {
      logger.warn({ err: (err as Error).message, what }, 'batch snapshot not written to the warehouse; the next change writes it');
    }
  };
  const dispatchDeps: BackfillDispatchDeps = {
    store: backfillStore, trigger: deps.runs.trigger, runStatus, clock, logger, recheckMs: deps.recheckMs ?? 30_000,
    writeSnapshot: (b, now) => bestEffort(`backfill ${b.backfillId}`, () => writeBackfillSnapshot(warehouse, b, now)),
  };
  const dispatch = async (tenantId: string, backfillId: string): Promise<{ dispatched: boolean }> => ({
    dispatched: await backfillStore.exclusively(tenantId, backfillId, DISPATCH_LOCK_MS, () => dispatchBackfill(dispatchDeps, tenantId, backfillId)),
  });

  const backfills = backfillService({
    store: backfillStore, templates: deps.templates, plans: deps.plans, warehouse, clock, quota, runStatus,
    writeSnapshot: dispatchDeps.writeSnapshot,
    requestDispatch: (tenantId, backfillId) => enqueueBackfillDispatch(queue, tenantId, backfillId),
    dispatchNow: async (tenantId, backfillId) => {
      await dispatch(tenantId, backfillId);
    },
  });
  const fanouts = fanoutService({
    store: fanoutStore, templates: deps.templates, warehouse, clock, trigger: deps.runs.trigger,
    runStatuses: (f) => fanoutRunStatuses({ warehouse, logger, liveRunStatus: (tenantId, runId) => deps.runs.runStore.status(tenantId, runId), recordRunEnds: (id, ends) => fanoutStore.recordRunEnds(id, ends) }, f),
    writeSnapshot: (f, now) => bestEffort(`fan-out ${f.fanoutId}`, () => writeFanoutSnapshot(warehouse, f, now)),
    scheduleStart: (fanoutId, tenantId, delayMs) => enqueueFanoutStart(queue, fanoutId, tenantId, delayMs),
    unscheduleStart: (fanoutId, tenantId) => removeFanoutStart(queue, fanoutId, tenantId),
  });

  /** A run of the tenant ended: each ACTIVE backfill, oldest first, may admit its next dates (older ones get the slots). */
  const dispatchTenant = async (tenantId: string): Promise<{ backfills: number }> => {
    const ids = await backfillStore.activeOldestFirst(tenantId);
    let failed: Error | null = null;
    for (const backfillId of ids) {
      try {
        await dispatch(tenantId, backfillId);
      } catch (err) {
        failed = err as Error;
        logger.warn({ err: failed.message, tenantId, backfillId }, 'backfill dispatch failed; the job is retried');
      }
    }
    // After every backfill had its pass: the retry (BullMQ backs off) gives each another one.
    if (failed) throw failed;
    return { backfills: ids.length };
  };

  const tick = async (now: Date): Promise<{ backfills: number }> => {
    const due = await backfillStore.due(now.getTime());
    for (const { tenantId, backfillId } of due) {
      try {
        await dispatch(tenantId, backfillId);
      } catch (err) {
        logger.warn({ err: (err as Error).message, tenantId, backfillId }, 'backfill dispatch failed; the next tick tries again');
      }
    }
    return { backfills: due.length };
  };

  return {
    queue,
    backfills,
    fanouts,
    routines: {
      tick,
      dispatchBackfill: dispatch,
      dispatchTenantBackfills: dispatchTenant,
      startFanoutTenant: (fanoutId, tenantId) => fanouts.start(fanoutId, tenantId),
    },
    async onRunFinished(job, status) {
      // A fan-out's run: its end is recorded in the fan-out, which then answers without the run's record (gone after a day).
      if (job.triggerType === 'fanout' && job.batchId && isTerminalStatus(status) && job.pipelineLoggingId === batchRunId('fanout', job.batchId, job.tenantId)) {
        await fanoutStore.recordRunEnds(job.batchId, { [job.tenantId]: status });
      }
      // Any run of the tenant frees a slot its backfills may be waiting for (CONCURRENT_LIMIT_REACHED), not only theirs:
      // one job for all of them, and run ends while it waits are that same job.
      if ((await backfillStore.activeCount(job.tenantId)) > 0) await enqueueTenantBackfillsDispatch(queue, job.tenantId);
    },
  };
}
