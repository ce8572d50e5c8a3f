import type { Middleware } from 'koa';
import { AppError, dependencyUnavailable, isAppError } from '../../shared/errors';
import { WarehouseError } from '../../warehouse/types';
import type { ApiState } from '../types';

/** ioredis reports an unreachable server (or cluster: startup nodes, slot map, CLUSTERDOWN) with these messages/names; they mean 503, not 500. */
const REDIS_DOWN = /(Connection is closed|enableOfflineQueue|ECONNREFUSED|ETIMEDOUT|Command timed out|MaxRetriesPerRequest|Stream isn't writeable|connect ECONN|ENOTCONN|Socket closed|None of startup nodes is available|Failed to refresh slots cache|CLUSTERDOWN|Cluster is disconnect|Too many Cluster redirections)/i;

/**
 * A warehouse error no route turned into an answer of its own. None is the client's doing by then (a client's SQL —
 * operator queries, validate — is answered 422 where it runs), so none is a bare 500: the warehouse is unavailable
 * (503 DEPENDENCY_UNAVAILABLE, naming the reason), or refuses the platform's credentials (503
 * WAREHOUSE_PERMISSION_DENIED: an operator must fix the service account's access; retrying does not help).
 */
function warehouseAppError(err: WarehouseError): AppError {
  if (err.reason === 'unavailable') return dependencyUnavailable('The warehouse', err);
  if (err.reason === 'permission_denied') {
    return new AppError(503, 'WAREHOUSE_PERMISSION_DENIED', "The warehouse refused the platform's credentials; an operator must grant its service account access", { expose: true, cause: err });
  }
  return new AppError(503, 'DEPENDENCY_UNAVAILABLE', `The warehouse failed (${err.reason}), retry shortly`, { expose: true, cause: err, headers: { 'Retry-After': '5' } });
}

/**
 * Replies a Redis server gives while it cannot serve the command for now — a slot being resharded (TRYAGAIN, and
 * MOVED/ASK redirections ioredis does not follow inside a batch), a node loading its data set or busy in a script,
 * a failover in progress (MASTERDOWN, READONLY, and NOSCRIPT from a just promoted replica, which never had the
 * script cached: BullMQ's scripts on an auto-pipelined connection) — none of which ran the command: 503, retry later, not 500.
 */
const TRANSIENT_REPLY = /^(TRYAGAIN|MOVED|ASK|LOADING|BUSY|MASTERDOWN|READONLY|CLUSTERDOWN|NOSCRIPT) /;

const isTransientClusterReply = (err: unknown): boolean => err instanceof Error && err.name === 'ReplyError' && TRANSIENT_REPLY.test(err.message);

export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof WarehouseError) return warehouseAppError(err);
  if (err instanceof Error && (REDIS_DOWN.test(err.message) || err.name === 'MaxRetriesPerRequestError')) {
    return dependencyUnavailable('Redis', err);
  }
  if (isTransientClusterReply(err)) return dependencyUnavailable('Redis', err);
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
      // `extra` adds fields (a failed onboarding's step) and can never replace detail, code or request_id.
      ctx.body = {
        ...(err.extra ?? {}),
        detail: err.expose ? err.message : 'Internal server error',
        code: err.code,
        request_id: ctx.state.requestId,
        ...(err.errors ? { errors: err.errors } : {}),
      };
    }
  };
}
