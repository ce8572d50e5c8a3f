import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import { dryRunAnswer, onboardAnswer, providerAnswer, quotaAnswer, rotatedKeyAnswer, tenantAnswer } from '../response-schemas';
import type { RouteSpec } from '../route-table';
import { param } from '../types';
import type { ApiContext } from '../types';
import { segmentParam, tenantIdParam, tenantParams } from '../schemas';
import { AUDIT_SPECS } from '../audit-specs';

const providerParams = Joi.object({ tenant_id: tenantIdParam, provider: segmentParam });

const tenantOf = (ctx: ApiContext): string => param(ctx, 'tenant_id');

export function tenantRoutes(deps: ApiDeps): RouteSpec[] {
  const t = deps.tenants;
  return [
    route({
      method: 'post', path: '/api/v1/tenants/onboard', auth: 'admin', tag: 'tenants', summary: 'Onboard a tenant (profile, API key, subscription, usage row, dataset)',
      body: t.onboardSchema, responses: { 201: ok('Onboarded; the API key is shown once', onboardAnswer), 409: 'Tenant exists (TENANT_EXISTS), or the id belonged to an offboarded tenant (TENANT_DELETED)', 500: 'Onboarding failed and was rolled back' }, audit: AUDIT_SPECS.onboard,
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await t.onboard(validated<unknown>(ctx, 'body'));
      },
    }),
    route({
      method: 'post', path: '/api/v1/tenants/dryrun', auth: 'admin', tag: 'tenants', summary: 'Check an onboarding request without creating anything',
      body: t.onboardSchema, responses: { 200: ok('Checks', dryRunAnswer) },
      handler: async (ctx) => {
        ctx.body = await t.dryRun(validated<unknown>(ctx, 'body'));
      },
    }),
    route({
      method: 'get', path: '/api/v1/tenants/:tenant_id', auth: 'tenant', tag: 'tenants', summary: 'Tenant profile and subscription',
      params: tenantParams, responses: { 200: ok('Profile', tenantAnswer) },
      handler: async (ctx) => {
        ctx.body = await t.get(tenantOf(ctx));
      },
    }),
    route({
      method: 'get', path: '/api/v1/tenants/:tenant_id/quota', auth: 'tenant', tag: 'quotas', summary: 'Usage against the plan quotas',
      params: tenantParams, responses: { 200: ok('Quota view', quotaAnswer), 404: 'Unknown tenant' },
      handler: async (ctx) => {
        ctx.body = await t.quota(tenantOf(ctx));
      },
    }),
    route({
      method: 'put', path: '/api/v1/tenants/:tenant_id/providers/:provider', auth: 'tenant', takesSeat: 'after-validation', tag: 'tenants', summary: 'Set provider settings and (encrypted) credentials',
      params: providerParams, body: t.providerSchema, responses: { 200: ok('Saved (credentials never returned)', providerAnswer), 403: 'Provider limit reached or another tenant', 422: 'INVALID_TABLE_REFERENCE: a *_table or project_id setting names something this tenant may not use' }, audit: AUDIT_SPECS.putProvider,
      handler: async (ctx) => {
        ctx.body = await t.putProvider(tenantOf(ctx), param(ctx, 'provider'), validated<unknown>(ctx, 'body'));
      },
    }),
    route({
      method: 'get', path: '/api/v1/tenants/:tenant_id/providers/:provider', auth: 'tenant', tag: 'tenants', summary: 'Provider settings (no credentials)',
      params: providerParams, responses: { 200: ok('Settings', providerAnswer), 404: 'Not configured' },
      handler: async (ctx) => {
        ctx.body = await t.getProvider(tenantOf(ctx), param(ctx, 'provider'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/tenants/:tenant_id/providers/:provider', auth: 'tenant', takesSeat: 'after-validation', tag: 'tenants', summary: 'Remove provider settings',
      params: providerParams, responses: { 204: ok('Removed'), 404: 'Not configured' }, audit: AUDIT_SPECS.deleteProvider,
      handler: async (ctx) => {
        await t.deleteProvider(tenantOf(ctx), param(ctx, 'provider'));
        ctx.status = 204;
      },
    }),
    route({
      method: 'post', path: '/api/v1/tenants/:tenant_id/api-keys/rotate', auth: 'tenant', takesSeat: 'after-validation', tag: 'tenants', summary: 'Rotate the calling API key (new key shown once)',
      params: tenantParams, body: t.rotateSchema, responses: { 201: ok('New key; the calling key expires after grace_seconds', rotatedKeyAnswer), 409: 'API_KEY_EXPIRING: the calling key was already rotated (it is in its grace) or is being rotated; rotate with the key that replaced it' }, audit: AUDIT_SPECS.rotateKey,
      handler: async (ctx) => {
        const body = validated<{ grace_seconds: number }>(ctx, 'body');
        ctx.status = 201;
        ctx.body = await t.rotateKey(tenantOf(ctx), ctx.state.auth?.keyId ?? '', body.grace_seconds);
      },
    }),
  ];
}
