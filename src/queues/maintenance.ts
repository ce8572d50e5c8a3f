import { Queue } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';

/**
 * The maintenance queue: repeatable jobs (BullMQ job schedulers) that drive the scheduler when
 * SCHEDULER_MODE=internal. With `external`, Cloud Scheduler calls the admin endpoints instead and
 * those repeatables are removed (usage refresh and log reconciliation, which no endpoint covers, stay). Running both at once is harmless: every routine is idempotent and
 * the tick is exactly-once per fire.
 */
export const MAINTENANCE_QUEUE = 'maintenance';

export const MAINTENANCE_JOB_NAMES = ['scheduler-tick', 'process-queue', 'usage-refresh', 'log-reconcile', 'cleanup-orphans', 'reset-daily-quotas'] as const;
export type MaintenanceJobName = (typeof MAINTENANCE_JOB_NAMES)[number];

/** Cron patterns, all in UTC; minute-aligned so a tick handles the fires of the minute that just began. */
export const MAINTENANCE_SCHEDULES: Record<MaintenanceJobName, string> = {
  'scheduler-tick': '* * * * *',
  'process-queue': '* * * * *',
  'usage-refresh': '* * * * *',
  'log-reconcile': '* * * * *',
  'cleanup-orphans': '*/15 * * * *',
  'reset-daily-quotas': '0 0 * * *',
};

/**
 * Retries of a failed run (e.g. the warehouse down or past PLATFORM_WAREHOUSE_TIMEOUT_MS). The per-minute and
 * 15-minute jobs need none: their next run is the retry. The day close runs once a day and closes only the day
 * before, so a run that failed is retried (1, 2, 4, 8, 16 min later); the routine is idempotent (a per-day marker).
 */
export const MAINTENANCE_RETRIES: Partial<Record<MaintenanceJobName, { attempts: number; backoff: { type: 'exponential'; delay: number } }>> = {
  'reset-daily-quotas': { attempts: 6, backoff: { type: 'exponential', delay: 60_000 } },
};

/** Jobs no Cloud Scheduler endpoint covers: they run in both modes (the warehouse usage rows stay fresh). */
export const ALWAYS_INTERNAL: readonly MaintenanceJobName[] = ['usage-refresh', 'log-reconcile'];

export const isMaintenanceJobName = (name: string): name is MaintenanceJobName =>
  (MAINTENANCE_JOB_NAMES as readonly string[]).includes(name);

export type MaintenanceQueue = Queue<Record<string, never>, unknown, MaintenanceJobName>;

export function createMaintenanceQueue(connection: RedisClient, keys: RedisKeys): MaintenanceQueue {
  return new Queue<Record<string, never>, unknown, MaintenanceJobName>(MAINTENANCE_QUEUE, { connection, prefix: keys.bullPrefix });
}

/**
 * Installs (internal) or removes (external) the repeatables. Upserting is idempotent, so every
 * scheduler process may call it at boot; the job scheduler id is the job name.
 */
export async function syncMaintenanceSchedulers(queue: MaintenanceQueue, mode: 'internal' | 'external'): Promise<void> {
  for (const name of MAINTENANCE_JOB_NAMES) {
    if (mode === 'external' && !ALWAYS_INTERNAL.includes(name)) {
      await queue.removeJobScheduler(name);
      continue;
    }
    await queue.upsertJobScheduler(
      name,
      { pattern: MAINTENANCE_SCHEDULES[name], tz: 'UTC' },
      {
        name,
        data: {},
        // Bounded history: enough to see recent results in Bull Board, never an unbounded list.
        opts: { attempts: 1, ...MAINTENANCE_RETRIES[name], removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
      },
    );
  }
}
