import type { Context, Middleware, Next } from 'koa';
import Redis from 'ioredis';
import type { RedisClient } from '../../redis/connection';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { Config } from '../../config';
import type { RedisKeys } from '../../redis/keys';
import { ScriptRunner } from '../../redis/scripts';
import type { Clock } from '../../shared/clock';
import { systemClock } from '../../shared/clock';
import { AppError, dependencyUnavailable } from '../../shared/errors';
import { clientAddressKey } from './client-address';

/**
 * Fixed-window rate limits kept in Redis, so every API process shares one count per tenant or IP: the route
 * limits by one script (rate-limit.lua, both limits of a run route in one call), failed authentications by
 * rate-limiter-flexible, whose fixed-window semantics the script keeps. With ioredis the library needs no
 * adapter flag (`useRedisPackage` is for node-redis). Both refuse at once while the connection is not ready
 * (`rejectIfRedisNotReady` for the library) instead of queueing, and the failure becomes 503
 * DEPENDENCY_UNAVAILABLE rather than letting traffic through unmetered. So the client must be ready before the API serves.
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
   * password) of this client address (clientAddressKey: an IPv6 client by its /64) and always throws:
   * `refusal` while the address is within its allowance, then 429 AUTH_RATE_LIMITED. Only failures
   * reach it, so a valid credential from the same address is never refused because someone else
   * there kept guessing (SPEC §6).
   */
  fail(ip: string, refusal: AppError): Promise<never>;
  /**
   * Whether this address has no failures left in the window (its next failure gets 429), counting nothing. Asked
   * only before work a guess would make costly (a warehouse lookup of a key Redis does not know).
   */
  isLockedOut(ip: string): Promise<boolean>;
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

/**
 * The counters of one or two limits of one client address (clientAddressKey: an IPv6 client by its /64):
 * rate-limiter-flexible's key names (`<prefix>:ip:<address>`), which the failed-authentication limit still uses.
 * A second counter shares the first's slot by an `{ip:…}` tag.
 */
const ipKeys =
  (k: RedisKeys, first: string, second?: string) =>
  (ctx: Context): [string, string] => {
    const client = clientAddressKey(ctx.ip);
    if (second === undefined) {
      const key = `${k.rateLimit(first)}:ip:${client}`;
      return [key, key];
    }
    return [`${k.rateLimit(first)}:{ip:${client}}`, `${k.rateLimit(second)}:{ip:${client}}`];
  };

/** Tenant routes count per tenant (tenant-tagged counters); should one ever run before auth, they fall back to the IP. */
const tenantKeys = (k: RedisKeys, first: string, second?: string) => {
  const byIp = ipKeys(k, first, second);
  return (ctx: Context): [string, string] => {
    const auth: unknown = ctx.state.auth;
    if (!isAuthState(auth)) return byIp(ctx);
    const key = k.rateLimitTenant(auth.tenantId, first);
    return [key, second === undefined ? key : k.rateLimitTenant(auth.tenantId, second)];
  };
};

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

  /** A window's state as rate-limiter-flexible reports it: what is left and when the window ends. */
  interface Window {
    remainingPoints: number;
    msBeforeNext: number;
  }
  const headersOf = (points: number, res: Window): Record<string, string> => ({
    'X-RateLimit-Limit': String(points),
    'X-RateLimit-Remaining': String(Math.max(0, res.remainingPoints)),
    'X-RateLimit-Reset': String(Math.ceil((clock.now().getTime() + res.msBeforeNext) / 1000)),
  });
  /** The headers of a refused request: the limit's headers plus Retry-After, in whole seconds. */
  const refusedHeaders = (points: number, rejection: Window): { headers: Record<string, string>; retryAfter: number } => {
    const retryAfter = Math.max(1, Math.ceil(rejection.msBeforeNext / 1000));
    return { headers: { ...headersOf(points, rejection), 'Retry-After': String(retryAfter) }, retryAfter };
  };

  const scripts = new ScriptRunner(deps.redis);
  /**
   * Counts the request against every limit in one script call (rate-limit.lua, one round trip; a tenant's
   * counters share its hash tag), with rate-limiter-flexible's fixed-window semantics, as the limits did one
   * after the other: Redis not ready or failing is a 503; otherwise the first limit over its count answers
   * 429 with its headers, and an accepted request carries the last limit's headers (the narrowest, e.g. the
   * run limit on run routes).
   */
  const middleware = (limits: { name: string; points: number }[], keysOf: (ctx: Context) => [string, string]): Middleware => {
    const last = limits[limits.length - 1];
    if (!last || limits.length > 2) throw new Error('a rate-limit middleware counts one or two limits');
    const counted = String(limits.length);
    return async (ctx: Context, next: Next) => {
      // As rate-limiter-flexible's rejectIfRedisNotReady: refuse at once rather than queue.
      if (deps.redis instanceof Redis && deps.redis.status !== 'ready') throw dependencyUnavailable('Rate limiter store (Redis)', new Error('Redis connection is not ready'));
      let counts: number[];
      try {
        counts = await scripts.run('rate-limit', keysOf(ctx), [WINDOW_SECONDS, counted]);
      } catch (err) {
        throw dependencyUnavailable('Rate limiter store (Redis)', err);
      }
      for (let i = 0; i < limits.length; i += 1) {
        const points = limits[i]!.points;
        const consumed = counts[2 * i] ?? 0;
        if (consumed <= points) continue;
        const { headers, retryAfter } = refusedHeaders(points, { remainingPoints: 0, msBeforeNext: counts[2 * i + 1] ?? 0 });
        // Set on ctx too: the error middleware may or may not copy AppError headers.
        ctx.set(headers);
        throw new AppError(429, 'RATE_LIMITED', `Rate limit exceeded: ${points} requests per minute. Retry after ${retryAfter} seconds.`, {
          headers,
        });
      }
      const i = limits.length - 1;
      ctx.set(headersOf(last.points, { remainingPoints: last.points - (counts[2 * i] ?? 0), msBeforeNext: counts[2 * i + 1] ?? 0 }));
      await next();
    };
  };

  const failures = deps.limits.authFailuresPerMinute;
  const failureLimiter = limiter('authfail', failures);
  const authFailures: AuthFailureLimiter = {
    async fail(ip, refusal) {
      try {
        await failureLimiter.consume(clientAddressKey(ip));
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw dependencyUnavailable('Rate limiter store (Redis)', rejection);
        const { headers, retryAfter } = refusedHeaders(failures, rejection);
        throw new AppError(429, 'AUTH_RATE_LIMITED', `Too many failed authentication attempts. Retry after ${retryAfter} seconds.`, { headers });
      }
      throw refusal;
    },
    async isLockedOut(ip) {
      try {
        const window = await failureLimiter.get(clientAddressKey(ip));
        return window !== null && window.consumedPoints >= failures;
      } catch (err) {
        throw dependencyUnavailable('Rate limiter store (Redis)', err);
      }
    },
  };

  const k = deps.keys;
  const tenantLimit = { name: 'tenant', points: deps.limits.tenantPerMinute };
  return {
    perTenantRun: middleware([tenantLimit, { name: 'run', points: deps.limits.runPerMinute }], tenantKeys(k, 'tenant', 'run')),
    perTenant: middleware([tenantLimit], tenantKeys(k, 'tenant')),
    perIp: middleware([{ name: 'ip', points: deps.limits.ipPerMinute }], ipKeys(k, 'ip')),
    perAdmin: middleware([{ name: 'admin', points: deps.limits.adminPerMinute }], ipKeys(k, 'admin')),
    authFailures,
  };
}
