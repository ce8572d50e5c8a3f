import Koa from 'koa';
import type { Context, Next } from 'koa';
import request from 'supertest';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { loadConfig } from '../../src/config';
import { createRedis, closeRedis, waitForReady } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import type { RedisKeys } from '../../src/redis/keys';
import { AppError, isAppError } from '../../src/shared/errors';
import { createRateLimiters } from '../../src/api/middleware/rate-limit';
import type { RateLimiters } from '../../src/api/middleware/rate-limit';

const limits = loadConfig({}).rateLimits;

/** A stand-in for the real app: AppError → status + body + headers, and a fake auth from a header. */
function tinyApp(limiters: RateLimiters): Koa {
  const app = new Koa();
  app.proxy = true;
  app.use(async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (err) {
      if (!isAppError(err)) throw err;
      ctx.status = err.status;
      ctx.set(err.headers);
      ctx.body = { detail: err.message, code: err.code };
    }
  });
  app.use(async (ctx: Context, next: Next) => {
    const tenantId = ctx.get('X-Test-Tenant');
    if (tenantId) ctx.state.auth = { tenantId, keyId: 'k1', userId: null };
    await next();
  });
  app.use(async (ctx: Context, next: Next) => {
    if (ctx.path === '/run') return limiters.perTenantRun(ctx, next);
    if (ctx.path === '/tenant') return limiters.perTenant(ctx, next);
    if (ctx.path === '/admin') return limiters.perAdmin(ctx, next);
    return limiters.perIp(ctx, next);
  });
  app.use((ctx: Context) => {
    ctx.body = { ok: true };
  });
  return app;
}

const hit = (app: Koa, path: string, tenant = 'acme_corp', ip = '10.0.0.1') =>
  request(app.callback()).post(path).set('X-Test-Tenant', tenant).set('X-Forwarded-For', ip);

async function hitTimes(app: Koa, path: string, times: number, tenant?: string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i += 1) statuses.push((await hit(app, path, tenant)).status);
  return statuses;
}

describe('rate limits', () => {
  let t: TestRedis;
  let limiters: RateLimiters;
  let app: Koa;
  const build = (redis: RedisClient, keys: RedisKeys) => createRateLimiters({ redis, keys, limits });

  beforeEach(async () => {
    t = await createTestRedis();
    // The limiters refuse at once while the client is not ready; the API connects before serving.
    await waitForReady(t.redis);
    limiters = build(t.redis, t.keys);
    app = tinyApp(limiters);
  });
  afterEach(async () => t.cleanup());

  describe('on pipeline run routes', () => {
    it('serves 50 requests a minute per tenant with X-RateLimit headers', async () => {
      const first = await hit(app, '/run');
      expect(first.status).to.equal(200);
      expect(first.headers['x-ratelimit-limit']).to.equal('50');
      expect(first.headers['x-ratelimit-remaining']).to.equal('49');
      const resetSeconds = Number(first.headers['x-ratelimit-reset']) - Date.now() / 1000;
      expect(resetSeconds).to.be.within(0, 61);
      expect(await hitTimes(app, '/run', 49)).to.deep.equal(Array(49).fill(200));
    });

    it('answers the 51st with 429 RATE_LIMITED and a Retry-After', async () => {
      await hitTimes(app, '/run', 50);
      const res = await hit(app, '/run');
      expect(res.status).to.equal(429);
      expect(res.body.code).to.equal('RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).to.be.within(1, 60);
      expect(res.headers['x-ratelimit-remaining']).to.equal('0');
      expect(res.headers['x-ratelimit-limit']).to.equal('50');
    });

    it('counts per tenant: another tenant is not affected', async () => {
      await hitTimes(app, '/run', 51);
      expect((await hit(app, '/run', 'globex')).status).to.equal(200);
    });

    it('counts them against the all-routes tenant limit as well', async () => {
      await hitTimes(app, '/run', 3);
      const res = await hit(app, '/tenant');
      expect(res.headers['x-ratelimit-limit']).to.equal('600');
      expect(res.headers['x-ratelimit-remaining']).to.equal('596');
    });

    it('answers 429 with the all-routes limit and its headers once that one is used up first', async () => {
      const small = tinyApp(createRateLimiters({ redis: t.redis, keys: t.keys, limits: { ...limits, tenantPerMinute: 3 } }));
      expect(await hitTimes(small, '/run', 3)).to.deep.equal([200, 200, 200]);
      const res = await hit(small, '/run');
      expect(res.status).to.equal(429);
      expect(res.body.code).to.equal('RATE_LIMITED');
      expect(res.headers['x-ratelimit-limit']).to.equal('3');
      expect(res.headers['x-ratelimit-remaining']).to.equal('0');
      expect(Number(res.headers['retry-after'])).to.be.within(1, 60);
    });

    it('counts requests sent at once exactly (one script call counts both limits): 60 at once, 50 served', async () => {
      const answers = await Promise.all(Array.from({ length: 60 }, () => hit(app, '/run')));
      expect(answers.filter((r) => r.status === 200)).to.have.length(50);
      expect(answers.filter((r) => r.status === 429).map((r) => r.body.code)).to.deep.equal(Array(10).fill('RATE_LIMITED'));
      const remaining = answers.filter((r) => r.status === 200).map((r) => Number(r.headers['x-ratelimit-remaining']));
      expect(remaining.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i));
      // The all-routes limit counted all 60, refused ones included (rate-limiter-flexible's rule).
      expect((await hit(app, '/tenant')).headers['x-ratelimit-remaining']).to.equal(String(600 - 61));
    });

    it('keeps a tenant’s counters under its hash tag, each expiring with its 60 s window', async () => {
      await hit(app, '/run');
      for (const name of ['run', 'tenant']) {
        const key = t.keys.rateLimitTenant('acme_corp', name);
        expect(key).to.include('{t:acme_corp}');
        expect(await t.redis.get(key)).to.equal('1');
        expect(await t.redis.pttl(key)).to.be.within(1, 60_000);
      }
    });

    describe('when the requests are spread over two API processes', () => {
      it('still answers the 51st with 429', async () => {
        const otherRedis = createRedis(t.target);
        try {
          await waitForReady(otherRedis);
          const otherApp = tinyApp(build(otherRedis, t.keys));
          await hitTimes(app, '/run', 25);
          await hitTimes(otherApp, '/run', 25);
          expect((await hit(otherApp, '/run')).status).to.equal(429);
          expect((await hit(app, '/run')).status).to.equal(429);
        } finally {
          await closeRedis(otherRedis);
        }
      });
    });
  });

  describe('on other tenant routes', () => {
    it('allows 600 requests a minute per tenant', async () => {
      const res = await hit(app, '/tenant');
      expect(res.status).to.equal(200);
      expect(res.headers['x-ratelimit-limit']).to.equal('600');
    });
  });

  describe('on unauthenticated and admin routes', () => {
    it('answers the 31st request of one IP with 429, and serves another IP', async () => {
      const statuses = await hitTimes(app, '/health', 31);
      expect(statuses.slice(0, 30)).to.deep.equal(Array(30).fill(200));
      expect(statuses[30]).to.equal(429);
      expect((await hit(app, '/health', 'acme_corp', '10.0.0.2')).status).to.equal(200);
    });

    it('counts an IPv6 client by its /64 and an IPv4-mapped address as its IPv4 address', async () => {
      const statuses: number[] = [];
      for (let i = 1; i <= 31; i += 1) statuses.push((await hit(app, '/health', 'acme_corp', `2001:db8:77:1::${i.toString(16)}`)).status);
      expect(statuses.slice(0, 30)).to.deep.equal(Array(30).fill(200));
      expect(statuses[30]).to.equal(429);
      expect((await hit(app, '/health', 'acme_corp', '2001:db8:77:2::1')).status).to.equal(200);
      await hitTimes(app, '/health', 30);
      expect((await hit(app, '/health', 'acme_corp', '::ffff:10.0.0.1')).status).to.equal(429);
    });
  });

  describe('on admin routes with a valid admin key', () => {
    it('allows 600 requests a minute per IP, counted apart from the anonymous per-IP limit', async () => {
      await hitTimes(app, '/health', 31);
      const res = await hit(app, '/admin');
      expect(res.status).to.equal(200);
      expect(res.headers['x-ratelimit-limit']).to.equal('600');
      expect(res.headers['x-ratelimit-remaining']).to.equal('599');
    });
  });

  describe('failed authentications', () => {
    const refusal = (): AppError => new AppError(401, 'INVALID_API_KEY', 'Invalid or missing API key');
    /** fail() always throws; this returns what it threw. */
    const failOnce = (ip: string): Promise<AppError> =>
      limiters.authFailures.fail(ip, refusal()).then(
        () => expect.fail('fail() must throw'),
        (err: unknown) => err as AppError,
      );

    it('pass the refusal through 20 times in a minute, then answer 429 AUTH_RATE_LIMITED with X-RateLimit-* and Retry-After', async () => {
      const codes: string[] = [];
      for (let i = 0; i < 20; i += 1) codes.push((await failOnce('10.0.0.9')).code);
      expect(codes).to.deep.equal(Array(20).fill('INVALID_API_KEY'));
      const blocked = await failOnce('10.0.0.9');
      expect([blocked.status, blocked.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
      expect(Number(blocked.headers['Retry-After'])).to.be.within(1, 60);
      expect(blocked.headers['X-RateLimit-Limit']).to.equal('20');
      expect(blocked.headers['X-RateLimit-Remaining']).to.equal('0');
      expect(Number(blocked.headers['X-RateLimit-Reset']) - Date.now() / 1000).to.be.within(0, 61);
    });

    it('are counted per IP: another address keeps its allowance', async () => {
      for (let i = 0; i < 21; i += 1) await failOnce('10.0.0.9');
      expect((await failOnce('10.0.0.10')).code).to.equal('INVALID_API_KEY');
    });
  });

  describe('when Redis is unreachable', () => {
    it('answers 503 DEPENDENCY_UNAVAILABLE instead of hanging (its command timeout bounds the wait)', async () => {
      const dead = createRedis('redis://127.0.0.1:1', { failFast: true, commandTimeoutMs: 500 });
      dead.on('error', () => undefined);
      try {
        const deadApp = tinyApp(build(dead, t.keys));
        const res = await hit(deadApp, '/run');
        expect(res.status).to.equal(503);
        expect(res.body.code).to.equal('DEPENDENCY_UNAVAILABLE');
        let err: unknown;
        await build(dead, t.keys).authFailures.fail('10.0.0.1', new AppError(401, 'INVALID_API_KEY', 'Invalid or missing API key')).catch((e: unknown) => {
          err = e;
        });
        expect((err as AppError).code).to.equal('DEPENDENCY_UNAVAILABLE');
      } finally {
        dead.disconnect();
      }
    });
  });
});
