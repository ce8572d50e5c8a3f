/**
 * The pipeline-runs queue: its name, the payload of a job, and the job options.
 * The BullMQ job id is always the run's `pipelineLoggingId`, so adding the same run twice is a no-op.
 */
export const PIPELINE_RUNS_QUEUE = 'pipeline-runs';

export type TriggerType = 'api' | 'scheduler';

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
  /** ISO time of admission; the admitted run's usage day is derived from it. */
  admittedAt: string;
}
