import type { Config } from '../config';
import { isTerminalStatus } from '../queues/pipeline-runs';
import type { RunLogWriter } from '../pipelines/run-log-writer';
import { outboxMember } from '../queues/run-log-outbox';
import { dropTenantDeferred } from '../scheduler/deferred-queue';
import type { SchedulerOperations } from '../scheduler/scheduler-operations';
import type { TenantDeps } from '../tenants/tenant-deps';
import { offboardTenant } from '../offboarding/offboard';
import type { Queue } from 'bullmq';
import type { OffboardBackfills, OffboardDeps, OffboardingFaults, OffboardResult, OffboardStep, OffboardWebhooks } from '../offboarding/types';
import type { RunServices } from './run-services';

/** Job states BullMQ may still hold a tenant's jobs in after its runs were cancelled (an active one is cancelled, not removed). */
const RETAINED_STATES = ['completed', 'failed', 'waiting', 'delayed', 'prioritized', 'paused'] as const;
const MAX_RUNS = 100_000;
/** How long cancel_runs waits for other processes' log writers (they flush every 500 ms by default). */
const LOG_SETTLE_MS = 10_000;

export interface OffboardingWiring {
  config: Config;
  tenantDeps: TenantDeps;
  runs: RunServices;
  schedules: SchedulerOperations;
  logWriter: RunLogWriter;
  faults?: OffboardingFaults;
  /** The step list (default defaultOffboardSteps()); other features add theirs with withStep. */
  steps?: OffboardStep[];
  webhooks?: OffboardWebhooks;
  backfills?: OffboardBackfills;
  /** Other queues whose jobs carry `tenantId` (webhook deliveries, batch dispatch): the tenant's retained jobs go too. */
  otherQueues?: () => Queue[];
}

/** Offboarding's dependencies from the system's own services: the normal cancel, the scheduler's store, the log writer. */
export function buildOffboardDeps(w: OffboardingWiring): OffboardDeps {
  const { runStore, runService, queue } = w.runs;
  const { redis, keys } = w.tenantDeps;
  return {
    tenant: w.tenantDeps,
    exportDir: w.config.warehouse.exportDir,
    ...(w.config.warehouse.exportUri ? { exportUri: w.config.warehouse.exportUri } : {}),
    ...(w.faults ? { faults: w.faults } : {}),
    ...(w.steps ? { steps: w.steps } : {}),
    ...(w.webhooks ? { webhooks: w.webhooks } : {}),
    ...(w.backfills ? { backfills: w.backfills } : {}),
    runs: {
      async liveRunIds(tenantId) {
        const ids = await runStore.recentIds(tenantId, 0, Number.MAX_SAFE_INTEGER, MAX_RUNS);
        const statuses = await Promise.all(ids.map((id) => runStore.status(tenantId, id)));
        return ids.filter((_, i) => {
          const s = statuses[i];
          return s !== null && s !== undefined && !isTerminalStatus(s);
        });
      },
      cancel: async (tenantId, runId) => (await runService.cancelRun(tenantId, runId)).status,
      dropDeferred: (tenantId) => dropTenantDeferred(redis, keys, tenantId),
      async settleLogs(tenantId, runIds) {
        await w.logWriter.flush();
        const members = runIds.map((runId) => outboxMember({ tenantId, runId }));
        const deadline = Date.now() + LOG_SETTLE_MS;
        for (;;) {
          const scores = members.length > 0 ? await redis.zmscore(keys.logsUnconfirmed(), ...members) : [];
          const left = scores.filter((s) => s !== null).length;
          if (left === 0 || Date.now() >= deadline) return left;
          await new Promise((r) => setTimeout(r, 100));
        }
      },
      async removeQueueJobs(tenantId) {
        const queues: Queue[] = [queue, ...(w.otherQueues?.() ?? [])];
        const jobs = (await Promise.all(queues.map((q) => q.getJobs([...RETAINED_STATES], 0, -1)))).flat();
        const own = jobs.filter((j) => (j?.data as { tenantId?: string } | undefined)?.tenantId === tenantId);
        const removed = await Promise.all(own.map((j) => j.remove().then(() => 1, () => 0)));
        return removed.reduce<number>((n, x) => n + x, 0);
      },
    },
    schedules: {
      list: async (tenantId) => (await w.schedules.list(tenantId)).map((s) => ({ config_id: s.config_id, is_active: s.is_active })),
      disable: async (tenantId, configId) => {
        await w.schedules.patch(tenantId, configId, { is_active: false });
      },
      remove: (tenantId, configId) => w.schedules.remove(tenantId, configId),
    },
  };
}

export type Offboard = (tenantId: string, body: unknown) => Promise<OffboardResult>;

export const offboardingOf = (deps: OffboardDeps): Offboard => (tenantId, body) => offboardTenant(deps, tenantId, body);
