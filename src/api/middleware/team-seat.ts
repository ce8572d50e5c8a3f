import type { Middleware } from 'koa';
import type { ApiState } from '../types';
import type { AuthDeps } from './auth';

/**
 * Takes a team seat for the caller's X-User-ID on a route where it acts (see `RouteSpec.takesSeat`);
 * a new user beyond the plan's team size is refused with 403 TEAM_LIMIT_REACHED. Reads never pass here.
 */
export function takeTeamSeat(auth: Pick<AuthDeps, 'touchTeamMember'>): Middleware<ApiState> {
  return async (ctx, next) => {
    const caller = ctx.state.auth;
    if (caller?.userId) await auth.touchTeamMember(caller.tenantId, caller.userId);
    await next();
  };
}

/**
 * For a `takesSeat: 'by-service'` route: the call that takes the caller's seat, handed to the service so it
 * runs only after the service's own checks (a 404 or 422 takes no seat); undefined without an X-User-ID.
 */
export function seatTaker(auth: Pick<AuthDeps, 'touchTeamMember'>, state: ApiState): (() => Promise<void>) | undefined {
  const caller = state.auth;
  const userId = caller?.userId;
  return caller && userId ? () => auth.touchTeamMember(caller.tenantId, userId) : undefined;
}
