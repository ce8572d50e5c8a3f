import { appendStateRows } from '../warehouse/state-tables';
import { CUSTOMERS_DATASET, customerPipelineConfigs, pipelineExecutionQueue, scheduledPipelineRuns } from '../warehouse/tables';
import type { Row, Warehouse } from '../warehouse/types';
import type { FireState, ScheduleConfig } from './types';

/**
 * The scheduler's warehouse writes. Every write is an appended snapshot row (the views show the
 * latest per key); callers batch: one call per tick for all its fires.
 */
let lastSeq = 0;

/**
 * Event ordinal of a write: microseconds of `now`, bumped so that two writes of this process never
 * share one (a fire's QUEUED row and its later TRIGGERED row may be written in the same ms).
 */
export function nextSeq(now: Date): number {
  lastSeq = Math.max(now.getTime() * 1000, lastSeq + 1);
  return lastSeq;
}

export interface FireRow {
  config_id: string;
  tenant_id: string;
  scheduled_time: Date;
  state: FireState | 'STARTED';
  pipeline_logging_id: string | null;
  reason: string | null;
}

export interface QueueRow {
  queue_id: string;
  tenant_id: string;
  config_id: string | null;
  pipeline_id: string;
  scheduled_time: Date | null;
  state: 'QUEUED' | 'STARTED' | 'SKIPPED_QUOTA' | 'FAILED' | 'CANCELLED';
  pipeline_logging_id: string;
  enqueued_at: Date;
  started_at: Date | null;
}

export async function writeConfigRow(
  warehouse: Warehouse,
  config: ScheduleConfig,
  options: { nextRunTime: Date | null; deleted: boolean; now: Date },
): Promise<void> {
  const row: Row = {
    config_id: config.config_id,
    tenant_id: config.tenant_id,
    provider: config.provider,
    domain: config.domain,
    pipeline_template: config.pipeline_template,
    schedule_cron: config.schedule_cron,
    timezone: config.timezone,
    is_active: config.is_active,
    parameters: config.parameters,
    overlap_policy: config.overlap_policy,
    misfire_policy: config.misfire_policy,
    next_run_time: options.nextRunTime,
    last_run_time: config.last_run_time === null ? null : new Date(config.last_run_time),
    last_run_status: config.last_run_status,
    is_deleted: options.deleted,
    created_at: new Date(config.created_at),
    updated_at: new Date(config.updated_at),
  };
  await appendStateRows(warehouse, CUSTOMERS_DATASET, customerPipelineConfigs, [row], { now: options.now, seq: nextSeq(options.now) });
}

export async function writeFireRows(warehouse: Warehouse, rows: FireRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  const out: Row[] = rows.map((r) => ({ ...r, recorded_at: now }));
  await appendStateRows(warehouse, CUSTOMERS_DATASET, scheduledPipelineRuns, out, { now, seq: nextSeq(now) });
}

export async function writeQueueRows(warehouse: Warehouse, rows: QueueRow[], now: Date): Promise<void> {
  if (rows.length === 0) return;
  await appendStateRows(warehouse, CUSTOMERS_DATASET, pipelineExecutionQueue, rows.map((r) => ({ ...r })), { now, seq: nextSeq(now) });
}
