import Router from '@koa/router';
import fs from 'node:fs';
import path from 'node:path';
import getAbsoluteFSPath from 'swagger-ui-dist/absolute-path';
import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok } from '../route-table';
import type { DocumentedRoute } from '../route-table';
import { healthAnswer, liveAnswer, readyAnswer } from '../response-schemas';
import type { ApiState } from '../types';
import { requireAdmin } from '../middleware/auth';
import { readinessReport } from '../../observability/readiness';

const SWAGGER_ASSETS = new Set(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png']);

// The page runs no inline script (the Content-Security-Policy allows scripts from this origin only):
// its set-up is served as /docs/swagger-init.js. validatorUrl 'none' keeps Swagger UI from loading
// a badge from swagger.io for every visit.
const SWAGGER_INIT_JS = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', validatorUrl: 'none' });\n`;

const SWAGGER_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>Convergence API</title>
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
<link rel="stylesheet" href="/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-init.js"></script>
</body></html>`;

/** The operational routes as /openapi.json documents them (they sit outside the route table: no rate limit, no /api prefix). */
export function operationalDocs(deps: Pick<ApiDeps, 'metricsRequireAdmin'>): DocumentedRoute[] {
  return [
    { method: 'get', path: '/health', auth: 'none', tag: 'health', summary: 'Liveness with the running version', responses: { 200: ok('Up', healthAnswer) } },
    { method: 'get', path: '/health/live', auth: 'none', tag: 'health', summary: 'The process answers', responses: { 200: ok('Alive', liveAnswer) } },
    {
      method: 'get', path: '/health/ready', auth: 'none', tag: 'health', summary: 'Redis and the warehouse answer and the process is not stopping',
      responses: { 200: ok('Ready', readyAnswer), 503: ok('Not ready or shutting down (same body shape)', readyAnswer) },
    },
    {
      method: 'get', path: '/metrics', auth: deps.metricsRequireAdmin ? 'admin' : 'none', tag: 'health', summary: 'Prometheus metrics (X-Admin-Key unless METRICS_AUTH=none)',
      responses: { 200: { description: 'Prometheus text exposition', body: Joi.string(), contentType: 'text/plain' } },
    },
  ];
}

/** Unauthenticated operational routes: health probes, metrics, OpenAPI and Swagger UI (assets served offline). */
export function operationalRouter(deps: ApiDeps, openApi: () => Record<string, unknown>): Router<ApiState> {
  const router = new Router<ApiState>();
  router.get('/health', (ctx) => {
    ctx.body = { status: 'ok', version: deps.version };
  });
  router.get('/health/live', (ctx) => {
    ctx.body = { status: 'alive' };
  });
  router.get('/health/ready', async (ctx) => {
    const report = await readinessReport(deps);
    ctx.status = report.httpStatus;
    ctx.body = report.body;
  });
  const metricsGuard = deps.metricsRequireAdmin ? [requireAdmin(deps.auth)] : [];
  router.get('/metrics', ...metricsGuard, async (ctx) => {
    await deps.beforeMetrics?.().catch(() => undefined);
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  router.get('/openapi.json', (ctx) => {
    ctx.body = openApi();
  });
  router.get('/docs', (ctx) => {
    ctx.type = 'html';
    ctx.body = SWAGGER_HTML;
  });
  router.get('/docs/swagger-init.js', (ctx) => {
    ctx.type = 'js';
    ctx.body = SWAGGER_INIT_JS;
  });
  router.get('/docs/:asset', (ctx, next) => {
    const asset = ctx.params.asset ?? '';
    // Any other name goes on to the app's 404 (NOT_FOUND with the error body), as every unknown path does.
    if (!SWAGGER_ASSETS.has(asset)) return next();
    ctx.type = path.extname(asset);
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = fs.createReadStream(path.join(getAbsoluteFSPath(), asset));
  });
  return router;
}
