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
      body: t.onboardSchema, responses: { 201: ok('Onboarded; the API key is shown once', onboardAnswer) }, audit: AUDIT_SPECS.onboard,
      errors: {
        409: {
          TENANT_EXISTS: 'the tenant exists (without a force flag), or an onboarding of the id is in progress',
          TENANT_DELETED: 'the id belonged to an offboarded tenant; it is never usable again',
          OFFBOARD_IN_PROGRESS: 'the tenant of that id is being offboarded and its offboarding has not finished',
        },
        422: { VALIDATION_ERROR: 'an unknown `subscription_plan`', RESERVED_TENANT_ID: 'a reserved id (platform datasets, engine catalogs)' },
        500: { ONBOARDING_FAILED: 'a step failed (`step` names it; what the call created is rolled back), or the call outlasted its lock and another onboarding of the id took over' },
      },
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
      params: tenantParams, responses: { 200: ok('Quota view', quotaAnswer) }, errors: { 404: { TENANT_NOT_FOUND: 'the tenant is gone (offboarded since its key was checked)' } },
      handler: async (ctx) => {
        ctx.body = await t.quota(tenantOf(ctx));
      },
    }),
    route({
      method: 'put', path: '/api/v1/tenants/:tenant_id/providers/:provider', auth: 'tenant', takesSeat: 'after-validation', tag: 'tenants', summary: 'Set provider settings and (encrypted) credentials',
      params: providerParams, body: t.providerSchema, responses: { 200: ok('Saved (credentials never returned)', providerAnswer) }, audit: AUDIT_SPECS.putProvider,
      errors: {
        403: { PROVIDER_LIMIT_REACHED: 'a new provider beyond the plan’s `provider_limit`' },
        404: { TENANT_NOT_FOUND: 'the tenant is gone (offboarded since its key was checked)' },
        422: { VALIDATION_ERROR: '`credentials` over their size limit', INVALID_TABLE_REFERENCE: 'a `*_table` or `project_id` setting names something this tenant may not use' },
      },
      handler: async (ctx) => {
        ctx.body = await t.putProvider(tenantOf(ctx), param(ctx, 'provider'), validated<unknown>(ctx, 'body'));
      },
    }),
    route({
      method: 'get', path: '/api/v1/tenants/:tenant_id/providers/:provider', auth: 'tenant', tag: 'tenants', summary: 'Provider settings (no credentials)',
      params: providerParams, responses: { 200: ok('Settings', providerAnswer) }, errors: { 404: { PROVIDER_NOT_FOUND: 'no settings stored for that provider' } },
      handler: async (ctx) => {
        ctx.body = await t.getProvider(tenantOf(ctx), param(ctx, 'provider'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/tenants/:tenant_id/providers/:provider', auth: 'tenant', takesSeat: 'after-validation', tag: 'tenants', summary: 'Remove provider settings',
      params: providerParams, responses: { 204: ok('Removed') }, errors: { 404: { PROVIDER_NOT_FOUND: 'no settings stored for that provider' } }, audit: AUDIT_SPECS.deleteProvider,
      handler: async (ctx) => {
        await t.deleteProvider(tenantOf(ctx), param(ctx, 'provider'));
        ctx.status = 204;
      },
    }),
    route({
      method: 'post', path: '/api/v1/tenants/:tenant_id/api-keys/rotate', auth: 'tenant', takesSeat: 'after-validation', tag: 'tenants', summary: 'Rotate the calling API key (new key shown once)',
      params: tenantParams, body: t.rotateSchema, responses: { 201: ok('New key; the calling key expires after grace_seconds', rotatedKeyAnswer) }, audit: AUDIT_SPECS.rotateKey,
      errors: {
        404: { API_KEY_NOT_FOUND: 'the calling key’s row is gone' },
        409: {
          API_KEY_EXPIRING: 'the calling key was already rotated (it is in its grace) or is being rotated; rotate with the key that replaced it',
          TENANT_DELETED: 'the tenant was offboarded since its key was checked',
        },
      },
      handler: async (ctx) => {
        const body = validated<{ grace_seconds: number }>(ctx, 'body');
        ctx.status = 201;
        ctx.body = await t.rotateKey(tenantOf(ctx), ctx.state.auth?.keyId ?? '', body.grace_seconds);
      },
    }),
  ];
}
