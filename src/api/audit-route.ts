import type { Context, Middleware } from 'koa';
import type { AuditAction, AuditEntry, AuditRecorder } from '../audit/actions';
import { toAppError } from './middleware/error-handler';
import type { ApiContext, ApiState } from './types';

/** The tenant, target and details of an audit row; never a secret (no key, credential, password or their hashes). */
export interface AuditSubject {
  tenantId?: string | null;
  target?: string | null;
  details?: Record<string, unknown> | null;
}

/**
 * A route row's audit spec: the guard chain records one row per authenticated call, success or failure
 * (validation errors and refusals included; unauthenticated calls are the failed-auth limiter's business).
 */
export interface RouteAudit {
  action: AuditAction | ((ctx: ApiContext) => AuditAction);
  /** Read from the request and, when `answered`, the answer body (pick fields: never copy the answer). */
  describe?: (ctx: ApiContext, answered: boolean) => AuditSubject;
}

/**
 * Who acted, from the request's auth: a tenant key (and its X-User-ID) or, on admin routes, the admin. An admin
 * route reached without the admin key (only with DISABLE_AUTH=true, development) is `anonymous`.
 */
export function auditActor(ctx: Context | ApiContext): Pick<AuditEntry, 'actor' | 'keyId' | 'userId'> {
  const state = ctx.state as ApiState;
  const auth = state.auth;
  if (!auth) return { actor: state.adminKey === undefined || state.adminKey === 'valid' ? 'admin' : 'anonymous', keyId: null, userId: null };
  return { actor: auth.userId ? `user:${auth.userId}` : `tenant_key:${auth.keyId}`, keyId: auth.keyId, userId: auth.userId };
}

/** The request id and the source address (ctx.ip honours the app's TRUST_PROXY setting). */
export const requestFacts = (ctx: Context | ApiContext): Pick<AuditEntry, 'requestId' | 'sourceIp'> => ({
  requestId: (ctx.state as Partial<ApiState>).requestId ?? null,
  sourceIp: ctx.ip || null,
});

/** The request body as validated, or as sent when validation refused it. */
export const auditBody = (ctx: ApiContext): Record<string, unknown> => {
  const body = ctx.state.body ?? (ctx.request as { body?: unknown }).body;
  return body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
};

/** A field of the answer body, when it is a string. */
export const answerField = (ctx: ApiContext, name: string): string | null => {
  const value = (ctx.body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : null;
};

/** Records the call after it ran; the call's own answer or error goes out unchanged. */
export function auditCall(spec: RouteAudit, recorder: AuditRecorder): Middleware<ApiState> {
  return async (raw, next) => {
    const ctx = raw as unknown as ApiContext;
    let failure: unknown = null;
    let failed = false;
    try {
      await next();
    } catch (err) {
      failure = err;
      failed = true;
    }
    let subject: AuditSubject = {};
    try {
      subject = spec.describe?.(ctx, !failed) ?? {};
    } catch {
      // A describe that trips over an odd request still leaves the row (without its subject).
    }
    await recorder.record({
      action: typeof spec.action === 'function' ? spec.action(ctx) : spec.action,
      ...auditActor(ctx),
      ...requestFacts(ctx),
      ...subject,
      outcome: failed ? 'failure' : 'success',
      outcomeCode: failed ? toAppError(failure).code : null,
      httpStatus: failed ? toAppError(failure).status : ctx.status,
    });
    if (failed) throw failure;
  };
}
