import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../observability/metrics';
import type { ApiState } from '../types';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

/**
 * Gives every request an id (echoing a sane client-sent X-Request-ID), a child logger carrying it,
 * an access-log line and the HTTP metrics. Route labels use the matched route template, never the raw path,
 * so metric cardinality stays bounded.
 */
export function requestContext(logger: Logger, metrics: Metrics): Middleware<ApiState> {
  return async (ctx, next) => {
    const sent = ctx.get('X-Request-ID');
    const requestId = REQUEST_ID_PATTERN.test(sent) ? sent : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = logger.child({ request_id: requestId });
    ctx.set('X-Request-ID', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      const labels = { method: ctx.method, route: String(route), status: String(ctx.status) };
      metrics.httpRequests.inc(labels);
      metrics.httpDuration.observe(labels, seconds);
      const auth = ctx.state.auth;
      ctx.state.log.info(
        {
          method: ctx.method,
          route: labels.route,
          status: ctx.status,
          duration_ms: Math.round(seconds * 1000),
          tenant_id: auth?.tenantId,
          user_id: auth?.userId ?? undefined,
        },
        'request',
      );
    }
  };
}
