import type { Clock } from '../../shared/clock';
import type { RunParameters } from '../../queues/pipeline-runs';
import type { ColumnType, QueryParams, QueryResult, Row, Warehouse } from '../../warehouse/types';
import { sqlParamNames } from '../sql-scan';
import type { RenderContext } from '../render';
import type { DqResultRow } from '../run-log-writer';

/** What a step processor gets: everything it may touch, nothing global. */
export interface StepContext {
  warehouse: Warehouse;
  /** The tenant dataset; the only dataset a step writes to. */
  dataset: string;
  pipelineLoggingId: string;
  stepId: string;
  render: RenderContext;
  params: RunParameters;
  paramTypes: Record<string, ColumnType>;
  /** Aborted on step timeout, run timeout or cancellation; passed to every warehouse call. */
  signal: AbortSignal;
  clock: Clock;
  labels: Record<string, string>;
  /** Buffers data-quality result rows for x_meta_dq_results (the log writer batches them). */
  recordDq(rows: DqResultRow[]): void;
}

export interface StepResult {
  rowsProcessed?: number;
  bytesProcessed?: number;
}

/** A step's own failure that retrying cannot fix (a failed data-quality check). */
export class StepFailure extends Error {
  constructor(message: string, readonly retryable = false) {
    super(message);
    this.name = 'StepFailure';
  }
}

/**
 * Runs one statement with exactly the parameters it uses, typed from the template's declarations,
 * plus `extra` engine-owned values (names starting with `_`, which templates cannot declare).
 */
export async function runSql<R extends Row = Row>(
  ctx: StepContext,
  sql: string,
  extra: { params?: QueryParams; types?: Record<string, ColumnType> } = {},
): Promise<QueryResult<R>> {
  const params: QueryParams = {};
  const types: Record<string, ColumnType> = {};
  for (const name of sqlParamNames(sql)) {
    if (extra.params && name in extra.params) {
      params[name] = extra.params[name] ?? null;
      const t = extra.types?.[name];
      if (t) types[name] = t;
    } else if (name in ctx.params) {
      params[name] = ctx.params[name] ?? null;
      const t = ctx.paramTypes[name];
      if (t) types[name] = t;
    }
  }
  return ctx.warehouse.query<R>(sql, { params, paramTypes: types, signal: ctx.signal, labels: ctx.labels });
}
