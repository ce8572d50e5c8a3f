import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import { AUDIT_SPECS } from '../audit-specs';
import type { ErrorCodes, RouteSpec } from '../route-table';
import { webhookAnswer, webhookDeliveriesAnswer, webhookListAnswer, webhookRedeliveryAnswer, webhookWithSecretAnswer } from '../response-schemas';
import { idParam, tenantIdParam, tenantParams } from '../schemas';
import { param } from '../types';
import type { ApiContext } from '../types';
import { createWebhookSchema, deliveriesQuerySchema, patchWebhookSchema, rotateWebhookSecretSchema } from '../../webhooks/webhook-schemas';
import { seatTaker } from '../middleware/team-seat';

const BASE = '/api/v1/tenants/:tenant_id/webhooks';
const webhookParams = Joi.object({ tenant_id: tenantIdParam, webhook_id: idParam });
const deliveryParams = Joi.object({ tenant_id: tenantIdParam, webhook_id: idParam, delivery_id: idParam });
const URL_REFUSED: ErrorCodes = { WEBHOOK_URL_NOT_ALLOWED: 'not `https`, or the host does not resolve or resolves to a non-public address' };
const NO_WEBHOOK: ErrorCodes = { WEBHOOK_NOT_FOUND: 'an unknown webhook id, or another tenant’s' };
/** Changes of a tenant's endpoints take its webhook lock (webhooks/webhook-lock.ts). */
const LOCKED: ErrorCodes = { DEPENDENCY_UNAVAILABLE: 'the tenant’s webhook changes stayed locked by another call for 5 s' };

const tenantOf = (ctx: ApiContext): string => param(ctx, 'tenant_id');
const webhookOf = (ctx: ApiContext): string => param(ctx, 'webhook_id');

export function webhookRoutes(deps: ApiDeps): RouteSpec[] {
  const w = deps.webhooks;
  if (!w) return [];
  return [
    route({
      method: 'post', path: BASE, auth: 'tenant', takesSeat: 'by-service', audit: AUDIT_SPECS.webhookCreate, tag: 'webhooks', summary: 'Register a webhook endpoint (its signing secret is shown once)',
      params: tenantParams, body: createWebhookSchema, example: { url: 'https://hooks.example.com/convergence', events: ['run.completed', 'run.failed'] },
      responses: { 201: ok('Created; `secret` is shown only in this answer', webhookWithSecretAnswer) },
      errors: { 403: { WEBHOOK_LIMIT_REACHED: 'the plan’s `webhook_endpoints` are used; delete one first' }, 422: URL_REFUSED, 503: LOCKED },
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await w.create(tenantOf(ctx), validated<unknown>(ctx, 'body'), seatTaker(deps.auth, ctx.state));
      },
    }),
    route({
      method: 'get', path: BASE, auth: 'tenant', tag: 'webhooks', summary: 'List webhook endpoints (no secrets)',
      params: tenantParams, responses: { 200: ok('Endpoints', webhookListAnswer) },
      handler: async (ctx) => {
        ctx.body = await w.list(tenantOf(ctx));
      },
    }),
    route({
      method: 'get', path: `${BASE}/:webhook_id`, auth: 'tenant', tag: 'webhooks', summary: 'One webhook endpoint (no secret)',
      params: webhookParams, responses: { 200: ok('Endpoint', webhookAnswer) }, errors: { 404: NO_WEBHOOK },
      handler: async (ctx) => {
        ctx.body = await w.get(tenantOf(ctx), webhookOf(ctx));
      },
    }),
    route({
      method: 'patch', path: `${BASE}/:webhook_id`, auth: 'tenant', takesSeat: 'by-service', audit: AUDIT_SPECS.webhookUpdate, tag: 'webhooks', summary: 'Change url, events or is_active (true re-enables a disabled endpoint)',
      params: webhookParams, body: patchWebhookSchema, responses: { 200: ok('Updated', webhookAnswer) }, errors: { 404: NO_WEBHOOK, 422: URL_REFUSED, 503: LOCKED },
      handler: async (ctx) => {
        ctx.body = await w.patch(tenantOf(ctx), webhookOf(ctx), validated<unknown>(ctx, 'body'), seatTaker(deps.auth, ctx.state));
      },
    }),
    route({
      method: 'delete', path: `${BASE}/:webhook_id`, auth: 'tenant', takesSeat: 'by-service', audit: AUDIT_SPECS.webhookDelete, tag: 'webhooks', summary: 'Delete a webhook endpoint (queued deliveries are dropped)',
      params: webhookParams, responses: { 204: ok('Deleted') }, errors: { 404: NO_WEBHOOK, 503: LOCKED },
      handler: async (ctx) => {
        await w.remove(tenantOf(ctx), webhookOf(ctx), seatTaker(deps.auth, ctx.state));
        ctx.status = 204;
      },
    }),
    route({
      method: 'post', path: `${BASE}/:webhook_id/rotate-secret`, auth: 'tenant', takesSeat: 'by-service', audit: AUDIT_SPECS.webhookRotateSecret, tag: 'webhooks', summary: 'New signing secret (shown once); the old one keeps signing for grace_seconds',
      params: webhookParams, body: rotateWebhookSecretSchema, responses: { 201: ok('New secret; both sign until previous_secret_expires_at', webhookWithSecretAnswer) }, errors: { 404: NO_WEBHOOK, 503: LOCKED },
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await w.rotateSecret(tenantOf(ctx), webhookOf(ctx), validated<{ grace_seconds: number }>(ctx, 'body').grace_seconds, seatTaker(deps.auth, ctx.state));
      },
    }),
    route({
      method: 'get', path: `${BASE}/:webhook_id/deliveries`, auth: 'tenant', tag: 'webhooks', summary: 'Delivery attempts, newest first (status code or error, duration, next retry)',
      params: webhookParams, query: deliveriesQuerySchema, responses: { 200: ok('A page of attempts', webhookDeliveriesAnswer) }, errors: { 404: NO_WEBHOOK },
      handler: async (ctx) => {
        const q = validated<{ limit: number; cursor?: string }>(ctx, 'query');
        ctx.body = await w.deliveries(tenantOf(ctx), webhookOf(ctx), q.limit, q.cursor);
      },
    }),
    route({
      method: 'post', path: `${BASE}/:webhook_id/deliveries/:delivery_id/redeliver`, auth: 'tenant', takesSeat: 'by-service', tag: 'webhooks', summary: 'Send a delivery again (same delivery id, one fresh attempt)',
      params: deliveryParams, responses: { 202: ok('Queued', webhookRedeliveryAnswer) },
      errors: {
        404: { ...NO_WEBHOOK, WEBHOOK_DELIVERY_NOT_FOUND: 'no such delivery of that webhook (deliveries are kept 30 days)' },
        409: { WEBHOOK_INACTIVE: 'the endpoint is disabled; `PATCH` `is_active=true` first', WEBHOOK_DELIVERY_IN_PROGRESS: 'an attempt of the delivery is still queued or being sent' },
      },
      handler: async (ctx) => {
        ctx.status = 202;
        ctx.body = await w.redeliver(tenantOf(ctx), webhookOf(ctx), param(ctx, 'delivery_id'), seatTaker(deps.auth, ctx.state));
      },
    }),
  ];
}
