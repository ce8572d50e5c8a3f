import { AppError } from '../shared/errors';
import type { ErrorCode } from '../shared/errors';
import { WarehouseError } from './types';
import type { Refusal, SandboxResult, Warehouse } from './types';

/**
 * One read-only SELECT for an operator (`POST /api/v1/admin/warehouse/query` and `npm run sql` both come here):
 * the warehouse's sandbox runs it, and every refusal or engine error becomes a 422 with a stable code.
 */

export interface OperatorQueryLimits {
  maxRows: number;
  /** BigQuery bytes cap (ADMIN_QUERY_MAX_BYTES_BILLED). */
  maxBytesBilled: number;
  /** The query is interrupted, and answered, after this long (ADMIN_QUERY_TIMEOUT_MS). */
  timeoutMs: number;
  /** Bytes of rows in the answer at most (ADMIN_QUERY_MAX_RESULT_BYTES); past them `truncated: true`. */
  maxResultBytes?: number;
}

/** Rows an operator query returns at most; the route's documentation says the same. */
export const OPERATOR_QUERY_MAX_ROWS = 10_000;

const REFUSAL_CODES: Record<Refusal, ErrorCode> = {
  not_single_statement: 'SQL_NOT_SINGLE_STATEMENT',
  not_read_only: 'SQL_NOT_READ_ONLY',
  function_not_allowed: 'SQL_FUNCTION_NOT_ALLOWED',
  access_denied: 'SQL_EXTERNAL_ACCESS_DENIED',
  bytes_limit_exceeded: 'SQL_BYTES_LIMIT_EXCEEDED',
};

const isRefusal = (reason: WarehouseError['reason']): reason is Refusal => reason in REFUSAL_CODES;

export async function runOperatorQuery(warehouse: Warehouse, sql: string, limits: OperatorQueryLimits): Promise<SandboxResult> {
  const signal = AbortSignal.timeout(limits.timeoutMs);
  try {
    const { maxRows, maxBytesBilled, maxResultBytes } = limits;
    return await warehouse.sandboxQuery(sql, { maxRows, maxBytesBilled, ...(maxResultBytes === undefined ? {} : { maxResultBytes }), signal });
  } catch (err) {
    // An unreachable warehouse stays a 503 (error middleware); anything else the engine says is about this query.
    if (!(err instanceof WarehouseError) || err.reason === 'unavailable') throw err;
    if (isRefusal(err.reason)) throw new AppError(422, REFUSAL_CODES[err.reason], err.message, { cause: err });
    if (err.reason === 'cancelled' && signal.aborted) {
      throw new AppError(422, 'WAREHOUSE_ERROR', `The query was stopped after ${limits.timeoutMs} ms (ADMIN_QUERY_TIMEOUT_MS)`, { cause: err });
    }
    throw new AppError(422, 'WAREHOUSE_ERROR', err.message, { cause: err });
  }
}
