import type { DefaultContext, ParameterizedContext } from 'koa';
import type { Logger } from '../shared/logger';

export interface AuthState {
  tenantId: string;
  keyId: string;
  userId: string | null;
}

/** What the X-Admin-Key (or dashboard password) of a request turned out to be. */
export type AdminKeyCheck = 'valid' | 'missing' | 'wrong';

/** What middleware puts on `ctx.state`. */
export interface ApiState {
  requestId: string;
  log: Logger;
  auth?: AuthState;
  /** Set on admin routes before their rate limit, which depends on it. */
  adminKey?: AdminKeyCheck;
  /** Validated request parts, set by the `validate` middleware. */
  body?: unknown;
  query?: unknown;
}

export type ApiContext = ParameterizedContext<ApiState, DefaultContext & { params: Record<string, string> }>;

/** A path parameter after validation (the route's params schema guarantees presence). */
export const param = (ctx: ApiContext, name: string): string => ctx.params[name] ?? '';
