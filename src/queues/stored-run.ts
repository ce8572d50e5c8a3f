import type { Run } from '../pipelines/run';
import type { StepState, StepStatus, StepType } from '../pipelines/types';
import type { Row } from '../warehouse/types';
import type { RunParameters, RunStatus, TriggerType } from './pipeline-runs';

/**
 * A run read back from the warehouse (`x_meta_pipeline_runs` and `x_meta_step_logs`, the rows the
 * executor and the run log outbox wrote) in the same `Run` shape the live record in Redis has.
 * Columns the writer leaves null come back as absent step fields, as the executor reports them.
 */
const text = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));
const count = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export function stepFromRow(row: Row): StepState {
  const step: StepState = { id: String(row.step_name), type: String(row.step_type) as StepType, status: String(row.status) as StepStatus, attempt: count(row.attempt) ?? 0 };
  const startTime = text(row.start_time);
  const endTime = text(row.end_time);
  const durationMs = count(row.duration_ms);
  const rowsProcessed = count(row.rows_processed);
  const bytesProcessed = count(row.bytes_processed);
  const bytesBilled = count(row.bytes_billed);
  const estimatedCostUsd = count(row.estimated_cost_usd);
  const errorMessage = text(row.error_message);
  return {
    ...step,
    ...(startTime === null ? {} : { startTime }),
    ...(endTime === null ? {} : { endTime }),
    ...(durationMs === null ? {} : { durationMs }),
    ...(rowsProcessed === null ? {} : { rowsProcessed }),
    ...(bytesProcessed === null ? {} : { bytesProcessed }),
    ...(bytesBilled === null ? {} : { bytesBilled }),
    ...(estimatedCostUsd === null ? {} : { estimatedCostUsd }),
    ...(errorMessage === null ? {} : { errorMessage }),
  };
}

/** `steps` are the run's step rows ordered by step_index; a listing passes none. */
export function runFromRows(row: Row, steps: Row[]): Run {
  return {
    pipelineLoggingId: String(row.pipeline_logging_id),
    pipelineId: String(row.pipeline_id),
    tenantId: String(row.tenant_id),
    userId: text(row.user_id),
    triggerType: String(row.trigger_type) as TriggerType,
    status: String(row.status) as RunStatus,
    parameters: (row.parameters ?? {}) as RunParameters,
    createdAt: text(row.created_at) ?? '',
    startTime: text(row.start_time),
    endTime: text(row.end_time),
    durationMs: count(row.duration_ms),
    stepsTotal: count(row.steps_total) ?? steps.length,
    stepsDone: count(row.steps_done) ?? 0,
    steps: steps.map(stepFromRow),
    errorMessage: text(row.error_message),
  };
}
