import type { DefaultContext, ParameterizedContext } from 'koa';
import type { Logger } from '../shared/logger';

export interface AuthState {
  tenantId: string;
  keyId: string;
  userId: string | null;
}

/** What middleware puts on `ctx.state`. */
export interface ApiState {
  requestId: string;
  log: Logger;
  auth?: AuthState;
  /** Validated request parts, set by the `validate` middleware. */
  body?: unknown;
  query?: unknown;
}

export type ApiContext = ParameterizedContext<ApiState, DefaultContext & { params: Record<string, string> }>;

/** A path parameter after validation (the route's params schema guarantees presence). */
export const param = (ctx: ApiContext, name: string): string => ctx.params[name] ?? '';
