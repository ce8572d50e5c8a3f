import { expect } from 'chai';
import type { Response } from 'supertest';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 9.5: the dashboard (Bull Board at /admin/queues) and the API docs (/docs). Password guesses
 * count as failed authentications; both pages, and every other response, refuse framing and
 * sniffing; neither page references another host (Bull Board's page used to pull Google Fonts).
 */
const LIMITS = { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '20', RATE_LIMIT_IP_PER_MINUTE: '30' };

/** Every URL a page or stylesheet refers to: src/href attributes, CSS url() and @import. */
function references(text: string): string[] {
  const found: string[] = [];
  for (const m of text.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/gi)) found.push(m[1] ?? '');
  for (const m of text.matchAll(/url\(\s*["']?([^"')]+)["']?\s*\)/gi)) found.push(m[1] ?? '');
  for (const m of text.matchAll(/@import\s+["']([^"']+)["']/gi)) found.push(m[1] ?? '');
  return found.filter((u) => !u.startsWith('data:') && !u.startsWith('#'));
}

describe('the dashboard and the docs (issue 9.5)', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'api', env: LIMITS });
  });
  after(async () => t.close());

  describe('wrong dashboard passwords', () => {
    const ip = '203.0.113.30';
    const asClient = (password: string | null, path = '/admin/queues') => {
      const req = t.request.get(path).set('X-Forwarded-For', ip);
      return password === null ? req : req.auth('admin', password);
    };

    it('answer 401 twenty times, then 429 AUTH_RATE_LIMITED with X-RateLimit-* and Retry-After; the right password still works', async () => {
      for (let i = 0; i < 20; i += 1) {
        const res = await asClient(`wrong-password-${i}`);
        expect([res.status, res.body.code], `guess ${i + 1}`).to.deep.equal([401, 'INVALID_ADMIN_KEY']);
        expect(res.headers['www-authenticate']).to.match(/^Basic /);
      }
      const blocked = await t.request.put('/admin/queues/api/queues/pipeline-runs/pause').set('X-Forwarded-For', ip).auth('admin', 'wrong-password-21');
      expect([blocked.status, blocked.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
      expect([blocked.headers['x-ratelimit-limit'], blocked.headers['x-ratelimit-remaining']]).to.deep.equal(['20', '0']);
      expect(Number(blocked.headers['x-ratelimit-reset']) - Date.now() / 1000).to.be.within(0, 61);
      expect(Number(blocked.headers['retry-after'])).to.be.within(1, 60);
      expect(await t.system.runs.queue.isPaused()).to.equal(false);
      expect((await asClient(t.adminKey)).status).to.equal(200);
      expect((await asClient(t.adminKey, '/admin/queues/api/queues')).status).to.equal(200);
    });

    it('are counted per address, and a request without credentials (the browser’s first) is not a failed guess', async () => {
      const other = '203.0.113.31';
      for (let i = 0; i < 25; i += 1) expect((await t.request.get('/admin/queues').set('X-Forwarded-For', other)).status).to.equal(401);
      const guess = await t.request.get('/admin/queues').set('X-Forwarded-For', other).auth('admin', 'wrong-password');
      expect([guess.status, guess.body.code]).to.deep.equal([401, 'INVALID_ADMIN_KEY']);
    });
  });

  describe('security headers', () => {
    const expectHardened = (res: Response, what: string): void => {
      expect(res.headers['x-content-type-options'], what).to.equal('nosniff');
      expect(res.headers['x-frame-options'], what).to.equal('DENY');
      expect(res.headers['content-security-policy'], what).to.include("frame-ancestors 'none'");
      expect(res.headers['content-security-policy'], what).to.include("default-src 'self'");
    };

    it('are sent on /docs and its assets, on the dashboard page, its assets and API, and on errors', async () => {
      const admin = (path: string) => t.request.get(path).auth('admin', t.adminKey);
      const page = await admin('/admin/queues');
      const css = references(page.text).find((u) => u.endsWith('.css')) ?? 'missing.css';
      const responses: Array<[string, Response]> = [
        ['/docs', await t.request.get('/docs')],
        ['/docs/swagger-ui-bundle.js', await t.request.get('/docs/swagger-ui-bundle.js')],
        ['/docs/swagger-init.js', await t.request.get('/docs/swagger-init.js')],
        ['/openapi.json', await t.request.get('/openapi.json')],
        ['/admin/queues', page],
        [`/admin/queues/${css}`, await admin(`/admin/queues/${css}`)],
        ['/admin/queues/api/queues', await admin('/admin/queues/api/queues')],
        ['/admin/queues without a password', await t.request.get('/admin/queues')],
        ['/health', await t.request.get('/health')],
        ['an unknown route', await t.request.get('/api/v1/nope')],
      ];
      for (const [what, res] of responses) {
        expect(res.status, what).to.be.oneOf([200, 401, 404]);
        expectHardened(res, what);
      }
    });
  });

  describe('external references', () => {
    /** Fetches a page and everything it refers to, one level deep into stylesheets; returns every URL seen. */
    async function crawl(pagePath: string, base: string, password: string | null): Promise<string[]> {
      const get = (path: string) => (password === null ? t.request.get(path) : t.request.get(path).auth('admin', password));
      const origin = 'http://127.0.0.1';
      const page = await get(pagePath);
      expect(page.status, pagePath).to.equal(200);
      const seen = references(page.text).map((u) => new URL(u, `${origin}${base}`));
      for (const url of [...seen]) {
        if (url.origin !== origin) continue;
        const asset = await get(url.pathname);
        expect(asset.status, url.pathname).to.equal(200);
        if (url.pathname.endsWith('.css')) seen.push(...references(asset.text).map((u) => new URL(u, url)));
      }
      return seen.map((u) => (u.origin === origin ? u.pathname : u.href));
    }

    it('the dashboard page and every asset it references stay on this server (no Google Fonts)', async () => {
      const page = await t.request.get('/admin/queues').auth('admin', t.adminKey);
      expect(page.text).not.to.match(/fonts\.(googleapis|gstatic)\.com/);
      expect(page.text).not.to.match(/(?:https?:)?\/\/[a-z0-9-]+\.[a-z0-9.-]+/i);
      const urls = await crawl('/admin/queues', '/admin/queues/', t.adminKey);
      expect(urls.length).to.be.greaterThan(3);
      expect(urls.filter((u) => !u.startsWith('/'))).to.deep.equal([]);
    });

    it('the Swagger UI page and every asset it references stay on this server', async () => {
      const urls = await crawl('/docs', '/docs', null);
      expect(urls).to.include.members(['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-init.js']);
      expect(urls.filter((u) => !u.startsWith('/'))).to.deep.equal([]);
    });
  });
});
