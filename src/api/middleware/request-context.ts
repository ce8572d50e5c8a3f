import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../shared/logger';
import type { Metrics } from '../../observability/metrics';
import type { ApiState } from '../types';

const REQUEST_ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

interface HttpSeries {
  inc(): void;
  observe(seconds: number): void;
}

/**
 * The metric children of one method + route + status, made once: prom-client hashes a label object on
 * every call otherwise. Bounded: routes are templates (or 'unmatched'), methods are what Node's parser
 * accepts, statuses are few.
 */
function httpSeries(metrics: Metrics): (method: string, route: string, status: string) => HttpSeries {
  const made = new Map<string, HttpSeries>();
  return (method, route, status) => {
    const key = `${method} ${route} ${status}`;
    let series = made.get(key);
    if (!series) {
      const requests = metrics.httpRequests.labels(method, route, status);
      const duration = metrics.httpDuration.labels(method, route, status);
      series = { inc: () => requests.inc(), observe: (seconds) => duration.observe(seconds) };
      made.set(key, series);
    }
    return series;
  };
}

/** ctx.state of a request: its id, and its child logger made on first use. */
class RequestState implements ApiState {
  private child: Logger | undefined;
  constructor(
    private readonly logger: Logger,
    readonly requestId: string,
  ) {}
  get log(): Logger {
    return (this.child ??= this.logger.child({ request_id: this.requestId }));
  }
}

/**
 * Gives every request an id (echoing a sane client-sent X-Request-ID), a logger carrying it, an
 * access-log line and the HTTP metrics. Route labels use the matched route template, never the raw path,
 * so metric cardinality stays bounded. The request's child logger is made only when something logs
 * through it (errors); the access line carries the id itself.
 */
export function requestContext(logger: Logger, metrics: Metrics): Middleware<ApiState> {
  const seriesOf = httpSeries(metrics);
  return async (ctx, next) => {
    const sent = ctx.get('X-Request-ID');
    const requestId = REQUEST_ID_PATTERN.test(sent) ? sent : randomUUID();
    // A class with the lazy `log` on its prototype: no property definition or closure per request.
    ctx.state = new RequestState(logger, requestId);
    ctx.set('X-Request-ID', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = String((ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched');
      const series = seriesOf(ctx.method, route, String(ctx.status));
      series.inc();
      series.observe(seconds);
      const auth = ctx.state.auth;
      logger.info(
        {
          request_id: requestId,
          method: ctx.method,
          route,
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
