import type { Context, Middleware, Next } from 'koa';
import type { RedisClient } from '../../redis/connection';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RedisKeys } from '../../redis/keys';
import { sendTogether } from '../../redis/send-together';
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
  /**
   * Pipeline run/validate routes: the run limit and the all-routes tenant limit together, per tenant
   * (needs `ctx.state.auth`), both counted in one Redis round trip.
   */
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

  /**
   * Counts the request against every limit at once (the consumes go out together, so the request waits
   * one round trip), as the limits did one after the other: a Redis failure is a 503; otherwise the first
   * limit that refuses answers 429 with its headers, and an accepted request carries the last limit's
   * headers (the narrowest, e.g. the run limit on run routes).
   */
  const middleware = (limits: { name: string; points: number }[], keyOf: (ctx: Context) => string): Middleware => {
    const counted = limits.map(({ name, points }) => ({ points, rl: limiter(name, points) }));
    const last = counted[counted.length - 1];
    if (!last) throw new Error('a rate-limit middleware needs at least one limit');
    return async (ctx: Context, next: Next) => {
      const key = keyOf(ctx);
      // One socket write for all the limits' scripts (they are sent in this tick either way).
      const outcomes = await Promise.allSettled(sendTogether(deps.redis, () => counted.map(({ rl }) => rl.consume(key))));
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected' && !(outcome.reason instanceof RateLimiterRes)) throw dependencyUnavailable('Rate limiter store (Redis)', outcome.reason);
      }
      for (const [i, outcome] of outcomes.entries()) {
        if (outcome.status === 'fulfilled') continue;
        const points = counted[i]?.points ?? last.points;
        const { headers, retryAfter } = refusedHeaders(points, outcome.reason as RateLimiterRes);
        // Set on ctx too: the error middleware may or may not copy AppError headers.
        ctx.set(headers);
        throw new AppError(429, 'RATE_LIMITED', `Rate limit exceeded: ${points} requests per minute. Retry after ${retryAfter} seconds.`, {
          headers,
        });
      }
      const accepted = outcomes[outcomes.length - 1];
      if (accepted?.status === 'fulfilled') ctx.set(headersOf(last.points, accepted.value));
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

  const tenantLimit = { name: 'tenant', points: deps.limits.tenantPerMinute };
  return {
    perTenantRun: middleware([tenantLimit, { name: 'run', points: deps.limits.runPerMinute }], tenantKey),
    perTenant: middleware([tenantLimit], tenantKey),
    perIp: middleware([{ name: 'ip', points: deps.limits.ipPerMinute }], ipKey),
    perAdmin: middleware([{ name: 'admin', points: deps.limits.adminPerMinute }], ipKey),
    authFailures,
  };
}
