import type { RedisClient } from '../redis/connection';
import type { Logger } from '../shared/logger';
import type { RedisKeys } from '../redis/keys';
import type { Warehouse } from '../warehouse/types';
import type { CreateScheduleInput } from './schedule-schemas';

export const OVERLAP_POLICIES = ['skip', 'queue', 'allow'] as const;
export const MISFIRE_POLICIES = ['skip', 'run_once'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

/** What happened to one fire; one `customers.scheduled_pipeline_runs` row each. */
export type FireState = 'TRIGGERED' | 'SKIPPED' | 'SKIPPED_QUOTA' | 'QUEUED' | 'MISFIRED' | 'FAILED';

/** A schedule config as stored (Redis hash and warehouse row carry the same fields). */
export interface ScheduleConfig extends CreateScheduleInput {
  config_id: string;
  tenant_id: string;
  last_run_time: string | null;
  last_run_status: string | null;
  /** Run id of the latest fire that started or waits in the deferred queue (overlap checks). */
  last_run_id: string | null;
  created_at: string;
  updated_at: string;
}

/** What the API answers for a config. */
export interface ScheduleView extends Omit<ScheduleConfig, 'last_run_id'> {
  next_run_time: string | null;
  next_run_times: string[];
}

/** The clients every scheduler routine needs. */
export interface SchedulerBaseDeps {
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  logger?: Logger;
}
