import type { Middleware } from 'koa';
import { AppError, validationError } from '../../shared/errors';
import { USER_ID_PATTERN } from '../../shared/ids';
import { safeEqual } from '../../security/api-keys';
import type { ApiState } from '../types';

export interface AuthDeps {
  /** Resolves a tenant API key (Redis first, warehouse second); null when unknown, revoked, expired or suspended. */
  authenticate(apiKey: string): Promise<{ tenantId: string; keyId: string } | null>;
  adminApiKey: string;
  disableAuth: boolean;
  authFailures: { assertNotBlocked(ip: string): Promise<void>; recordFailure(ip: string): Promise<void> };
  /** Records the X-User-ID as a team member; throws 403 TEAM_LIMIT_REACHED for a new one beyond the plan. */
  touchTeamMember(tenantId: string, userId: string): Promise<void>;
}

const invalidKey = (): AppError => new AppError(401, 'INVALID_API_KEY', 'Invalid or missing API key');

/** X-API-Key guard for tenant routes. A `:tenant_id` path segment must be the key's own tenant. */
export function requireTenant(deps: AuthDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    const apiKey = ctx.get('X-API-Key');
    await deps.authFailures.assertNotBlocked(ctx.ip);
    if (apiKey === '') {
      await deps.authFailures.recordFailure(ctx.ip);
      throw invalidKey();
    }
    const found = await deps.authenticate(apiKey);
    if (!found) {
      await deps.authFailures.recordFailure(ctx.ip);
      throw invalidKey();
    }
    const userId = ctx.get('X-User-ID') || null;
    if (userId !== null && !USER_ID_PATTERN.test(userId)) {
      throw validationError([{ field: 'X-User-ID', message: 'must match ^[A-Za-z0-9._@-]{1,128}$' }]);
    }
    ctx.state.auth = { tenantId: found.tenantId, keyId: found.keyId, userId };
    const pathTenant = (ctx as unknown as { params?: Record<string, string> }).params?.tenant_id;
    if (pathTenant !== undefined && pathTenant !== found.tenantId) {
      throw new AppError(403, 'TENANT_MISMATCH', 'This API key may not act on another tenant');
    }
    if (userId !== null) await deps.touchTeamMember(found.tenantId, userId);
    await next();
  };
}

/** X-Admin-Key guard, compared in constant time; DISABLE_AUTH (development only) lets admin routes through. */
export function requireAdmin(deps: AuthDeps): Middleware<ApiState> {
  return async (ctx, next) => {
    if (deps.disableAuth) return next();
    await deps.authFailures.assertNotBlocked(ctx.ip);
    const sent = ctx.get('X-Admin-Key');
    if (sent === '') throw new AppError(401, 'ADMIN_KEY_REQUIRED', 'X-Admin-Key header is required');
    if (!safeEqual(sent, deps.adminApiKey)) {
      await deps.authFailures.recordFailure(ctx.ip);
      throw new AppError(403, 'INVALID_ADMIN_KEY', 'Invalid admin key');
    }
    await next();
  };
}
