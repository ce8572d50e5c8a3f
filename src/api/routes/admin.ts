import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import { bootstrapAnswer, issuedKeyAnswer, offboardAnswer, queryAnswer, revokedKeyAnswer, sampleDataAnswer, tenantAnswer } from '../response-schemas';
import { offboardBodySchema } from '../../offboarding/offboard';
import type { SampleDataRequest } from '../../tenants/tenant-operations';
import type { RouteSpec } from '../route-table';
import { param } from '../types';
import { calendarDay, idParam, tenantParams } from '../schemas';
import { AUDIT_SPECS } from '../audit-specs';
import { DATE_PARAMETER_RANGE } from '../../pipelines/parameters';
import { SAMPLE_DAYS_MAX } from '../../pipelines/sample-billing';

const sampleDataBody = Joi.object({
  days: Joi.number().integer().min(1).max(SAMPLE_DAYS_MAX).default(30),
  /** Last usage day loaded (inclusive); default yesterday (UTC). The guide's `2025-11-14` needs `end_date`. */
  end_date: calendarDay.example('2025-11-14')
    .description(`Every loaded day lies within ${DATE_PARAMETER_RANGE.first} … ${DATE_PARAMETER_RANGE.last}, the days a run's date parameter accepts`),
  rows_per_day: Joi.number().integer().min(1).max(20000).default(500),
  seed: Joi.number().integer().default(42),
  /** Keep the rows already there (default: the table is recreated, so reloading never duplicates). */
  append: Joi.boolean().default(false),
});

export function adminRoutes(deps: ApiDeps): RouteSpec[] {
  const t = deps.tenants;
  const routes: RouteSpec[] = [
    route({
      method: 'post', path: '/api/v1/admin/bootstrap', auth: 'admin', tag: 'admin', summary: 'Create the central datasets and tables (idempotent)',
      responses: { 200: ok('What was created now', bootstrapAnswer) }, audit: AUDIT_SPECS.bootstrap,
      handler: async (ctx) => {
        const created = await t.bootstrap();
        ctx.body = { datasets_created: created.datasetsCreated, tables_created: created.tablesCreated };
      },
    }),
    route({
      method: 'get', path: '/api/v1/admin/tenants/:tenant_id', auth: 'admin', tag: 'admin', summary: 'Read a tenant',
      params: tenantParams, responses: { 200: ok('Tenant', tenantAnswer), 404: 'Unknown tenant' },
      handler: async (ctx) => {
        ctx.body = await t.get(param(ctx, 'tenant_id'));
      },
    }),
    route({
      method: 'patch', path: '/api/v1/admin/tenants/:tenant_id', auth: 'admin', tag: 'admin', summary: 'Change a tenant plan or status (ACTIVE/SUSPENDED)',
      params: tenantParams, body: t.updateSchema, responses: { 200: ok('Updated tenant', tenantAnswer), 404: 'Unknown tenant', 409: 'The tenant is being offboarded (OFFBOARD_IN_PROGRESS) or was (TENANT_DELETED)' }, audit: AUDIT_SPECS.updateTenant,
      handler: async (ctx) => {
        ctx.body = await t.update(param(ctx, 'tenant_id'), validated<unknown>(ctx, 'body'));
      },
    }),
    route({
      method: 'post', path: '/api/v1/admin/tenants/:tenant_id/api-keys', auth: 'admin', tag: 'admin', summary: 'Issue an additional API key (shown once)',
      params: tenantParams, responses: { 201: ok('New key', issuedKeyAnswer), 404: 'Unknown tenant', 409: 'The tenant is being offboarded (OFFBOARD_IN_PROGRESS) or was (TENANT_DELETED)' }, audit: AUDIT_SPECS.issueKey,
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await t.issueKey(param(ctx, 'tenant_id'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/admin/api-keys/:key_id', auth: 'admin', tag: 'admin', summary: 'Revoke an API key (effective on the next request)',
      params: Joi.object({ key_id: idParam }), responses: { 200: ok('Revoked', revokedKeyAnswer), 404: 'Unknown key' }, audit: AUDIT_SPECS.revokeKey,
      handler: async (ctx) => {
        ctx.body = await t.revokeKey(param(ctx, 'key_id'));
      },
    }),
    route({
      method: 'post', path: '/api/v1/admin/warehouse/query', auth: 'admin', tag: 'admin', summary: 'Run one read-only SELECT against the warehouse (the guide’s SQL works as written)',
      body: Joi.object({ sql: Joi.string().min(1).max(20000).required() }), responses: { 200: ok('Rows (at most 10,000, and ADMIN_QUERY_MAX_RESULT_BYTES of them; truncated says whether more existed)', queryAnswer), 422: 'Not a single read-only SELECT' }, audit: AUDIT_SPECS.warehouseQuery,
      handler: async (ctx) => {
        ctx.body = await deps.warehouseQuery(validated<{ sql: string }>(ctx, 'body').sql);
      },
    }),
  ];
  if (t.loadSampleData) {
    const load = t.loadSampleData;
    routes.push(
      route({
        method: 'post', path: '/api/v1/admin/tenants/:tenant_id/sample-data', auth: 'admin', tag: 'admin', summary: 'Load synthetic GCP billing export rows into the tenant dataset: `days` days ending on `end_date` (default yesterday, UTC)',
        params: tenantParams, body: sampleDataBody, responses: { 200: ok('Rows loaded', sampleDataAnswer), 404: 'Unknown tenant', 409: 'The tenant was offboarded (TENANT_DELETED)', 422: `Invalid body (days 1–400, end_date YYYY-MM-DD, every day within ${DATE_PARAMETER_RANGE.first} … ${DATE_PARAMETER_RANGE.last})` },
        audit: AUDIT_SPECS.sampleData,
        handler: async (ctx) => {
          const loaded = await load(param(ctx, 'tenant_id'), validated<SampleDataRequest>(ctx, 'body'));
          ctx.body = { table: loaded.table, rows: loaded.rows, from_date: loaded.fromDate, to_date: loaded.toDate };
        },
      }),
    );
  }
  if (deps.offboard) {
    const offboard = deps.offboard;
    routes.push(
      route({
        method: 'post', path: '/api/v1/admin/tenants/:tenant_id/offboard', auth: 'admin', tag: 'admin',
        summary: 'Offboard a tenant: suspend, cancel runs, disable schedules, export every table to Parquet, delete its data and Redis keys, keep a DELETED profile. Idempotent and resumable; `dry_run` changes nothing',
        params: tenantParams, body: offboardBodySchema, audit: AUDIT_SPECS.offboard,
        responses: {
          200: ok('What was done (or, with dry_run, would be done) per step, what was exported and deleted', offboardAnswer),
          404: 'Unknown tenant',
          409: 'An offboarding of this tenant is running (OFFBOARD_IN_PROGRESS), or the tenant was deleted without a record (TENANT_DELETED)',
        },
        handler: async (ctx) => {
          ctx.body = await offboard(param(ctx, 'tenant_id'), validated<unknown>(ctx, 'body'));
        },
      }),
    );
  }
  return routes;
}
