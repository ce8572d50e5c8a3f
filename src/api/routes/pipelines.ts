import Joi from 'joi';
import { AppError } from '../../shared/errors';
import type { ApiDeps } from '../deps';
import { route, validated } from '../route-table';
import type { RouteSpec } from '../route-table';
import { IDEMPOTENCY_KEY_PATTERN, runIdParam, runParametersBody, templateParams } from '../schemas';
import { param } from '../types';
import type { ApiContext } from '../types';
import type { RunListFilters } from '../../queues/run-service';

type Json = Record<string, unknown>;

const runParams = Joi.object({ run_id: runIdParam });
const RUN_STATUSES = ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const listQuery = Joi.object({
  pipeline_id: Joi.string().pattern(/^[a-z0-9_-]{1,200}$/),
  status: Joi.string().uppercase().valid(...RUN_STATUSES),
  since: Joi.date().iso(),
  until: Joi.date().iso(),
  limit: Joi.number().integer().min(1).max(100).default(20),
  cursor: Joi.string().max(512).pattern(/^[A-Za-z0-9_-]+$/),
});

function idempotencyKey(ctx: ApiContext): string | undefined {
  const key = ctx.get('Idempotency-Key');
  if (key === '') return undefined;
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw new AppError(422, 'VALIDATION_ERROR', 'Invalid Idempotency-Key header', { errors: [{ field: 'Idempotency-Key', message: 'must match ^[A-Za-z0-9_.:-]{1,128}$' }] });
  }
  return key;
}

export function pipelineRoutes(deps: ApiDeps): RouteSpec[] {
  const p = deps.pipelines;
  return [
    route({
      method: 'post', path: '/api/v1/pipelines/run/:tenant_id/:provider/:domain/:template_name', auth: 'tenant', runLimited: true, takesSeat: 'by-service', tag: 'pipelines',
      summary: 'Trigger a run of configs/{provider}/{domain}/{template_name}.yml; the body holds the run parameters',
      params: templateParams, body: runParametersBody,
      responses: { 202: 'Admitted and queued (PENDING)', 200: 'An identical run is already in flight; it is returned', 404: 'Template not found', 422: 'Invalid parameters', 429: 'Rate limit or quota' },
      handler: async (ctx) => {
        const auth = ctx.state.auth;
        const key = idempotencyKey(ctx);
        const result = await p.trigger({
          tenantId: param(ctx, 'tenant_id'),
          provider: param(ctx, 'provider'),
          domain: param(ctx, 'domain'),
          templateName: param(ctx, 'template_name'),
          parameters: validated<Json>(ctx, 'body'),
          userId: auth?.userId ?? null,
          triggerType: 'api',
          ...(key ? { idempotencyKey: key } : {}),
        });
        ctx.status = result.kind === 'created' ? 202 : 200;
        ctx.body = { pipeline_logging_id: result.pipelineLoggingId, pipeline_id: result.pipelineId, tenant_id: result.tenantId, status: result.status };
      },
    }),
    route({
      method: 'post', path: '/api/v1/pipelines/validate/:tenant_id/:provider/:domain/:template_name', auth: 'tenant', runLimited: true, tag: 'pipelines',
      summary: 'Render and validate a run without executing it (BigQuery: dry-run bytes per query step)',
      params: templateParams, body: runParametersBody, responses: { 200: 'Validation report', 404: 'Template not found', 422: 'Invalid parameters' },
      handler: async (ctx) => {
        ctx.body = await p.validate(param(ctx, 'tenant_id'), param(ctx, 'provider'), param(ctx, 'domain'), param(ctx, 'template_name'), validated<Json>(ctx, 'body'));
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/templates', auth: 'tenant', tag: 'pipelines', summary: 'Templates this tenant may run, with their declared parameters',
      responses: { 200: 'Templates' },
      handler: async (ctx) => {
        ctx.body = { templates: p.listTemplates() };
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/runs', auth: 'tenant', tag: 'runs', summary: 'Runs of the tenant, newest first, with filters and an opaque cursor',
      query: listQuery, responses: { 200: 'A page of runs', 422: 'Invalid filter' },
      handler: async (ctx) => {
        ctx.body = await p.listRuns(ctx.state.auth?.tenantId ?? '', validated<RunListFilters>(ctx, 'query'));
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/runs/:run_id', auth: 'tenant', tag: 'runs', summary: 'One run with live status, progress and steps',
      params: runParams, responses: { 200: 'Run', 404: 'Unknown run (or another tenant’s)' },
      handler: async (ctx) => {
        ctx.body = await p.getRun(ctx.state.auth?.tenantId ?? '', param(ctx, 'run_id'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/pipelines/runs/:run_id', auth: 'tenant', takesSeat: 'after-validation', tag: 'runs', summary: 'Cancel a waiting or running run',
      params: runParams, responses: { 200: 'Cancelled (or cancellation requested for a running run)', 404: 'Unknown run', 409: 'Already finished' },
      handler: async (ctx) => {
        ctx.body = await p.cancelRun(ctx.state.auth?.tenantId ?? '', param(ctx, 'run_id'));
      },
    }),
  ];
}
