import { PRIORITY_LIMIT, Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { RunStatus } from '../shared/run-status';

/**
 * The pipeline-runs queue: its name, the payload of a job, and the job options.
 * The BullMQ job id is always the run's `pipelineLoggingId`, so adding the same run twice is a no-op.
 */
export const PIPELINE_RUNS_QUEUE = 'pipeline-runs';

/** `backfill` and `fanout`: runs a batch (src/batches/) started through the same admission. */
export type TriggerType = 'api' | 'scheduler' | 'backfill' | 'fanout';

/** JSON-serialisable run parameters after validation against the template's declarations. */
export type RunParameters = Record<string, string | number | boolean | null>;

export interface PipelineRunJob {
  pipelineLoggingId: string;
  pipelineId: string;
  tenantId: string;
  provider: string;
  domain: string;
  templateName: string;
  parameters: RunParameters;
  userId: string | null;
  triggerType: TriggerType;
  /** Set for scheduled fires. */
  configId?: string;
  scheduledTime?: string;
  /** The fan-out a `fanout` run belongs to: its end is recorded there. */
  batchId?: string;
  /** ISO time of admission; the admitted run's usage day is derived from it. */
  admittedAt: string;
}

/** What the API and the scheduler ask for when they start a run. */
export interface TriggerRequest {
  tenantId: string;
  provider: string;
  domain: string;
  templateName: string;
  /** Raw parameters; validated against the template's declarations by the trigger routine. */
  parameters: Record<string, unknown>;
  userId: string | null;
  triggerType: TriggerType;
  /** Deterministic run id for scheduled fires (derived from config id + fire time); random otherwise. */
  runId?: string;
  configId?: string;
  scheduledTime?: string;
  /** The fan-out of a `fanout` run. */
  batchId?: string;
  idempotencyKey?: string;
}

export type { RunStatus, TerminalRunStatus } from '../shared/run-status';
export { RUN_STATUSES, TERMINAL_STATUSES, isTerminalStatus } from '../shared/run-status';

/** The error message of a run cancelled through the API, and its job's failure reason in Bull Board. */
export const CANCELLED_BY_USER = 'Cancelled by user';

export interface TriggerResult {
  /** `created`: admitted and enqueued now; `existing`: an identical run in flight (or the same run id / idempotency key) was returned. */
  kind: 'created' | 'existing';
  pipelineLoggingId: string;
  pipelineId: string;
  tenantId: string;
  status: RunStatus;
}

/**
 * Starts a run: validates parameters, admits against quotas (throws AppError 429
 * DAILY_QUOTA_EXCEEDED / MONTHLY_QUOTA_EXCEEDED / CONCURRENT_LIMIT_REACHED, 404 TEMPLATE_NOT_FOUND,
 * 422 VALIDATION_ERROR) and enqueues. Touches only Redis.
 */
export type TriggerRun = (request: TriggerRequest) => Promise<TriggerResult>;

export interface PipelineRunsQueueOptions {
  /** Finished jobs leave Redis after this many seconds… */
  retentionSeconds: number;
  /** …or once this many newer finished jobs exist. */
  retentionCount: number;
  /** FAIR_DISPATCH: enqueue with the dispatch priority admission gave the run (false: one FIFO for all tenants). */
  fairDispatch?: boolean;
}

/**
 * Fair dispatch (README "Fair dispatch"): admission gives each run a dispatch priority k ≥ 1, its place in its
 * tenant's backlog of queued runs, and the job is enqueued with it. BullMQ serves its plain wait list first, then
 * its prioritized set by priority (lower first; FIFO within one priority across all tenants). So a tenant's first
 * queued run (k = 1) goes to the plain list (O(1), the common unsaturated case costs what it did), and its k-th
 * (k ≥ 2) waits only behind runs of priority ≤ k: round-robin across tenants. Capped at BullMQ's limit (2^21 − 1).
 */
export function dispatchJobPriority(dispatchPriority: number | undefined): number | undefined {
  if (dispatchPriority === undefined || !(dispatchPriority >= 2)) return undefined;
  return Math.min(Math.floor(dispatchPriority), PRIORITY_LIMIT);
}

/** Job options of every run: the job id is the run id; BullMQ never retries a whole run (steps retry themselves). */
export function pipelineRunJobOptions(job: PipelineRunJob, options: PipelineRunsQueueOptions, dispatchPriority?: number): JobsOptions {
  const priority = options.fairDispatch === false ? undefined : dispatchJobPriority(dispatchPriority);
  return {
    jobId: job.pipelineLoggingId,
    ...(priority === undefined ? {} : { priority }),
    attempts: 1,
    removeOnComplete: { age: options.retentionSeconds, count: options.retentionCount },
    removeOnFail: { age: options.retentionSeconds, count: options.retentionCount },
  };
}

export function createPipelineRunsQueue(connection: RedisClient, keys: RedisKeys): Queue<PipelineRunJob> {
  return new Queue<PipelineRunJob>(PIPELINE_RUNS_QUEUE, { connection, prefix: keys.bullPrefix });
}

export async function enqueuePipelineRun(queue: Queue<PipelineRunJob>, job: PipelineRunJob, options: PipelineRunsQueueOptions, dispatchPriority?: number): Promise<void> {
  await queue.add(job.templateName, job, pipelineRunJobOptions(job, options, dispatchPriority));
}
