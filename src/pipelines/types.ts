import type { ColumnType } from '../warehouse/types';

/**
 * Template shapes. Keys mirror the YAML of SPEC §7 (snake_case) so a template file and its parsed
 * form read the same; the joi schema in template-schema.ts is the single source of validation.
 */
export type ParameterType = 'string' | 'date' | 'integer' | 'number' | 'boolean' | 'enum';
export type ParameterValue = string | number | boolean | null;

export interface ParameterDecl {
  name: string;
  type: ParameterType;
  required: boolean;
  /** A literal, or for dates a relative keyword resolved at trigger time in UTC: @today, @yesterday, @today-<n>d, @month_start. */
  default?: ParameterValue;
  description?: string;
  values?: Array<string | number>;
  min?: number;
  max?: number;
  pattern?: string;
  max_length?: number;
}

export interface RetryPolicy {
  /** Total tries including the first (BullMQ's meaning of `attempts`). */
  attempts: number;
  /** Delay before the first retry; doubles for each further retry. */
  backoff_seconds: number;
}

export interface SchemaColumn {
  name: string;
  type: ColumnType;
  mode?: 'NULLABLE' | 'REQUIRED';
  description?: string;
}

export type WriteMode = 'append' | 'truncate' | 'replace_partition' | 'merge';

export interface Destination {
  /** Table name inside the tenant dataset; the dataset is never configurable. */
  table: string;
  write_mode: WriteMode;
  /** replace_partition: the partition column and the run parameter holding its value. */
  partition_column?: string;
  partition_param?: string;
  merge_keys?: string[];
  schema: { columns: SchemaColumn[]; partition_by?: string; cluster_by?: string[] };
}

interface StepBase {
  id: string;
  depends_on: string[];
  timeout_minutes?: number;
  retry?: RetryPolicy;
  on_failure: 'stop' | 'continue';
  description?: string;
}

export interface QueryStep extends StepBase {
  type: 'query';
  sql: string;
  sql_overrides?: { duckdb?: string; bigquery?: string };
  destination?: Destination;
}

export type Severity = 'error' | 'warn';

export type DqCheck =
  | { type: 'row_count'; name?: string; severity: Severity; min?: number; max?: number }
  | { type: 'not_null'; name?: string; severity: Severity; columns: string[] }
  | { type: 'unique'; name?: string; severity: Severity; columns: string[] }
  | { type: 'accepted_values'; name?: string; severity: Severity; column: string; values: Array<string | number> }
  | { type: 'range'; name?: string; severity: Severity; column: string; min?: number; max?: number }
  | { type: 'freshness'; name?: string; severity: Severity; column: string; max_age: string }
  | { type: 'custom'; name?: string; severity: Severity; sql: string };

export interface DataQualityStep extends StepBase {
  type: 'data_quality';
  /** Table inside the tenant dataset. */
  table: string;
  /** Optional SQL predicate limiting the checked rows (may use @params), e.g. `cost_date = @date`. */
  filter?: string;
  checks: DqCheck[];
}

export interface DryrunStep extends StepBase {
  type: 'dryrun';
}

export type StepDef = QueryStep | DataQualityStep | DryrunStep;
export type StepType = StepDef['type'];

export interface Template {
  provider: string;
  domain: string;
  name: string;
  /** Path of the YAML file, for messages. */
  file: string;
  description: string;
  version: string;
  parameters: ParameterDecl[];
  variables: Record<string, string>;
  timeout_minutes: number;
  retry: RetryPolicy;
  steps: StepDef[];
}

export interface TemplateSummary {
  provider: string;
  domain: string;
  name: string;
  description: string;
  version: string;
  parameters: Array<{ name: string; type: ParameterType; required: boolean; default: ParameterValue | undefined; values?: Array<string | number>; description?: string }>;
}

// --- run state -----------------------------------------------------------------------------

export const STEP_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'SKIPPED', 'CANCELLED'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export interface StepState {
  id: string;
  type: StepType;
  status: StepStatus;
  attempt: number;
  startTime?: string;
  endTime?: string;
  durationMs?: number;
  rowsProcessed?: number;
  bytesProcessed?: number;
  /** BigQuery only (README "Cost guardrails"): bytes billed and their cost at BIGQUERY_PRICE_PER_TIB_USD. */
  bytesBilled?: number;
  estimatedCostUsd?: number;
  errorMessage?: string;
}

export interface RunOutcome {
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  errorMessage?: string;
  stepsTotal: number;
  stepsDone: number;
  steps: StepState[];
  startTime: string;
  endTime: string;
  durationMs: number;
  /**
   * Set when a job cancelled with the run has not reported what it billed yet: resolves (never rejects) to the
   * steps with those bytes once their rows are written again, or null when they billed nothing.
   */
  late?: Promise<StepState[] | null>;
}

export interface RunProgress {
  stepsDone: number;
  stepsTotal: number;
  steps: StepState[];
}
