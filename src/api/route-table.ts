import type Joi from 'joi';
import type { ApiContext } from './types';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Which guard a route sits behind; it also picks the rate limiter. */
export type RouteAuth = 'none' | 'tenant' | 'admin';

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
  /** Status → description, for the OpenAPI document. */
  responses: Record<number, string>;
  handler: (ctx: ApiContext) => Promise<void>;
}

/** Builds a route spec with its handler typed against the validated parts. */
export const route = (spec: RouteSpec): RouteSpec => spec;

/** The validated, converted body/query/params of a request. */
export function validated<T>(ctx: ApiContext, part: 'body' | 'query'): T {
  return ctx.state[part] as T;
}
