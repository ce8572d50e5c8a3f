import type Joi from 'joi';
import type { ErrorCode } from '../shared/errors';
import type { RouteAudit } from './audit-route';
import type { ApiContext } from './types';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Which guard a route sits behind; it also picks the rate limiter. */
export type RouteAuth = 'none' | 'tenant' | 'admin';

/** A success answer: what it means and the joi schema of its body (none for 204). */
export interface SuccessResponse {
  description: string;
  body?: Joi.Schema;
  /** application/json unless given (the metrics exposition is text). */
  contentType?: string;
}

/** Status → answer with a body schema of its own: the 2xx answers (and /health/ready's 503, which is not an error body). */
export type RouteResponses = Record<number, SuccessResponse>;

/** Error code → when this route answers it (the OpenAPI document lists each, README "Error codes" says more). */
export type ErrorCodes = Partial<Record<ErrorCode, string>>;

/**
 * Status → the error codes a route answers with that status, beyond those every route of its kind answers (auth,
 * rate limits, body, validation, 5xx), which src/api/error-responses.ts derives from the row. A code's status must
 * be the one README "Error codes" gives it (test/api/openapi-errors.test.ts).
 */
export type RouteErrors = Partial<Record<number, ErrorCodes>>;

/**
 * One row of the route table. The same joi schemas validate the request and feed the OpenAPI document,
 * so the docs cannot drift from what the server accepts.
 */
export interface RouteSpec {
  method: HttpMethod;
  path: string;
  auth: RouteAuth;
  /** Tenant routes: the 50/min pipeline limiter instead of (in addition to) the 600/min one. */
  runLimited?: boolean;
  /**
   * Tenant routes where the caller acts (runs, schedules, settings): the X-User-ID takes a team seat
   * (SPEC §6; reads never do). 'after-validation': the guard chain takes it once the request validated;
   * 'by-service': the service takes it after its own checks, so a 404 or 422 takes none. Either may
   * answer 403 TEAM_LIMIT_REACHED, which the OpenAPI document lists for the route.
   */
  takesSeat?: 'after-validation' | 'by-service';
  summary: string;
  tag: string;
  params?: Joi.ObjectSchema;
  query?: Joi.ObjectSchema;
  body?: Joi.ObjectSchema;
  /** An example request body for Swagger UI (an open-ended body would otherwise be pre-filled with `additionalProp1`). */
  example?: Record<string, unknown>;
  /** The route reads an `Idempotency-Key` header. */
  idempotencyKey?: boolean;
  responses: RouteResponses;
  /** The error codes of this route's own making (not found, conflicts, limits of its service…). */
  errors?: RouteErrors;
  /**
   * false: the route never uses the warehouse, or answers its refusals itself, so it cannot answer 503
   * WAREHOUSE_PERMISSION_DENIED (which every other /api route documents).
   */
  warehouse?: false;
  /** Audited routes (README "Audit log"): one audit row per authenticated call, with its outcome. */
  audit?: RouteAudit;
  handler: (ctx: ApiContext) => Promise<void>;
}

/** What the OpenAPI document needs of a route: everything but the handler (operational routes have no row). */
export type DocumentedRoute = Omit<RouteSpec, 'handler'>;

/** Builds a route spec with its handler typed against the validated parts. */
export const route = (spec: RouteSpec): RouteSpec => spec;

/** A 2xx answer with its body schema. */
export const ok = (description: string, body?: Joi.Schema): SuccessResponse => (body ? { description, body } : { description });

/** The validated, converted body/query/params of a request. */
export function validated<T>(ctx: ApiContext, part: 'body' | 'query'): T {
  return ctx.state[part] as T;
}
