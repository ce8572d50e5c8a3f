import Joi from 'joi';
import { AppError } from '../../shared/errors';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import type { ErrorCodes, RouteSpec } from '../route-table';
import { IDEMPOTENCY_KEY_PATTERN, isoInstant, runIdParam, runParametersBody, templateParams } from '../schemas';
import { param } from '../types';
import type { ApiContext } from '../types';
import { RUN_STATUSES } from '../../queues/pipeline-runs';
import type { RunListFilters } from '../../queues/run-service';
import { runBody, runPageBody } from '../run-body';
import { cancelAnswer, runAnswer, runPageAnswer, templatesAnswer, triggerAnswer, validationAnswer } from '../response-schemas';

type RunParametersBody = Record<string, unknown>;

/**
 * Swagger UI's pre-filled body for the run and validate routes: no parameters, which every shipped template accepts
 * (undeclared names are a 422, so a sample like `date` would be refused by the dryrun template).
 */
const PARAMETERS_EXAMPLE = {};

const runParams = Joi.object({ run_id: runIdParam });
const listQuery = Joi.object({
  pipeline_id: Joi.string().pattern(/^[a-z0-9_-]{1,200}$/),
  status: Joi.string().uppercase().valid(...RUN_STATUSES),
  since: isoInstant,
  until: isoInstant,
  limit: Joi.number().integer().min(1).max(100).default(20),
  cursor: Joi.string().max(512).pattern(/^[A-Za-z0-9_-]+$/),
});

const NO_TEMPLATE: ErrorCodes = { TEMPLATE_NOT_FOUND: 'no `configs/{provider}/{domain}/{template_name}.yml`' };
const BAD_PARAMETERS: ErrorCodes = { VALIDATION_ERROR: 'a run parameter the template does not declare, or of the wrong type or range' };
const BAD_CURSOR: ErrorCodes = { VALIDATION_ERROR: '`cursor` is not one the API returned' };
const NO_RUN: ErrorCodes = { RUN_NOT_FOUND: 'an unknown run id, or another tenant’s' };

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
      params: templateParams, body: runParametersBody, example: PARAMETERS_EXAMPLE, idempotencyKey: true,
      responses: {
        202: ok('Admitted and queued (PENDING)', triggerAnswer),
        200: ok('An identical run is already in flight (or this Idempotency-Key started one); it is returned', triggerAnswer),
      },
      errors: {
        403: { PROVIDER_LIMIT_REACHED: 'a new provider beyond the plan’s `provider_limit`' },
        404: NO_TEMPLATE,
        409: { IDEMPOTENCY_CONFLICT: 'the Idempotency-Key was used with another pipeline or other parameters (the same key and body answer 200)' },
        422: BAD_PARAMETERS,
        429: {
          DAILY_QUOTA_EXCEEDED: 'beyond the plan’s daily runs (`Retry-After`: next UTC midnight)',
          MONTHLY_QUOTA_EXCEEDED: 'beyond the plan’s monthly runs (`Retry-After`: next UTC month)',
          CONCURRENT_LIMIT_REACHED: 'the plan’s concurrent runs are running (`Retry-After`: 30 s)',
        },
      },
      handler: async (ctx) => {
        const auth = ctx.state.auth;
        const key = idempotencyKey(ctx);
        const result = await p.trigger({
          tenantId: param(ctx, 'tenant_id'),
          provider: param(ctx, 'provider'),
          domain: param(ctx, 'domain'),
          templateName: param(ctx, 'template_name'),
          parameters: validated<RunParametersBody>(ctx, 'body'),
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
      params: templateParams, body: runParametersBody, example: PARAMETERS_EXAMPLE,
      responses: { 200: ok('Validation report', validationAnswer) },
      errors: {
        404: NO_TEMPLATE,
        422: { ...BAD_PARAMETERS, INVALID_TABLE_REFERENCE: 'the `billing_export_table` stored in the gcp provider settings is not a table this tenant may read' },
      },
      handler: async (ctx) => {
        ctx.body = await p.validate(param(ctx, 'tenant_id'), param(ctx, 'provider'), param(ctx, 'domain'), param(ctx, 'template_name'), validated<RunParametersBody>(ctx, 'body'));
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/templates', auth: 'tenant', tag: 'pipelines', summary: 'Templates this tenant may run, with their declared parameters',
      responses: { 200: ok('Templates', templatesAnswer) }, warehouse: false,
      handler: async (ctx) => {
        ctx.body = { templates: p.listTemplates() };
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/runs', auth: 'tenant', tag: 'runs', summary: 'Runs of the tenant, newest first, with filters and an opaque cursor',
      query: listQuery, responses: { 200: ok('A page of runs (without their steps)', runPageAnswer) }, errors: { 422: BAD_CURSOR },
      handler: async (ctx) => {
        ctx.body = runPageBody(await p.listRuns(ctx.state.auth?.tenantId ?? '', validated<RunListFilters>(ctx, 'query')));
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/runs/:run_id', auth: 'tenant', tag: 'runs', summary: 'One run with live status, progress and steps',
      params: runParams, responses: { 200: ok('Run: the same fields whether it is still in Redis or only in the warehouse', runAnswer) }, errors: { 404: NO_RUN },
      handler: async (ctx) => {
        ctx.body = runBody(await p.getRun(ctx.state.auth?.tenantId ?? '', param(ctx, 'run_id')));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/pipelines/runs/:run_id', auth: 'tenant', takesSeat: 'by-service', tag: 'runs', summary: 'Cancel a waiting or running run',
      params: runParams, responses: { 200: ok('Cancelled (or CANCELLING: requested for a running run)', cancelAnswer) },
      errors: { 404: NO_RUN, 409: { RUN_ALREADY_FINISHED: 'the run ended first (also when the cancel lost the race to its end); `status` is the final status' } },
      handler: async (ctx) => {
        ctx.body = await p.cancelRun(ctx.state.auth?.tenantId ?? '', param(ctx, 'run_id'), ctx.state.auth?.userId ?? undefined);
      },
    }),
  ];
}
