import type { Middleware } from 'koa';
import { AppError, validationError } from '../../shared/errors';
import { USER_ID_PATTERN } from '../../shared/ids';
import { safeEqual } from '../../security/api-keys';
import type { AdminKeyCheck, ApiState } from '../types';
import type { AuthFailureLimiter } from './rate-limit';

export interface AuthDeps {
  /**
   * Resolves a tenant API key (Redis first, warehouse second); null when unknown, revoked, expired or suspended.
   * `warehouseAllowed` is asked before a key Redis cannot answer is looked up in the warehouse (api-key-service.ts).
   */
  authenticate(apiKey: string, warehouseAllowed?: () => Promise<boolean>): Promise<{ tenantId: string; keyId: string } | null>;
  adminApiKey: string;
  disableAuth: boolean;
  authFailures: AuthFailureLimiter;
  /** Records the X-User-ID as a team member (acting routes only); throws 403 TEAM_LIMIT_REACHED for a new one beyond the plan. */
  touchTeamMember(tenantId: string, userId: string): Promise<void>;
}

const invalidKey = (): AppError => new AppError(401, 'INVALID_API_KEY', 'Invalid or missing API key');

/**
 * X-API-Key guard for tenant routes. A `:tenant_id` path segment must be the key's own tenant.
 * A valid key is let through without looking at the failed-auth count: only failures are throttled. The count is
 * read only before a key Redis cannot answer would be looked up in the warehouse: a locked-out address gets no
 * such lookup (a guess costs no query), only a load of a known tenant's keys, once (api-key-service.ts).
 */
export function requireTenant(deps: AuthDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    const apiKey = ctx.get('X-API-Key');
    const found = apiKey === '' ? null : await deps.authenticate(apiKey, async () => !(await deps.authFailures.isLockedOut(ctx.ip)));
    if (!found) return deps.authFailures.fail(ctx.ip, invalidKey());
    const userId = ctx.get('X-User-ID') || null;
    if (userId !== null && !USER_ID_PATTERN.test(userId)) {
      throw validationError([{ field: 'X-User-ID', message: 'must match ^[A-Za-z0-9._@-]{1,128}$' }]);
    }
    ctx.state.auth = { tenantId: found.tenantId, keyId: found.keyId, userId };
    const pathTenant = (ctx as unknown as { params?: Record<string, string> }).params?.tenant_id;
    if (pathTenant !== undefined && pathTenant !== found.tenantId) {
      throw new AppError(403, 'TENANT_MISMATCH', 'This API key may not act on another tenant');
    }
    // A team seat is taken only where the caller acts (route-table `takesSeat`), never here.
    await next();
  };
}

/** Compares a sent admin credential (X-Admin-Key or the dashboard password) with the admin key in constant time. */
export const checkAdminKey = (sent: string, adminApiKey: string): AdminKeyCheck =>
  sent === '' ? 'missing' : safeEqual(sent, adminApiKey) ? 'valid' : 'wrong';

/**
 * Reads X-Admin-Key without refusing anything yet, so the call is counted by the right rate limiter
 * (a valid admin key has its own, larger allowance) before `requireAdmin` decides.
 */
export function identifyAdmin(deps: AuthDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    ctx.state.adminKey = checkAdminKey(ctx.get('X-Admin-Key'), deps.adminApiKey);
    await next();
  };
}

/**
 * X-Admin-Key guard. DISABLE_AUTH (development only) lets admin routes through whatever was sent.
 * A wrong key counts as a failed authentication; a missing one is only counted by the per-IP limit.
 */
export function requireAdmin(deps: AuthDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    const check = ctx.state.adminKey ?? checkAdminKey(ctx.get('X-Admin-Key'), deps.adminApiKey);
    if (check === 'valid' || deps.disableAuth) return next();
    if (check === 'missing') throw new AppError(401, 'ADMIN_KEY_REQUIRED', 'X-Admin-Key header is required');
    return deps.authFailures.fail(ctx.ip, new AppError(403, 'INVALID_ADMIN_KEY', 'Invalid admin key'));
  };
}
