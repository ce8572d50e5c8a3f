import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** Sends raw bytes with full control of the framing (chunked, lying lengths), as supertest cannot. */
function rawRequest(t: TestSystem, options: { path: string; headers: Record<string, string>; chunks: Buffer[] }): Promise<{ status: number; body: string }> {
  const server = t.system.server();
  if (!server) throw new Error('no server');
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: options.path, headers: options.headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts).toString('utf8') }));
    });
    // The server may answer 413 and close before the whole body is sent; that is the point.
    req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err)));
    for (const chunk of options.chunks) req.write(chunk);
    req.end();
  });
}

describe('hostile input: oversized and malformed bodies', () => {
  let t: TestSystem;
  let key: string;
  const RUN = '/api/v1/pipelines/run/body_corp/gcp/cost/dryrun';
  before(async () => {
    t = await startTestSystem();
    key = await onboard(t, 'body_corp', 'SCALE');
  });
  after(async () => t.close());

  const post = (body: string | Buffer, type = 'application/json') => t.request.post(RUN).set('X-API-Key', key).set('Content-Type', type).send(body);

  describe('a body over 1 MiB', () => {
    it('answers 413 PAYLOAD_TOO_LARGE when Content-Length says so', async () => {
      const res = await post(JSON.stringify({ x: 'a'.repeat(1024 * 1024) }));
      expect([res.status, res.body.code]).to.deep.equal([413, 'PAYLOAD_TOO_LARGE']);
    });

    it('answers 413 when it arrives chunked without a length', async () => {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const res = await rawRequest(t, { path: RUN, headers: { 'X-API-Key': key, 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, chunks: Array.from({ length: 20 }, () => chunk) });
      expect(res.status).to.equal(413);
      expect(JSON.parse(res.body).code).to.equal('PAYLOAD_TOO_LARGE');
    });

    it('answers 413 on an unauthenticated route too (before any work)', async () => {
      const res = await t.request.post('/api/v1/tenants/onboard').set('Content-Type', 'application/json').send(`{"a":"${'a'.repeat(1024 * 1024 + 10)}"}`);
      expect(res.status).to.be.oneOf([401, 413]);
    });
  });

  describe('malformed bodies', () => {
    const cases: [string, string, number][] = [
      ['truncated JSON', '{"date": "2025-01-01"', 400],
      ['trailing garbage', '{} {}', 400],
      ['a JSON array', '[1,2,3]', 422],
      ['a JSON string', '"hello"', 422],
      ['JSON null', 'null', 422],
      ['a form body', 'a=1&b=2', 400],
      ['NaN', '{"n": NaN}', 400],
      ['100,000 nested arrays', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 422],
    ];
    for (const [what, body, status] of cases) {
      it(`answers ${status} for ${what}`, async () => {
        const res = await post(body);
        expect(res.status).to.equal(status);
        expect(res.body.code).to.be.a('string');
        expect(res.body.request_id).to.be.a('string');
      });
    }

    it('answers a 4xx (never 5xx) for 20,000 nested objects', async () => {
      const res = await post(`${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`);
      expect(res.status).to.be.within(400, 499);
    });

    it('answers 4xx for invalid UTF-8 bytes', async () => {
      const res = await post(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]));
      expect(res.status).to.be.within(400, 499);
    });

    it('answers 422 for a __proto__ key and leaves Object.prototype alone', async () => {
      const res = await post('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}');
      expect(res.status).to.equal(422);
      expect(({} as Record<string, unknown>).polluted).to.equal(undefined);
    });

    it('answers 422 for a parameter string of 1 MiB − 100 bytes (under the size limit, over the field limit)', async () => {
      const res = await post(JSON.stringify({ date: 'x'.repeat(1024 * 1024 - 100) }));
      expect(res.status).to.equal(422);
    });

    it('answers 431 (Node’s own guard) for 64 KiB of headers, and keeps serving', async () => {
      const res = await t.request.get('/api/v1/pipelines/templates').set('X-API-Key', key).set('X-Junk', 'a'.repeat(64 * 1024)).catch((err: { status?: number; response?: { status: number } }) => err.response ?? { status: err.status ?? 0 });
      expect(res.status).to.be.within(400, 499);
      expect((await t.request.get('/health')).status).to.equal(200);
    });
  });
});

describe('hostile input: brute-forced keys (behind a trusted proxy that sets X-Forwarded-For)', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '20', TRUST_PROXY: 'true' } });
    key = await onboard(t, 'brute_corp');
  });
  after(async () => t.close());

  const guess = (apiKey: string, ip: string) => t.request.get('/api/v1/tenants/brute_corp').set('X-API-Key', apiKey).set('X-Forwarded-For', ip);

  describe('after 20 wrong tenant keys from one client', () => {
    it('answers 401 twenty times, then 429 AUTH_RATE_LIMITED with Retry-After to further guesses — never to the right key', async () => {
      const ip = '203.0.113.7';
      for (let i = 0; i < 20; i += 1) {
        const res = await guess(`brute_corp_api_${String(i).padStart(16, 'x')}`, ip);
        expect(res.status, `attempt ${i + 1}`).to.equal(401);
      }
      const blocked = await guess('brute_corp_api_AAAAAAAAAAAAAAAA', ip);
      expect([blocked.status, blocked.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
      expect(Number(blocked.headers['retry-after'])).to.be.within(1, 60);
      expect((await guess(key, ip)).status).to.equal(200);
    });

    it('does not lock out other clients', async () => {
      expect((await guess(key, '198.51.100.9')).status).to.equal(200);
    });
  });

  describe('after 20 wrong admin keys from one client', () => {
    it('answers 403 twenty times, then 429 AUTH_RATE_LIMITED to further guesses — never to the right admin key', async () => {
      const ip = '203.0.113.8';
      const admin = (adminKey: string) => t.request.get('/api/v1/scheduler/status').set('X-Admin-Key', adminKey).set('X-Forwarded-For', ip);
      for (let i = 0; i < 20; i += 1) expect((await admin(`wrong-admin-key-${i}-xxxxxxxx`)).status, `attempt ${i + 1}`).to.equal(403);
      const blocked = await admin('wrong-admin-key-21-xxxxxxxx');
      expect([blocked.status, blocked.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
      expect((await admin(t.adminKey)).status).to.equal(200);
    });
  });

  describe('missing keys', () => {
    it('count as failures too', async () => {
      const ip = '203.0.113.9';
      for (let i = 0; i < 20; i += 1) expect((await t.request.get('/api/v1/tenants/brute_corp').set('X-Forwarded-For', ip)).status).to.equal(401);
      expect((await t.request.get('/api/v1/tenants/brute_corp').set('X-Forwarded-For', ip)).status).to.equal(429);
    });
  });
});

describe('hostile input: brute force with a forged X-Forwarded-For (no trusted proxy)', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '20' } });
    await onboard(t, 'forge_corp');
  });
  after(async () => t.close());

  it('still counts every guess against the real client address', async () => {
    for (let i = 0; i < 20; i += 1) {
      const res = await t.request.get('/api/v1/tenants/forge_corp').set('X-API-Key', `forge_corp_api_${String(i).padStart(16, 'y')}`).set('X-Forwarded-For', `198.18.0.${i}`);
      expect(res.status, `attempt ${i + 1}`).to.equal(401);
    }
    const blocked = await t.request.get('/api/v1/tenants/forge_corp').set('X-API-Key', 'forge_corp_api_ZZZZZZZZZZZZZZZZ').set('X-Forwarded-For', '198.18.1.1');
    expect([blocked.status, blocked.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
  });
});
