import type { Run } from '../pipelines/run';
import { progressOf } from '../pipelines/run';
import { stepSnapshotOf } from '../pipelines/run-log-writer';
import type { RunSnapshot, StepSnapshot } from '../pipelines/run-log-writer';
import type { StepState } from '../pipelines/types';
import type { RunPage } from '../queues/run-service';

/**
 * The one serializer from a `Run` to the API's snake_case body. Every field is always present (null when
 * unknown), whether the run was read live from Redis or from the warehouse.
 */
export type StepBody = { id: string; type: string } & Omit<StepSnapshot, 'pipeline_logging_id' | 'step_name' | 'step_type' | 'step_index'>;

/** The run row's fields (x_meta_pipeline_runs) plus progress; created_at is always known for a run the API can read. */
export type RunSummaryBody = Pick<RunSnapshot, 'pipeline_logging_id' | 'pipeline_id' | 'tenant_id' | 'user_id' | 'trigger_type' | 'status' | 'start_time' | 'end_time' | 'duration_ms' | 'error_message'> & {
  parameters: Run['parameters'];
  created_at: string;
  progress: { steps_done: number; steps_total: number; percent: number };
};

export interface RunBody extends RunSummaryBody {
  steps: StepBody[];
}

/** The step's warehouse row (x_meta_step_logs) under the API's names: one snake_case mapping of a step. */
export function stepBody(s: StepState): StepBody {
  const { step_name: id, step_type: type, pipeline_logging_id: _run, step_index: _index, ...rest } = stepSnapshotOf('', 0, s);
  return { id, type, ...rest };
}

/** A run in a listing: everything but the steps. */
export function runSummaryBody(run: Run): RunSummaryBody {
  const progress = progressOf(run);
  return {
    pipeline_logging_id: run.pipelineLoggingId,
    pipeline_id: run.pipelineId,
    tenant_id: run.tenantId,
    user_id: run.userId,
    trigger_type: run.triggerType,
    status: run.status,
    parameters: run.parameters,
    created_at: run.createdAt,
    start_time: run.startTime,
    end_time: run.endTime,
    duration_ms: run.durationMs,
    progress: { steps_done: progress.stepsDone, steps_total: progress.stepsTotal, percent: progress.percent },
    error_message: run.errorMessage,
  };
}

export const runBody = (run: Run): RunBody => ({ ...runSummaryBody(run), steps: run.steps.map(stepBody) });

export const runPageBody = (page: RunPage): { runs: RunSummaryBody[]; next_cursor: string | null } => ({
  runs: page.runs.map(runSummaryBody),
  next_cursor: page.nextCursor,
});
