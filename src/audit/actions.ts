/**
 * Every action the audit log records (README "Audit log"). Each is written where the actor and the
 * request id are known: route rows carry an `audit` spec (src/api/audit-route.ts), the dashboard its own.
 * `tenant.offboard` and `webhook.*` are recorded by those features' routes.
 */
export const AUDIT_ACTIONS = [
  'tenant.onboard',
  'tenant.update',
  'tenant.offboard',
  'tenant.sample_data',
  'api_key.issue',
  'api_key.revoke',
  'api_key.rotate',
  'provider.settings_update',
  'provider.credentials_update',
  'provider.delete',
  'admin.warehouse_query',
  'admin.bootstrap',
  'dashboard.login',
  'webhook.create',
  'webhook.update',
  'webhook.delete',
  'webhook.rotate_secret',
  'fanout.create',
  'fanout.cancel',
] as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[number];

export const AUDIT_OUTCOMES = ['success', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/**
 * Who acted: `admin` (the admin key, or the dashboard password, which is the admin key),
 * `tenant_key:<key id>` (never the key or its hash), `user:<X-User-ID>` when a tenant call names its user
 * (the key id is then in `keyId`), `anonymous` for a failed dashboard login, `system` for what the platform does
 * by itself (e.g. a webhook endpoint disabled after a run of failed deliveries).
 */
export type AuditActor = 'admin' | 'anonymous' | 'system' | `tenant_key:${string}` | `user:${string}`;

/** One audited action as a caller reports it. `details` is small JSON and never holds a secret. */
export interface AuditEntry {
  action: AuditAction;
  actor: AuditActor;
  outcome: AuditOutcome;
  tenantId?: string | null;
  target?: string | null;
  requestId?: string | null;
  sourceIp?: string | null;
  keyId?: string | null;
  userId?: string | null;
  /** The error code of a failure (e.g. SQL_NOT_READ_ONLY). */
  outcomeCode?: string | null;
  httpStatus?: number | null;
  details?: Record<string, unknown> | null;
}

/** What the HTTP layer needs to write the log. `record` never rejects: a failing write is retried, never lost. */
export interface AuditRecorder {
  record(entry: AuditEntry): Promise<void>;
}

/** Admin SQL is recorded up to this many characters (not a secret; its size is bounded). */
export const AUDIT_SQL_MAX_CHARS = 2048;
