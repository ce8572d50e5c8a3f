import type { RunParameters, RunStatus, TriggerType } from '../queues/pipeline-runs';
import type { StepState } from './types';

/**
 * One run as every layer sees it: the executor's outcome, the live record in Redis, the stored rows in
 * the warehouse and the API body (src/api/run-body.ts) all carry these fields, so a run reads the same
 * wherever it is answered from. Times are ISO strings in UTC with millisecond precision.
 */
export interface Run {
  pipelineLoggingId: string;
  pipelineId: string;
  tenantId: string;
  userId: string | null;
  triggerType: TriggerType;
  status: RunStatus;
  parameters: RunParameters;
  createdAt: string;
  startTime: string | null;
  endTime: string | null;
  durationMs: number | null;
  stepsTotal: number;
  stepsDone: number;
  /** In template order (the warehouse's `step_index`). */
  steps: StepState[];
  errorMessage: string | null;
}

/** Steps done and total as the API reports them. */
export interface RunProgressCounts {
  stepsDone: number;
  stepsTotal: number;
  percent: number;
}

export const progressOf = (run: Pick<Run, 'stepsDone' | 'stepsTotal'>): RunProgressCounts => ({
  stepsDone: run.stepsDone,
  stepsTotal: run.stepsTotal,
  percent: run.stepsTotal > 0 ? Math.round((run.stepsDone / run.stepsTotal) * 100) : 0,
});
