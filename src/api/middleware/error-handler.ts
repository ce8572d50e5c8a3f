import type { Middleware } from 'koa';
import { AppError, dependencyUnavailable, isAppError } from '../../shared/errors';
import { WarehouseError } from '../../warehouse/types';
import type { ApiState } from '../types';

/** ioredis reports an unreachable server (or cluster: startup nodes, slot map, CLUSTERDOWN) with these messages/names; they mean 503, not 500. */
const REDIS_DOWN = /(Connection is closed|enableOfflineQueue|ECONNREFUSED|ETIMEDOUT|Command timed out|MaxRetriesPerRequest|Stream isn't writeable|connect ECONN|ENOTCONN|Socket closed|None of startup nodes is available|Failed to refresh slots cache|CLUSTERDOWN|Cluster is disconnect|Too many Cluster redirections)/i;

export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof WarehouseError && err.reason === 'unavailable') return dependencyUnavailable('The warehouse', err);
  if (err instanceof Error && (REDIS_DOWN.test(err.message) || err.name === 'MaxRetriesPerRequestError')) {
    return dependencyUnavailable('Redis', err);
  }
  return new AppError(500, 'INTERNAL_ERROR', 'Internal server error', { expose: false, cause: err });
}

/**
 * The only place an error becomes a response body: `{detail, code, request_id}` (+ `errors` for 422).
 * 5xx bodies never carry internals; the cause is logged with the request id instead.
 */
export function errorHandler(): Middleware<ApiState> {
  return async (ctx, next) => {
    try {
      await next();
    } catch (raw) {
      const err = toAppError(raw);
      const log = ctx.state.log;
      if (err.status >= 500) {
        const cause = err.cause ?? raw;
        log.error({ err: cause instanceof Error ? { name: cause.name, message: cause.message, stack: cause.stack } : cause, code: err.code }, 'request failed');
      }
      ctx.status = err.status;
      for (const [name, value] of Object.entries(err.headers)) ctx.set(name, value);
      ctx.body = {
        detail: err.expose ? err.message : 'Internal server error',
        code: err.code,
        request_id: ctx.state.requestId,
        ...(err.errors ? { errors: err.errors } : {}),
        ...(err.extra ?? {}),
      };
    }
  };
}
