import Joi from 'joi';
import type { ApiDeps } from '../deps';
import { ok, route, validated } from '../route-table';
import { bootstrapAnswer, issuedKeyAnswer, offboardAnswer, queryAnswer, revokedKeyAnswer, sampleDataAnswer, tenantAnswer } from '../response-schemas';
import { offboardBodySchema } from '../../offboarding/offboard';
import type { SampleDataRequest } from '../../tenants/tenant-operations';
import type { ErrorCodes, RouteSpec } from '../route-table';
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

const UNKNOWN_TENANT: ErrorCodes = { TENANT_NOT_FOUND: 'an unknown (or not yet active) tenant id' };
const OFFBOARDING_OR_OFFBOARDED: ErrorCodes = {
  OFFBOARD_IN_PROGRESS: 'the tenant is being offboarded and its offboarding has not finished',
  TENANT_DELETED: 'the tenant was offboarded',
};

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
      params: tenantParams, responses: { 200: ok('Tenant', tenantAnswer) }, errors: { 404: UNKNOWN_TENANT },
      handler: async (ctx) => {
        ctx.body = await t.get(param(ctx, 'tenant_id'));
      },
    }),
    route({
      method: 'patch', path: '/api/v1/admin/tenants/:tenant_id', auth: 'admin', tag: 'admin', summary: 'Change a tenant plan or status (ACTIVE/SUSPENDED)',
      params: tenantParams, body: t.updateSchema, responses: { 200: ok('Updated tenant', tenantAnswer) }, audit: AUDIT_SPECS.updateTenant,
      errors: { 404: UNKNOWN_TENANT, 409: OFFBOARDING_OR_OFFBOARDED, 422: { VALIDATION_ERROR: 'an unknown `subscription_plan`' } },
      handler: async (ctx) => {
        ctx.body = await t.update(param(ctx, 'tenant_id'), validated<unknown>(ctx, 'body'));
      },
    }),
    route({
      method: 'post', path: '/api/v1/admin/tenants/:tenant_id/api-keys', auth: 'admin', tag: 'admin', summary: 'Issue an additional API key (shown once)',
      params: tenantParams, responses: { 201: ok('New key', issuedKeyAnswer) }, errors: { 404: UNKNOWN_TENANT, 409: OFFBOARDING_OR_OFFBOARDED }, audit: AUDIT_SPECS.issueKey,
      handler: async (ctx) => {
        ctx.status = 201;
        ctx.body = await t.issueKey(param(ctx, 'tenant_id'));
      },
    }),
    route({
      method: 'delete', path: '/api/v1/admin/api-keys/:key_id', auth: 'admin', tag: 'admin', summary: 'Revoke an API key (effective on the next request)',
      params: Joi.object({ key_id: idParam }), responses: { 200: ok('Revoked', revokedKeyAnswer) }, errors: { 404: { API_KEY_NOT_FOUND: 'an unknown key id' } }, audit: AUDIT_SPECS.revokeKey,
      handler: async (ctx) => {
        ctx.body = await t.revokeKey(param(ctx, 'key_id'));
      },
    }),
    route({
      method: 'post', path: '/api/v1/admin/warehouse/query', auth: 'admin', tag: 'admin', summary: 'Run one read-only SELECT against the warehouse (the guide’s SQL works as written)',
      body: Joi.object({ sql: Joi.string().min(1).max(20000).required() }), responses: { 200: ok('Rows (at most 10,000, and ADMIN_QUERY_MAX_RESULT_BYTES of them; truncated says whether more existed)', queryAnswer) }, audit: AUDIT_SPECS.warehouseQuery,
      // The sandbox answers every refusal of the engine as a 422 of this query (warehouse/operator-query.ts), its credentials' included.
      warehouse: false,
      errors: {
        422: {
          SQL_NOT_SINGLE_STATEMENT: 'not exactly one statement',
          SQL_NOT_READ_ONLY: 'not a read-only SELECT',
          SQL_FUNCTION_NOT_ALLOWED: 'a table function that is not a reader of tables',
          SQL_EXTERNAL_ACCESS_DENIED: 'reaches files or the network',
          SQL_BYTES_LIMIT_EXCEEDED: 'BigQuery estimates it over `ADMIN_QUERY_MAX_BYTES_BILLED`',
          WAREHOUSE_ERROR: 'the engine refused it (unknown table, syntax, permission), or it was stopped after `ADMIN_QUERY_TIMEOUT_MS`',
        },
        503: { DEPENDENCY_UNAVAILABLE: 'two operator queries past their time limit are still running in DuckDB' },
      },
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
        params: tenantParams, body: sampleDataBody, responses: { 200: ok('Rows loaded', sampleDataAnswer) },
        errors: {
          404: UNKNOWN_TENANT,
          409: { TENANT_DELETED: 'the tenant was offboarded' },
          422: { VALIDATION_ERROR: `days 1–${SAMPLE_DAYS_MAX}, end_date YYYY-MM-DD, every day within ${DATE_PARAMETER_RANGE.first} … ${DATE_PARAMETER_RANGE.last}` },
        },
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
        responses: { 200: ok('What was done (or, with dry_run, would be done) per step, what was exported and deleted', offboardAnswer) },
        errors: {
          404: UNKNOWN_TENANT,
          409: { OFFBOARD_IN_PROGRESS: 'an offboard call of this tenant is running; call again once it ended', TENANT_DELETED: 'the tenant was deleted without an offboarding record' },
          422: { EXPORT_DESTINATION_INVALID: '`export_uri` on the embedded warehouse, or no `gs://` URI (body or `OFFBOARD_EXPORT_URI`) on BigQuery' },
          503: { DEPENDENCY_UNAVAILABLE: 'BigQuery cannot delete rows streamed in the last 30 minutes yet; call again later, it resumes at that step' },
        },
        handler: async (ctx) => {
          ctx.body = await offboard(param(ctx, 'tenant_id'), validated<unknown>(ctx, 'body'));
        },
      }),
    );
  }
  return routes;
}
