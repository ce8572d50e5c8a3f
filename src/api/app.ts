import Koa from 'koa';
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { AppError } from '../shared/errors';
import { DEFAULT_API_WAREHOUSE_TIMEOUT_MS, withWarehouseDeadline } from '../warehouse/deadlines';
import { auditCall } from './audit-route';
import type { ApiDeps } from './deps';
import { identifyAdmin, requireAdmin, requireTenant } from './middleware/auth';
import { errorHandler } from './middleware/error-handler';
import { jsonBody } from './middleware/json-body';
import { requestContext } from './middleware/request-context';
import { securityHeaders } from './middleware/security-headers';
import { takeTeamSeat } from './middleware/team-seat';
import { validate } from './middleware/validate';
import { buildOpenApi } from './openapi';
import type { RouteSpec } from './route-table';
import { adminRoutes } from './routes/admin';
import { auditRoutes } from './routes/audit';
import { operationalDocs, operationalRouter } from './routes/health';
import { pipelineRoutes } from './routes/pipelines';
import { schedulerRoutes } from './routes/scheduler';
import { tenantRoutes } from './routes/tenants';
import { batchRoutes } from './routes/batches';
import { webhookRoutes } from './routes/webhooks';
import type { ApiContext, ApiState } from './types';

/** The whole route table; one screen per resource file. */
export function routeTable(deps: ApiDeps): RouteSpec[] {
  return [...tenantRoutes(deps), ...adminRoutes(deps), ...pipelineRoutes(deps), ...schedulerRoutes(deps), ...auditRoutes(deps), ...batchRoutes(deps), ...webhookRoutes(deps)];
}

/**
 * Guard chain of a route: who may call it, which limiter counts it, then validation. Admin routes read
 * the admin key first so that a valid key is counted against the admin allowance, not the anonymous
 * per-IP one; a wrong or missing key is counted per IP and only then refused.
 */
function guards(spec: RouteSpec, deps: ApiDeps): Middleware<ApiState>[] {
  const chain: Middleware<ApiState>[] = [];
  const { rateLimits } = deps;
  if (spec.auth === 'tenant') {
    // Run routes count against both tenant limits, in one middleware (one Redis round trip).
    chain.push(requireTenant(deps.auth), spec.runLimited ? rateLimits.perTenantRun : rateLimits.perTenant);
  } else if (spec.auth === 'admin') {
    chain.push(
      identifyAdmin(deps.auth),
      (ctx, next) => (ctx.state.adminKey === 'valid' ? rateLimits.perAdmin(ctx, next) : rateLimits.perIp(ctx, next)),
      requireAdmin(deps.auth),
    );
  } else {
    chain.push(rateLimits.perIp);
  }
  if (spec.audit) chain.push(auditCall(spec.audit, deps.audit));
  chain.push(validate({ ...(spec.params ? { params: spec.params } : {}), ...(spec.query ? { query: spec.query } : {}), ...(spec.body ? { body: spec.body } : {}) }));
  if (spec.auth === 'tenant' && spec.takesSeat === 'after-validation') chain.push(takeTeamSeat(deps.auth));
  return chain;
}

const API_PREFIX = '/api/';

/**
 * Whether a path is one of the API's: @koa/router matches routes case-insensitively, so `/API/v1/…` reaches the
 * same handlers as `/api/v1/…`, and every prefix check here must ignore case the same way.
 */
const isApiPath = (path: string): boolean => path.slice(0, API_PREFIX.length).toLowerCase() === API_PREFIX;

export function createApp(deps: ApiDeps): Koa<ApiState> {
  // Balancers append the address they saw to the client's own X-Forwarded-For: only the last `proxyHops` entries
  // were written by someone we trust, so Koa reads no further left (ctx.ip: the leftmost of those).
  const app = new Koa<ApiState>({ proxy: deps.trustProxy, maxIpsCount: deps.proxyHops });
  const routes = routeTable(deps);
  let openApi: Record<string, unknown> | undefined;
  const ops = operationalRouter(deps, () => (openApi ??= buildOpenApi([...operationalDocs(deps), ...routes], { version: deps.version })));

  const api = new Router<ApiState>();
  for (const spec of routes) {
    api[spec.method](spec.path, ...guards(spec, deps), (ctx) => spec.handler(ctx as unknown as ApiContext));
  }

  app.use(securityHeaders());
  // A request still running when the stop began ends its connection with its answer: left open (keep-alive,
  // 65 s), that connection would hold the server's close, and the drain, until SHUTDOWN_TIMEOUT_MS ran out.
  app.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      if (deps.isShuttingDown()) ctx.set('Connection', 'close');
    }
  });
  app.use(requestContext(deps.logger, deps.metrics));
  app.use(errorHandler());
  // Every warehouse call below gets a deadline of its own, answered 503 when it passes (src/warehouse/deadlines.ts).
  // With ROLE=api (warehouseTimeoutMs null) the process's warehouse bounds every call by it: no scope to enter.
  if (deps.warehouseTimeoutMs !== null) {
    const warehouseTimeoutMs = deps.warehouseTimeoutMs ?? DEFAULT_API_WAREHOUSE_TIMEOUT_MS;
    app.use((_ctx, next) => withWarehouseDeadline(warehouseTimeoutMs, next));
  }
  // Operational routes never start with /api/: API calls skip that router's lookup.
  const opsRoutes = ops.routes();
  app.use((ctx, next) => (isApiPath(ctx.path) ? next() : opsRoutes(ctx as Parameters<typeof opsRoutes>[0], next)));
  if (deps.bullBoard) app.use(deps.bullBoard);
  app.use(async (ctx, next) => {
    if (deps.isShuttingDown() && isApiPath(ctx.path)) throw new AppError(503, 'SHUTTING_DOWN', 'Server is shutting down', { expose: true, headers: { Connection: 'close', 'Retry-After': '5' } });
    await next();
  });
  app.use(jsonBody());
  // Runs after everything below: a request nothing answered is a 404 with our error body.
  app.use(async (ctx, next) => {
    await next();
    if (ctx.body === undefined && ctx.status === 404) throw new AppError(404, 'NOT_FOUND', `No route for ${ctx.method} ${ctx.path}`);
  });
  app.use(api.routes());
  app.use(
    api.allowedMethods({
      throw: true,
      methodNotAllowed: () => new AppError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed on this path'),
      notImplemented: () => new AppError(405, 'METHOD_NOT_ALLOWED', 'Method not allowed on this path'),
    }),
  );
  // Errors thrown outside the middleware chain (client aborts, socket errors) are logged, never crash.
  app.on('error', (err: Error) => deps.logger.debug({ err: err.message }, 'koa error'));
  return app;
}
