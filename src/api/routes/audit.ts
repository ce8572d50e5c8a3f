import Joi from 'joi';
import { AUDIT_ACTIONS, AUDIT_OUTCOMES } from '../../audit/actions';
import { AUDIT_PAGE_MAX } from '../../audit/audit-query';
import type { AuditFilters, AuditPage } from '../../audit/audit-query';
import type { ApiDeps } from '../deps';
import { auditPageAnswer } from '../response-schemas';
import { ok, route, validated } from '../route-table';
import type { RouteErrors, RouteSpec } from '../route-table';
import { isoInstant, tenantIdParam, tenantParams } from '../schemas';
import { param } from '../types';

const tenantFilters = {
  action: Joi.string().valid(...AUDIT_ACTIONS),
  actor: Joi.string().max(200).pattern(/^[A-Za-z0-9._@:-]+$/).description('admin, anonymous, system, tenant_key:<key id> or user:<X-User-ID>'),
  outcome: Joi.string().valid(...AUDIT_OUTCOMES),
  from: isoInstant.description('Inclusive lower bound on event_time'),
  to: isoInstant.description('Exclusive upper bound on event_time'),
  limit: Joi.number().integer().min(1).max(AUDIT_PAGE_MAX).default(100),
  cursor: Joi.string().max(512).pattern(/^[A-Za-z0-9_-]+$/).description('next_cursor of the previous page'),
};

const BAD_CURSOR: RouteErrors = { 422: { VALIDATION_ERROR: '`cursor` is not one the API returned' } };

/** The validated query string: the filters, with the tenant as the admin route names it. */
type AuditQuery = Omit<AuditFilters, 'tenantId'> & { tenant_id?: string };

const filtersOf = (q: AuditQuery, tenantId: string | undefined): AuditFilters => ({
  limit: q.limit,
  ...(tenantId ? { tenantId } : {}),
  ...(q.action ? { action: q.action } : {}),
  ...(q.actor ? { actor: q.actor } : {}),
  ...(q.outcome ? { outcome: q.outcome } : {}),
  ...(q.from ? { from: q.from } : {}),
  ...(q.to ? { to: q.to } : {}),
  ...(q.cursor ? { cursor: q.cursor } : {}),
});

const pageBody = (page: AuditPage): Record<string, unknown> => ({ entries: page.entries, next_cursor: page.nextCursor });

/** Reading the audit log (README "Audit log"): the admin reads every row, a tenant's key only the rows of its tenant. */
export function auditRoutes(deps: ApiDeps): RouteSpec[] {
  return [
    route({
      method: 'get', path: '/api/v1/admin/audit', auth: 'admin', tag: 'admin', summary: 'Audit log, newest first, with filters and an opaque cursor',
      query: Joi.object({ tenant_id: tenantIdParam.optional(), ...tenantFilters }), responses: { 200: ok('One page of audit rows', auditPageAnswer) }, errors: BAD_CURSOR,
      handler: async (ctx) => {
        const q = validated<AuditQuery>(ctx, 'query');
        ctx.body = pageBody(await deps.audit.list(filtersOf(q, q.tenant_id)));
      },
    }),
    route({
      method: 'get', path: '/api/v1/tenants/:tenant_id/audit', auth: 'tenant', tag: 'tenants', summary: 'The tenant’s own audit rows, newest first, with filters and an opaque cursor',
      params: tenantParams, query: Joi.object(tenantFilters), responses: { 200: ok('One page of the tenant’s audit rows', auditPageAnswer) }, errors: BAD_CURSOR,
      handler: async (ctx) => {
        const page = await deps.audit.list(filtersOf(validated<AuditQuery>(ctx, 'query'), param(ctx, 'tenant_id')));
        // The platform's addresses are not the tenant's business: rows the admin wrote keep their actor, not its address.
        ctx.body = pageBody({ ...page, entries: page.entries.map((e) => (e.actor === 'admin' ? { ...e, source_ip: null } : e)) });
      },
    }),
  ];
}
