/**
 * The one error type of the codebase. Routes and services throw AppError; the error middleware
 * turns it into `{detail, code, request_id}`. `expose` = false hides the detail behind a generic text.
 */
export type ErrorCode =
  | 'VALIDATION_ERROR'
  | 'INVALID_JSON'
  | 'PAYLOAD_TOO_LARGE'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'INVALID_API_KEY'
  | 'ADMIN_KEY_REQUIRED'
  | 'INVALID_ADMIN_KEY'
  | 'TENANT_MISMATCH'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_EXISTS'
  | 'RESERVED_TENANT_ID'
  | 'TENANT_SUSPENDED'
  | 'API_KEY_NOT_FOUND'
  | 'API_KEY_EXPIRING'
  | 'ONBOARDING_FAILED'
  | 'TEMPLATE_NOT_FOUND'
  | 'TEMPLATE_INVALID'
  | 'RUN_NOT_FOUND'
  | 'RUN_ALREADY_FINISHED'
  | 'SCHEDULE_NOT_FOUND'
  | 'PROVIDER_NOT_FOUND'
  | 'INVALID_TABLE_REFERENCE'
  | 'DAILY_QUOTA_EXCEEDED'
  | 'MONTHLY_QUOTA_EXCEEDED'
  | 'CONCURRENT_LIMIT_REACHED'
  | 'TEAM_LIMIT_REACHED'
  | 'PROVIDER_LIMIT_REACHED'
  | 'RATE_LIMITED'
  | 'AUTH_RATE_LIMITED'
  | 'IDEMPOTENCY_CONFLICT'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'WAREHOUSE_ERROR'
  | 'WAREHOUSE_PERMISSION_DENIED'
  | 'SQL_NOT_SINGLE_STATEMENT'
  | 'SQL_NOT_READ_ONLY'
  | 'SQL_FUNCTION_NOT_ALLOWED'
  | 'SQL_EXTERNAL_ACCESS_DENIED'
  | 'SQL_BYTES_LIMIT_EXCEEDED'
  | 'BACKFILL_NEEDS_DATE_PARAMETER'
  | 'BACKFILL_TOO_LONG'
  | 'BACKFILL_NOT_FOUND'
  | 'BACKFILL_LIMIT_REACHED'
  | 'FANOUT_NOT_FOUND'
  | 'BYTES_LIMIT_EXCEEDED'
  | 'INTERNAL_ERROR'
  // offboarding (issue 13.2)
  | 'TENANT_DELETED'
  | 'OFFBOARD_IN_PROGRESS'
  | 'EXPORT_DESTINATION_INVALID'
  // webhooks (issue 13.1)
  | 'WEBHOOK_NOT_FOUND'
  | 'WEBHOOK_URL_NOT_ALLOWED'
  | 'WEBHOOK_LIMIT_REACHED'
  | 'WEBHOOK_INACTIVE'
  | 'WEBHOOK_DELIVERY_NOT_FOUND'
  | 'WEBHOOK_DELIVERY_IN_PROGRESS';

export interface FieldError {
  field: string;
  message: string;
}

export interface AppErrorOptions {
  expose?: boolean;
  headers?: Record<string, string>;
  errors?: FieldError[];
  cause?: unknown;
  /** Extra fields merged into the response body (e.g. the failed onboarding step). */
  extra?: Record<string, unknown>;
}

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly headers: Record<string, string>;
  readonly errors: FieldError[] | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(status: number, code: ErrorCode, detail: string, options: AppErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    // A 503 is written for the caller (what is unavailable, when to retry); other 5xx hide their detail unless told.
    this.expose = options.expose ?? (status < 500 || status === 503);
    this.headers = options.headers ?? {};
    this.errors = options.errors;
    this.extra = options.extra;
  }
}

export const isAppError = (err: unknown): err is AppError => err instanceof AppError;

export const notFound = (code: ErrorCode, detail: string): AppError => new AppError(404, code, detail);

export const validationError = (errors: FieldError[], detail = 'Request validation failed'): AppError =>
  new AppError(422, 'VALIDATION_ERROR', detail, { errors });

export const dependencyUnavailable = (what: string, cause?: unknown): AppError =>
  new AppError(503, 'DEPENDENCY_UNAVAILABLE', `${what} is unavailable, retry shortly`, {
    expose: true,
    cause,
    headers: { 'Retry-After': '5' },
  });
