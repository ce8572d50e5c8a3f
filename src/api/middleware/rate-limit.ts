import type { Context, Middleware, Next } from 'koa';
import type { RedisClient } from '../../redis/connection';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RedisKeys } from '../../redis/keys';
import type { Clock } from '../../shared/clock';
import { systemClock } from '../../shared/clock';
import { AppError, dependencyUnavailable } from '../../shared/errors';

/**
 * Fixed-window rate limits kept in Redis (rate-limiter-flexible), so every API process shares one
 * count per tenant or IP. With ioredis the library needs no adapter flag (`useRedisPackage` is for
 * node-redis). `rejectIfRedisNotReady` makes a lost Redis fail at once instead of queueing (whatever
 * the client's offline-queue setting), and the failure becomes 503 DEPENDENCY_UNAVAILABLE rather
 * than letting traffic through unmetered. So the client must be ready before the API serves.
 */
export interface RateLimitersDeps {
  redis: RedisClient;
  keys: RedisKeys;
  limits: Config['rateLimits'];
  /** Only used to turn "ms until reset" into the epoch seconds of `X-RateLimit-Reset`. */
  clock?: Clock;
}

export interface AuthFailureLimiter {
  /**
   * Counts one failed authentication (wrong or missing API key, wrong admin key, wrong dashboard
   * password) of this IP and always throws: `refusal` while the IP is within its allowance, then
   * 429 AUTH_RATE_LIMITED. Only failures reach it, so a valid credential from the same address is
   * never refused because someone else there kept guessing (SPEC §6).
   */
  fail(ip: string, refusal: AppError): Promise<never>;
}

export interface RateLimiters {
  /** Pipeline run/validate routes: per tenant (needs `ctx.state.auth`). */
  perTenantRun: Middleware;
  /** Every tenant route: per tenant (needs `ctx.state.auth`). */
  perTenant: Middleware;
  /** Unauthenticated calls (admin routes without a valid admin key included): per client IP. */
  perIp: Middleware;
  /** Calls that carried the valid admin key: per client IP, with the larger admin allowance. */
  perAdmin: Middleware;
  authFailures: AuthFailureLimiter;
}

const WINDOW_SECONDS = 60;

interface AuthState {
  tenantId: string;
}

const isAuthState = (value: unknown): value is AuthState =>
  typeof value === 'object' && value !== null && typeof (value as { tenantId?: unknown }).tenantId === 'string';

/** Tenant routes count per tenant; should one ever run before auth, it falls back to the IP. */
const tenantKey = (ctx: Context): string => {
  const auth: unknown = ctx.state.auth;
  return isAuthState(auth) ? `tenant:${auth.tenantId}` : `ip:${ctx.ip}`;
};

const ipKey = (ctx: Context): string => `ip:${ctx.ip}`;

export function createRateLimiters(deps: RateLimitersDeps): RateLimiters {
  const clock = deps.clock ?? systemClock;
  const limiter = (name: string, points: number): RateLimiterRedis =>
    new RateLimiterRedis({
      storeClient: deps.redis,
      keyPrefix: deps.keys.rateLimit(name),
      points,
      duration: WINDOW_SECONDS,
      rejectIfRedisNotReady: true,
    });

  const headersOf = (points: number, res: RateLimiterRes): Record<string, string> => ({
    'X-RateLimit-Limit': String(points),
    'X-RateLimit-Remaining': String(Math.max(0, res.remainingPoints)),
    'X-RateLimit-Reset': String(Math.ceil((clock.now().getTime() + res.msBeforeNext) / 1000)),
  });
  /** The headers of a refused request: the limit's headers plus Retry-After, in whole seconds. */
  const refusedHeaders = (points: number, rejection: RateLimiterRes): { headers: Record<string, string>; retryAfter: number } => {
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    return { headers: { ...headersOf(points, rejection), 'Retry-After': String(retryAfter) }, retryAfter };
  };

  const middleware = (name: string, points: number, keyOf: (ctx: Context) => string): Middleware => {
    const rl = limiter(name, points);
    return async (ctx: Context, next: Next) => {
      let res: RateLimiterRes;
      try {
        res = await rl.consume(keyOf(ctx));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw dependencyUnavailable('Rate limiter store (Redis)', rejection);
        const { headers, retryAfter } = refusedHeaders(points, rejection);
        // Set on ctx too: the error middleware may or may not copy AppError headers.
        ctx.set(headers);
        throw new AppError(429, 'RATE_LIMITED', `Rate limit exceeded: ${points} requests per minute. Retry after ${retryAfter} seconds.`, {
          headers,
        });
      }
      ctx.set(headersOf(points, res));
      await next();
    };
  };

  const failures = deps.limits.authFailuresPerMinute;
  const failureLimiter = limiter('authfail', failures);
  const authFailures: AuthFailureLimiter = {
    async fail(ip, refusal) {
      try {
        await failureLimiter.consume(ip);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw dependencyUnavailable('Rate limiter store (Redis)', rejection);
        const { headers, retryAfter } = refusedHeaders(failures, rejection);
        throw new AppError(429, 'AUTH_RATE_LIMITED', `Too many failed authentication attempts. Retry after ${retryAfter} seconds.`, { headers });
      }
      throw refusal;
    },
  };

  return {
    perTenantRun: middleware('run', deps.limits.runPerMinute, tenantKey),
    perTenant: middleware('tenant', deps.limits.tenantPerMinute, tenantKey),
    perIp: middleware('ip', deps.limits.ipPerMinute, ipKey),
    perAdmin: middleware('admin', deps.limits.adminPerMinute, ipKey),
    authFailures,
  };
}
