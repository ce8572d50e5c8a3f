import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import { AUDIT_SPECS } from '../audit-specs';
import type { ErrorCodes, RouteSpec } from '../route-table';
import { calendarDay, runIdParam, runParametersBody, segmentParam, templateParams } from '../schemas';
import { param } from '../types';
import type { FanoutSelector } from '../../batches/fanout-store';
import { backfillAnswer, backfillCreatedAnswer, fanoutAnswer, fanoutCreatedAnswer } from '../batch-response-schemas';
import { seatTaker } from '../middleware/team-seat';

const withSeat = (takeSeat: (() => Promise<void>) | undefined) => (takeSeat ? { takeSeat } : {});

/** Backfills (tenant) and admin fan-outs (issue 15): many runs as one request, each through admission. */

const backfillBody = Joi.object({
  start_date: calendarDay.required().example('2025-10-01'),
  end_date: calendarDay.required().example('2025-10-31').description('Inclusive'),
  parameters: runParametersBody.default({}).description('The template’s other parameters (not `date`)'),
  max_parallel: Joi.number().integer().min(1).description('Runs in flight at once; at most (and by default) the plan’s concurrency'),
  skip_completed: Joi.boolean().default(false).description('Skip dates with a COMPLETED run of the same pipeline and parameters'),
});
interface BackfillBody {
  start_date: string;
  end_date: string;
  parameters: Record<string, unknown>;
  max_parallel?: number;
  skip_completed: boolean;
}

const fanoutBody = Joi.object({
  selector: Joi.alternatives()
    .try(
      Joi.object({ all_active: Joi.valid(true).required() }),
      Joi.object({ plans: Joi.array().items(Joi.string().pattern(/^[A-Za-z][A-Za-z0-9_]*$/)).min(1).max(20).required() }),
      Joi.object({ tenant_ids: Joi.array().items(Joi.string().pattern(/^[a-z0-9_]{3,50}$/)).min(1).max(10_000).required() }),
    )
    .required()
    .description('{"all_active": true} (ACTIVE tenants), {"plans": [...]} (ACTIVE tenants on those plans) or {"tenant_ids": [...]}'),
  parameters: runParametersBody.default({}),
  spread_seconds: Joi.number().integer().min(0).max(86_400).default(0).description('Start times are spread over this many seconds, with jitter'),
  window: Joi.string().pattern(/^[A-Za-z0-9_.:-]{1,64}$/).description('Idempotency window: the same request in the same window returns the same fan-out (default: the UTC day)'),
});
interface FanoutBody {
  selector: FanoutSelector;
  parameters: Record<string, unknown>;
  spread_seconds: number;
  window?: string;
}

const backfillParams = Joi.object({ backfill_id: runIdParam });
const fanoutParams = Joi.object({ fanout_id: runIdParam });
const adminTemplateParams = Joi.object({ provider: segmentParam, domain: segmentParam, template_name: segmentParam });

const NO_TEMPLATE: ErrorCodes = { TEMPLATE_NOT_FOUND: 'no `configs/{provider}/{domain}/{template_name}.yml`' };
const NO_BACKFILL: ErrorCodes = { BACKFILL_NOT_FOUND: 'an unknown backfill id, or another tenant’s' };
const NO_FANOUT: ErrorCodes = { FANOUT_NOT_FOUND: 'an unknown fan-out id' };

export function batchRoutes(deps: ApiDeps): RouteSpec[] {
  const b = deps.batches;
  if (!b) return [];
  return [
    route({
      method: 'post', path: '/api/v1/pipelines/backfill/:tenant_id/:provider/:domain/:template_name', auth: 'tenant', runLimited: true, takesSeat: 'by-service', tag: 'pipelines',
      summary: 'Backfill: one run per date from start_date to end_date, dispatched as the plan’s concurrency and daily quota allow',
      params: templateParams, body: backfillBody,
      responses: {
        202: ok('Accepted; runs start as quota allows (estimated_days says over how many UTC days)', backfillCreatedAnswer),
        200: ok('The same template, parameters and range are already being backfilled: that backfill is returned', backfillCreatedAnswer),
      },
      errors: {
        404: { ...NO_TEMPLATE, TENANT_NOT_FOUND: 'the tenant is gone (offboarded since its key was checked)' },
        422: {
          VALIDATION_ERROR: 'parameters the template does not declare (or `date`, which the backfill sets), `end_date` before `start_date`, `max_parallel` over the plan’s concurrency',
          BACKFILL_NEEDS_DATE_PARAMETER: 'the template declares no `date` parameter',
          BACKFILL_TOO_LONG: 'a range longer than the plan’s `backfill_max_days`',
        },
        429: { BACKFILL_LIMIT_REACHED: 'the tenant holds its plan’s `backfill_max_active` ACTIVE backfills (one must end or be cancelled first; no `Retry-After`)' },
      },
      handler: async (ctx) => {
        const body = validated<BackfillBody>(ctx, 'body');
        const answer = await b.backfills.create({
          tenantId: param(ctx, 'tenant_id'), provider: param(ctx, 'provider'), domain: param(ctx, 'domain'), templateName: param(ctx, 'template_name'),
          startDate: body.start_date, endDate: body.end_date, parameters: body.parameters, skipCompleted: body.skip_completed, userId: ctx.state.auth?.userId ?? null,
          ...withSeat(seatTaker(deps.auth, ctx.state)),
          ...(body.max_parallel !== undefined ? { maxParallel: body.max_parallel } : {}),
        });
        const { created, ...rest } = answer;
        ctx.status = created ? 202 : 200;
        ctx.body = rest;
      },
    }),
    route({
      method: 'get', path: '/api/v1/pipelines/backfills/:backfill_id', auth: 'tenant', tag: 'pipelines', summary: 'A backfill: counts per status and each date’s run',
      params: backfillParams, responses: { 200: ok('Backfill', backfillAnswer) }, errors: { 404: NO_BACKFILL },
      handler: async (ctx) => {
        ctx.body = await b.backfills.get(ctx.state.auth?.tenantId ?? '', param(ctx, 'backfill_id'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/pipelines/backfills/:backfill_id', auth: 'tenant', takesSeat: 'by-service', tag: 'pipelines',
      summary: 'Cancel a backfill: dates not started are CANCELLED; runs already started finish',
      params: backfillParams, responses: { 200: ok('The backfill, CANCELLED (or as it ended, when it ended first)', backfillAnswer) }, errors: { 404: NO_BACKFILL },
      handler: async (ctx) => {
        ctx.body = await b.backfills.cancel(ctx.state.auth?.tenantId ?? '', param(ctx, 'backfill_id'), seatTaker(deps.auth, ctx.state));
      },
    }),
    route({
      method: 'post', path: '/api/v1/admin/fanout/:provider/:domain/:template_name', auth: 'admin', tag: 'admin', audit: AUDIT_SPECS.fanoutCreate,
      summary: 'Fan-out: one run of the template per selected tenant, spread over spread_seconds, each through that tenant’s admission',
      params: adminTemplateParams, body: fanoutBody, example: { selector: { all_active: true }, parameters: {}, spread_seconds: 600 },
      responses: {
        202: ok('Scheduled', fanoutCreatedAnswer),
        200: ok('The same selector, template, parameters and window already made a fan-out: it is returned', fanoutCreatedAnswer),
      },
      errors: { 404: NO_TEMPLATE, 422: { VALIDATION_ERROR: 'parameters the template does not declare, or of the wrong type or range' } },
      handler: async (ctx) => {
        const body = validated<FanoutBody>(ctx, 'body');
        const { created, ...rest } = await b.fanouts.create({
          provider: param(ctx, 'provider'), domain: param(ctx, 'domain'), templateName: param(ctx, 'template_name'),
          selector: body.selector, parameters: body.parameters, spreadSeconds: body.spread_seconds, ...(body.window ? { window: body.window } : {}),
        });
        ctx.status = created ? 202 : 200;
        ctx.body = rest;
      },
    }),
    route({
      method: 'get', path: '/api/v1/admin/fanouts/:fanout_id', auth: 'admin', tag: 'admin', summary: 'A fan-out’s progress per tenant (scheduled, admitted with its run’s status, refused with the code)',
      params: fanoutParams, responses: { 200: ok('Fan-out', fanoutAnswer) }, errors: { 404: NO_FANOUT },
      handler: async (ctx) => {
        ctx.body = await b.fanouts.get(param(ctx, 'fanout_id'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/admin/fanouts/:fanout_id', auth: 'admin', tag: 'admin', audit: AUDIT_SPECS.fanoutCancel,
      summary: 'Cancel a fan-out: tenants not started yet are CANCELLED; runs already admitted go on',
      params: fanoutParams, responses: { 200: ok('The fan-out after the cancellation', fanoutAnswer) }, errors: { 404: NO_FANOUT },
      handler: async (ctx) => {
        ctx.body = await b.fanouts.cancel(param(ctx, 'fanout_id'));
      },
    }),
  ];
}
