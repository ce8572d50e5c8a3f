import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import { dayCloseAnswer, deferredAnswer, orphanAnswer, scheduleAnswer, scheduleListAnswer, schedulerStatusAnswer, tickAnswer } from '../response-schemas';
import type { ErrorCodes, RouteSpec } from '../route-table';
import { idParam, tenantIdParam, tenantParams } from '../schemas';
import { param } from '../types';
import { seatTaker } from '../middleware/team-seat';

const configParams = Joi.object({ tenant_id: tenantIdParam, config_id: idParam });
const BASE = '/api/v1/scheduler/customer/:tenant_id/pipelines';

const PROVIDER_LIMIT: ErrorCodes = { PROVIDER_LIMIT_REACHED: 'a new provider beyond the plan’s `provider_limit`' };
const NO_TEMPLATE: ErrorCodes = { TEMPLATE_NOT_FOUND: 'no `configs/{provider}/{domain}/{pipeline_template}.yml`' };
const NO_SCHEDULE: ErrorCodes = { SCHEDULE_NOT_FOUND: 'an unknown `config_id`, or another tenant’s' };
const BAD_SCHEDULE: ErrorCodes = { VALIDATION_ERROR: 'an invalid cron or time zone, or parameters the template does not declare' };

export function schedulerRoutes(deps: ApiDeps): RouteSpec[] {
  const s = deps.scheduler;
  const adminCall = (path: string, summary: string, answer: Joi.ObjectSchema, run: (now: Date) => Promise<object>, method: 'post' | 'get' = 'post', warehouse?: false): RouteSpec =>
    route({
      method, path, auth: 'admin', tag: 'scheduler', summary, responses: { 200: ok('Summary', answer) }, ...(warehouse === false ? { warehouse } : {}),
      handler: async (ctx) => {
        ctx.body = await run(deps.clock.now());
      },
    });
  return [
    route({
      method: 'post', path: BASE, auth: 'tenant', takesSeat: 'by-service', tag: 'schedules', summary: 'Create a schedule config',
      params: tenantParams, body: s.createSchema, responses: { 201: ok('Created, with the next five fire times', scheduleAnswer) },
      errors: { 403: PROVIDER_LIMIT, 404: NO_TEMPLATE, 422: BAD_SCHEDULE },
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await s.create(param(ctx, 'tenant_id'), validated<unknown>(ctx, 'body'), seatTaker(deps.auth, ctx.state));
      },
    }),
    route({
      method: 'get', path: BASE, auth: 'tenant', tag: 'schedules', summary: 'List schedule configs',
      params: tenantParams, responses: { 200: ok('Configs', scheduleListAnswer) }, warehouse: false,
      handler: async (ctx) => {
        ctx.body = { pipelines: await s.list(param(ctx, 'tenant_id')) };
      },
    }),
    route({
      method: 'get', path: `${BASE}/:config_id`, auth: 'tenant', tag: 'schedules', summary: 'One schedule config',
      params: configParams, responses: { 200: ok('Config', scheduleAnswer) }, errors: { 404: NO_SCHEDULE }, warehouse: false,
      handler: async (ctx) => {
        ctx.body = await s.get(param(ctx, 'tenant_id'), param(ctx, 'config_id'));
      },
    }),
    route({
      method: 'patch', path: `${BASE}/:config_id`, auth: 'tenant', takesSeat: 'by-service', tag: 'schedules', summary: 'Change a schedule config',
      params: configParams, body: s.patchSchema, responses: { 200: ok('Updated', scheduleAnswer) },
      errors: { 403: PROVIDER_LIMIT, 404: { ...NO_SCHEDULE, ...NO_TEMPLATE }, 422: BAD_SCHEDULE },
      handler: async (ctx) => {
        ctx.body = await s.patch(param(ctx, 'tenant_id'), param(ctx, 'config_id'), validated<unknown>(ctx, 'body'), seatTaker(deps.auth, ctx.state));
      },
    }),
    route({
      method: 'delete', path: `${BASE}/:config_id`, auth: 'tenant', takesSeat: 'by-service', tag: 'schedules', summary: 'Delete a schedule config',
      params: configParams, responses: { 204: ok('Deleted') }, errors: { 404: NO_SCHEDULE },
      handler: async (ctx) => {
        await s.remove(param(ctx, 'tenant_id'), param(ctx, 'config_id'), seatTaker(deps.auth, ctx.state));
        ctx.status = 204;
      },
    }),
    adminCall('/api/v1/scheduler/trigger', 'Enqueue every due schedule (exactly once per config and fire time)', tickAnswer, s.trigger),
    adminCall('/api/v1/scheduler/process-queue', 'Start deferred runs that now fit their tenant’s limits', deferredAnswer, s.processQueue),
    adminCall('/api/v1/scheduler/reset-daily-quotas', 'Close the previous UTC day: its final usage rows, today’s opening rows, stale keys dropped (idempotent). It does not reset today’s counters: they are kept per UTC day and start from zero at 00:00 UTC on their own',
      dayCloseAnswer, s.resetDailyQuotas),
    adminCall('/api/v1/scheduler/cleanup-orphaned-pipelines', 'Fail runs stuck past their deadline and release their slots', orphanAnswer, s.cleanupOrphans),
    adminCall('/api/v1/scheduler/status', 'Scheduler status', schedulerStatusAnswer, s.status, 'get', false),
  ];
}
