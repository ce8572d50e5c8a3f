import type Joi from 'joi';
import type { DeferredSummary } from './deferred-queue';
import type { OrphanCleanupSummary } from './orphan-cleanup';
import { createScheduleSchema, patchScheduleSchema } from './schedule-schemas';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, patchSchedule } from './schedule-store';
import type { ScheduleStoreDeps } from './schedule-store';
import { getSchedulerStatus } from './status';
import type { SchedulerStatus, StatusDeps } from './status';
import type { TickSummary } from './tick';
import type { SchedulerRoutines } from './routines';
import type { ScheduleView } from './types';
import { describeDayClose } from '../tenants/usage-sync';
import type { DayCloseAnswer } from '../tenants/usage-sync';

/** The maintenance routines the admin endpoints call (the same ones the maintenance jobs run). */
type SchedulerRoutineCalls = Pick<SchedulerRoutines, 'tick' | 'processQueue' | 'resetDailyQuotas' | 'cleanupOrphans'>;


/** What the HTTP layer does with schedules and the scheduler's admin endpoints. */
export interface SchedulerOperations {
  createSchema: Joi.ObjectSchema;
  patchSchema: Joi.ObjectSchema;
  /** `takeSeat` (the caller's team seat) runs only once the body is valid and the template exists / the config is found. */
  create(tenantId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<ScheduleView>;
  list(tenantId: string): Promise<ScheduleView[]>;
  get(tenantId: string, configId: string): Promise<ScheduleView>;
  patch(tenantId: string, configId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<ScheduleView>;
  remove(tenantId: string, configId: string, takeSeat?: () => Promise<void>): Promise<void>;
  trigger(now: Date): Promise<TickSummary>;
  processQueue(now: Date): Promise<DeferredSummary>;
  resetDailyQuotas(now: Date): Promise<DayCloseAnswer>;
  cleanupOrphans(now: Date): Promise<OrphanCleanupSummary>;
  status(now: Date): Promise<SchedulerStatus>;
}

export function schedulerOperations(store: ScheduleStoreDeps, status: StatusDeps, routines: SchedulerRoutineCalls): SchedulerOperations {
  return {
    createSchema: createScheduleSchema,
    patchSchema: patchScheduleSchema,
    create: (tenantId, body, takeSeat) => createSchedule(store, tenantId, body, takeSeat),
    list: (tenantId) => listSchedules(store, tenantId),
    get: (tenantId, id) => getSchedule(store, tenantId, id),
    patch: (tenantId, id, body, takeSeat) => patchSchedule(store, tenantId, id, body, takeSeat),
    remove: (tenantId, id, takeSeat) => deleteSchedule(store, tenantId, id, takeSeat),
    trigger: (now) => routines.tick(now),
    processQueue: (now) => routines.processQueue(now),
    resetDailyQuotas: async (now) => {
      return describeDayClose(await routines.resetDailyQuotas(now), now);
    },
    cleanupOrphans: (now) => routines.cleanupOrphans(now),
    status: (now) => getSchedulerStatus(status, now),
  };
}
