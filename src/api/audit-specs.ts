import { AUDIT_SQL_MAX_CHARS } from '../audit/actions';
import { TENANT_ID_PATTERN } from '../shared/ids';
import { BILLING_EXPORT_TABLE } from '../pipelines/sample-billing';
import { answerField, auditBody } from './audit-route';
import type { RouteAudit } from './audit-route';
import { param } from './types';
import type { ApiContext } from './types';

/**
 * What each audited route records besides the actor, request id, outcome and source address. Only ids,
 * names and the changed fields go in: never a key (its id only), a credential (only whether one was set),
 * a setting's value (tenants may put anything there) or the answer body itself.
 */

/** Ids, names and enum values as the audit log keeps them; anything else a request sent is left out. */
const SAFE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** A tenant id from the path or a body, when it is one (a refused body may hold anything). */
const tenantIdOr = (value: unknown): string | null => (typeof value === 'string' && TENANT_ID_PATTERN.test(value) ? value : null);
const pathTenant = (ctx: ApiContext): string | null => tenantIdOr(param(ctx, 'tenant_id'));

const pick = (body: Record<string, unknown>, names: string[]): Record<string, unknown> => {
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const value = body[name];
    if (typeof value === 'boolean' || (typeof value === 'string' && SAFE_ID.test(value))) out[name] = value;
  }
  return out;
};

/** Whole numbers a body sent (sizes, counts), by name. */
const integers = (body: Record<string, unknown>, names: string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const name of names) {
    const value = body[name];
    if (typeof value === 'number' && Number.isSafeInteger(value)) out[name] = value;
  }
  return out;
};

/** `set`, `removed` (null) or `unchanged` (absent): whether a PUT touched the stored credentials, never their value. */
const credentialsChange = (body: Record<string, unknown>): string => (!('credentials' in body) || body['credentials'] === undefined ? 'unchanged' : body['credentials'] === null ? 'removed' : 'set');

const settingNames = (body: Record<string, unknown>): string[] => {
  const settings = body['settings'];
  return settings !== null && typeof settings === 'object' ? Object.keys(settings).filter((k) => SAFE_ID.test(k)).sort().slice(0, 50) : [];
};

/** `kind:id` when the id looks like one (a path or body the validation refused may hold anything). */
const targetOf = (kind: string, id: string | null): string | null => (id && SAFE_ID.test(id) ? `${kind}:${id}` : null);
const webhookTarget = (id: string | null): string | null => targetOf('webhook', id);
/** The webhook id of a path, whatever the route calls its parameter. */
const webhookIdOf = (ctx: ApiContext): string | null => param(ctx, 'webhook_id') || null;
/** Which fields a body set (names only: a URL may hold a token). */
const fieldNames = (body: Record<string, unknown>): string[] => Object.keys(body).filter((k) => SAFE_ID.test(k)).sort().slice(0, 20);
const dryRunOf = (ctx: ApiContext): boolean => {
  const fromBody = auditBody(ctx)['dry_run'];
  const fromQuery = (ctx.state.query as Record<string, unknown> | undefined)?.['dry_run'] ?? ctx.query['dry_run'];
  return fromBody === true || fromBody === 'true' || fromQuery === true || fromQuery === 'true';
};

const keyTarget = (keyId: string | null): string | null => targetOf('api_key', keyId);
const tenantTarget = (ctx: ApiContext): string | null => targetOf('tenant', pathTenant(ctx));
const providerTarget = (ctx: ApiContext): string | null => targetOf('provider', param(ctx, 'provider'));

export const AUDIT_SPECS = {
  onboard: {
    action: 'tenant.onboard',
    describe: (ctx) => {
      const body = auditBody(ctx);
      const tenantId = tenantIdOr(body['tenant_id']);
      return {
        tenantId,
        target: targetOf('tenant', tenantId),
        details: { ...pick(body, ['subscription_plan', 'force_recreate_dataset', 'force_recreate_tables']), ...(answerField(ctx, 'api_key') ? { api_key_issued: true } : {}) },
      };
    },
  },
  updateTenant: {
    action: 'tenant.update',
    describe: (ctx) => ({ tenantId: pathTenant(ctx), target: tenantTarget(ctx), details: pick(auditBody(ctx), ['subscription_plan', 'status']) }),
  },
  issueKey: {
    action: 'api_key.issue',
    describe: (ctx, answered) => ({ tenantId: pathTenant(ctx), target: answered ? keyTarget(answerField(ctx, 'key_id')) : null }),
  },
  revokeKey: {
    action: 'api_key.revoke',
    describe: (ctx, answered) => ({ tenantId: answered ? tenantIdOr(answerField(ctx, 'tenant_id')) : null, target: keyTarget(param(ctx, 'key_id') || null) }),
  },
  rotateKey: {
    action: 'api_key.rotate',
    describe: (ctx, answered) => ({
      tenantId: pathTenant(ctx),
      target: answered ? keyTarget(answerField(ctx, 'key_id')) : null,
      details: { previous_key_id: ctx.state.auth?.keyId ?? null, ...(typeof auditBody(ctx)['grace_seconds'] === 'number' ? { grace_seconds: auditBody(ctx)['grace_seconds'] } : {}) },
    }),
  },
  putProvider: {
    action: (ctx) => (credentialsChange(auditBody(ctx)) === 'unchanged' ? 'provider.settings_update' : 'provider.credentials_update'),
    describe: (ctx) => {
      const body = auditBody(ctx);
      return { tenantId: pathTenant(ctx), target: providerTarget(ctx), details: { settings: settingNames(body), credentials: credentialsChange(body) } };
    },
  },
  deleteProvider: {
    action: 'provider.delete',
    describe: (ctx) => ({ tenantId: pathTenant(ctx), target: providerTarget(ctx) }),
  },
  warehouseQuery: {
    action: 'admin.warehouse_query',
    describe: (ctx) => {
      const sql = auditBody(ctx)['sql'];
      if (typeof sql !== 'string') return { details: null };
      return { details: { sql: sql.slice(0, AUDIT_SQL_MAX_CHARS), sql_chars: sql.length, ...(sql.length > AUDIT_SQL_MAX_CHARS ? { truncated: true } : {}) } };
    },
  },
  /**
   * The offboarding and webhook routes. A webhook is named by its id only: its URL may carry a token, and its secret
   * is never read here.
   */
  offboard: {
    action: 'tenant.offboard',
    describe: (ctx) => ({ tenantId: pathTenant(ctx), target: tenantTarget(ctx), details: { dry_run: dryRunOf(ctx) } }),
  },
  webhookCreate: {
    action: 'webhook.create',
    describe: (ctx, answered) => ({ tenantId: pathTenant(ctx), target: answered ? webhookTarget(answerField(ctx, 'webhook_id')) : null, details: { fields: fieldNames(auditBody(ctx)) } }),
  },
  webhookUpdate: {
    action: 'webhook.update',
    describe: (ctx) => ({ tenantId: pathTenant(ctx), target: webhookTarget(webhookIdOf(ctx)), details: { fields: fieldNames(auditBody(ctx)) } }),
  },
  webhookDelete: {
    action: 'webhook.delete',
    describe: (ctx) => ({ tenantId: pathTenant(ctx), target: webhookTarget(webhookIdOf(ctx)) }),
  },
  webhookRotateSecret: {
    action: 'webhook.rotate_secret',
    describe: (ctx) => ({ tenantId: pathTenant(ctx), target: webhookTarget(webhookIdOf(ctx)) }),
  },
  /**
   * The synthetic billing rows an admin loads into a tenant's dataset: without `append` the tenant's table is dropped
   * and recreated, whatever it held. The request's shape, and the days the answer says were loaded.
   */
  sampleData: {
    action: 'tenant.sample_data',
    describe: (ctx, answered) => {
      const body = auditBody(ctx);
      const tenantId = pathTenant(ctx);
      return {
        tenantId,
        target: tenantId ? `table:${tenantId}.${BILLING_EXPORT_TABLE}` : null,
        details: {
          ...integers(body, ['days', 'rows_per_day']),
          append: body['append'] === true,
          ...pick(body, ['end_date']),
          ...(answered ? pick({ from_date: answerField(ctx, 'from_date'), to_date: answerField(ctx, 'to_date') }, ['from_date', 'to_date']) : {}),
        },
      };
    },
  },
  /** Creates what is missing of the central datasets and tables (every API start does too): what it created. */
  bootstrap: {
    action: 'admin.bootstrap',
    describe: (ctx, answered) => {
      const created = (name: string): string[] => {
        const list = (ctx.body as Record<string, unknown> | undefined)?.[name];
        return Array.isArray(list) ? list.filter((x): x is string => typeof x === 'string' && SAFE_ID.test(x)).slice(0, 50) : [];
      };
      return { tenantId: null, details: answered ? { datasets_created: created('datasets_created'), tables_created: created('tables_created') } : null };
    },
  },
  /** An operator's run of one template across many tenants: the template, not the parameters. */
  fanoutCreate: {
    action: 'fanout.create',
    describe: (ctx, answered) => ({
      tenantId: null,
      target: answered ? targetOf('fanout', answerField(ctx, 'fanout_id')) : null,
      details: { template: [param(ctx, 'provider'), param(ctx, 'domain'), param(ctx, 'template_name')].filter((p) => SAFE_ID.test(p)).join('/') },
    }),
  },
  fanoutCancel: {
    action: 'fanout.cancel',
    describe: (ctx) => ({ tenantId: null, target: targetOf('fanout', param(ctx, 'fanout_id') || null) }),
  },
} satisfies Record<string, RouteAudit>;
