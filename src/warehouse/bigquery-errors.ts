import { WarehouseError } from './types';

/** Error mapping and retry policy of the BigQuery adapter, kept in one place. */

interface ApiErrorLike {
  code?: number | string;
  message?: string;
  errors?: Array<{ reason?: string; message?: string; errors?: Array<{ reason?: string; message?: string }> }>;
}

const TRANSIENT_REASONS = new Set(['backendError', 'internalError', 'rateLimitExceeded', 'jobBackendError', 'jobInternalError']);
/**
 * Not worth an immediate retry, but not the query's fault either: the project's quotas (e.g. concurrent queries)
 * are used up for now. Callers see the warehouse as unavailable (a step retries later, the API answers 503).
 */
const UNAVAILABLE_REASONS = new Set(['quotaExceeded']);
/** The platform's own credentials or project are refused (IAM, billing): an operator must act. */
const PERMISSION_REASONS = new Set(['accessDenied', 'billingNotEnabled', 'authError']);
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND']);

function reasonsOf(err: ApiErrorLike): string[] {
  const out: string[] = [];
  for (const e of err.errors ?? []) {
    if (e.reason) out.push(e.reason);
    for (const inner of e.errors ?? []) if (inner.reason) out.push(inner.reason);
  }
  return out;
}

export function isTransient(err: unknown): boolean {
  if (err instanceof WarehouseError) return err.reason === 'unavailable';
  const e = err as ApiErrorLike;
  if (typeof e.code === 'number' && (e.code === 429 || e.code >= 500)) return true;
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  return reasonsOf(e).some((r) => TRANSIENT_REASONS.has(r));
}

export function mapBigQueryError(err: unknown): WarehouseError {
  if (err instanceof WarehouseError) return err;
  const e = (err ?? {}) as ApiErrorLike;
  const message = e.message ?? String(err);
  const reasons = reasonsOf(e);
  const options = { cause: err };
  if (reasons.includes('stopped')) return new WarehouseError('Query cancelled', 'cancelled', options);
  if (reasons.includes('bytesBilledLimitExceeded')) return new WarehouseError(message, 'bytes_limit_exceeded', options);
  if (e.code === 404 || reasons.includes('notFound')) return new WarehouseError(message, 'not_found', options);
  if (e.code === 409 || reasons.includes('duplicate')) return new WarehouseError(message, 'already_exists', options);
  if (isTransient(err) || reasons.some((r) => UNAVAILABLE_REASONS.has(r))) return new WarehouseError(message, 'unavailable', options);
  if (e.code === 401 || reasons.some((r) => PERMISSION_REASONS.has(r))) return new WarehouseError(message, 'permission_denied', options);
  if (e.code === 400 || reasons.includes('invalidQuery') || reasons.includes('invalid') || reasons.includes('responseTooLarge')) {
    return new WarehouseError(message, 'invalid_query', options);
  }
  return new WarehouseError(message, 'unknown', options);
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 250 };

/**
 * Retries transient failures with exponential backoff and jitter; anything else fails at once. Once `signal`
 * aborted, nothing more is tried: the call fails `cancelled`.
 */
export async function withRetry<T>(policy: RetryPolicy, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new WarehouseError('Request cancelled', 'cancelled');
    try {
      return await fn();
    } catch (err) {
      if (signal?.aborted) throw new WarehouseError('Request cancelled', 'cancelled', { cause: err });
      if (attempt >= policy.attempts || !isTransient(err)) throw mapBigQueryError(err);
      const delay = policy.baseDelayMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
