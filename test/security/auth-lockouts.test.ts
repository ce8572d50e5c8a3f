import { expect } from 'chai';
import type { Response } from 'supertest';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 9.4: lockouts that hurt the wrong people. Behind a load balancer every client shares the
 * balancer's address, so a failed-auth limit that refuses everyone from an address lets one
 * attacker lock out every tenant and the operator. Only failed attempts may be throttled.
 * The system trusts X-Forwarded-For here, so each case plays a client of its own address.
 */
const LIMITS = {
  TRUST_PROXY: 'true',
  RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '20',
  RATE_LIMIT_IP_PER_MINUTE: '30',
  RATE_LIMIT_ADMIN_PER_MINUTE: '600',
};
const TENANT = 'lock_corp';
const wrongTenantKey = (i: number): string => `${TENANT}_api_${String(i).padStart(16, 'W')}`;
const wrongAdminKey = (i: number): string => `not-the-admin-key-${String(i).padStart(8, '0')}`;

/** The refusal a throttled guess gets: 429 AUTH_RATE_LIMITED with the headers every 429 carries. */
function expectAuthRateLimited(res: Response): void {
  expect([res.status, res.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
  expect(res.headers['x-ratelimit-limit']).to.equal('20');
  expect(res.headers['x-ratelimit-remaining']).to.equal('0');
  expect(Number(res.headers['x-ratelimit-reset']) - Date.now() / 1000).to.be.within(0, 61);
  expect(Number(res.headers['retry-after'])).to.be.within(1, 60);
}

describe('auth lockouts (issue 9.4)', () => {
  let t: TestSystem;
  let tenantKey: string;
  before(async () => {
    t = await startTestSystem({ role: 'api', env: LIMITS });
    tenantKey = await onboard(t, TENANT);
  });
  after(async () => t.close());

  const from = (ip: string) => ({
    tenantGet: (key: string) => t.request.get(`/api/v1/tenants/${TENANT}`).set('X-API-Key', key).set('X-Forwarded-For', ip),
    trigger: (key: string) => t.request.post(`/api/v1/pipelines/run/${TENANT}/gcp/cost/dryrun`).set('X-API-Key', key).set('X-Forwarded-For', ip),
    adminStatus: (key?: string) => {
      const req = t.request.get('/api/v1/scheduler/status').set('X-Forwarded-For', ip);
      return key === undefined ? req : req.set('X-Admin-Key', key);
    },
    suspend: (key: string) =>
      t.request.patch(`/api/v1/admin/tenants/${TENANT}`).set('X-Admin-Key', key).set('X-Forwarded-For', ip).send({ status: 'SUSPENDED' }),
  });
  const runsToday = async (): Promise<number> =>
    (await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', tenantKey)).body.pipelines_run_today as number;
  const tenantStatus = async (): Promise<string> =>
    (await t.request.get(`/api/v1/admin/tenants/${TENANT}`).set('X-Admin-Key', t.adminKey)).body.status as string;

  describe('after 20 wrong tenant keys from one address', () => {
    const client = from('203.0.113.10');
    before(async () => {
      for (let i = 0; i < 20; i += 1) expect((await client.tenantGet(wrongTenantKey(i))).status, `guess ${i + 1}`).to.equal(401);
    });

    it('still serves a valid tenant key from that address', async () => {
      expect((await client.tenantGet(tenantKey)).status).to.equal(200);
    });

    it('still serves the valid admin key from that address', async () => {
      expect((await client.adminStatus(t.adminKey)).status).to.equal(200);
    });

    it('answers the next wrong key 429 AUTH_RATE_LIMITED with X-RateLimit-* and Retry-After, and admits no run', async () => {
      const before = await runsToday();
      expectAuthRateLimited(await client.trigger(wrongTenantKey(21)));
      expectAuthRateLimited(await client.tenantGet(''));
      expect(await runsToday()).to.equal(before);
    });
  });

  describe('after 20 wrong admin keys from one address', () => {
    const client = from('203.0.113.11');
    before(async () => {
      for (let i = 0; i < 20; i += 1) expect((await client.adminStatus(wrongAdminKey(i))).status, `guess ${i + 1}`).to.equal(403);
    });

    it('still serves the valid admin key from that address', async () => {
      expect((await client.adminStatus(t.adminKey)).status).to.equal(200);
    });

    it('still serves a valid tenant key from that address', async () => {
      expect((await client.tenantGet(tenantKey)).status).to.equal(200);
    });

    it('answers the next wrong admin key 429 AUTH_RATE_LIMITED with X-RateLimit-* and Retry-After, and changes nothing', async () => {
      expectAuthRateLimited(await client.suspend(wrongAdminKey(21)));
      expect(await tenantStatus()).to.equal('ACTIVE');
    });
  });

  describe('a burst of 100 admin calls with the valid key from one address', () => {
    const client = from('203.0.113.12');

    it('is served in full, counted against the admin allowance (600/min), not the anonymous one', async () => {
      const statuses: number[] = [];
      const limits = new Set<string>();
      for (let batch = 0; batch < 10; batch += 1) {
        const responses = await Promise.all(Array.from({ length: 10 }, () => client.adminStatus(t.adminKey)));
        for (const res of responses) {
          statuses.push(res.status);
          limits.add(String(res.headers['x-ratelimit-limit']));
        }
      }
      expect(statuses).to.deep.equal(Array(100).fill(200));
      expect([...limits]).to.deep.equal(['600']);
      // The anonymous allowance of the address is untouched by the burst.
      const anonymous = await client.adminStatus();
      expect([anonymous.status, anonymous.headers['x-ratelimit-limit'], anonymous.headers['x-ratelimit-remaining']]).to.deep.equal([401, '30', '29']);
    });
  });

  describe('unauthenticated admin calls from one address', () => {
    const client = from('203.0.113.13');

    it('are held to 30 a minute: the 31st is 429 RATE_LIMITED, and the valid admin key still passes', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 31; i += 1) statuses.push((await client.adminStatus()).status);
      expect(statuses.slice(0, 30)).to.deep.equal(Array(30).fill(401));
      expect(statuses[30]).to.equal(429);
      const last = await client.adminStatus();
      expect([last.status, last.body.code, last.headers['x-ratelimit-limit']]).to.deep.equal([429, 'RATE_LIMITED', '30']);
      expect(Number(last.headers['retry-after'])).to.be.within(1, 60);
      expect((await client.adminStatus(t.adminKey)).status).to.equal(200);
    });
  });
});

describe('auth lockouts with DISABLE_AUTH=true (development)', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'api', env: { ...LIMITS, DISABLE_AUTH: 'true' } });
  });
  after(async () => t.close());

  const status = (ip: string, key?: string) => {
    const req = t.request.get('/api/v1/scheduler/status').set('X-Forwarded-For', ip);
    return key === undefined ? req : req.set('X-Admin-Key', key);
  };

  it('lets admin routes run without a key, counted as anonymous calls (30 a minute per address)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 31; i += 1) statuses.push((await status('198.51.100.20')).status);
    expect(statuses.slice(0, 30)).to.deep.equal(Array(30).fill(200));
    expect(statuses[30]).to.equal(429);
  });

  it('counts a call with the valid admin key against the admin allowance', async () => {
    const res = await status('198.51.100.21', t.adminKey);
    expect([res.status, res.headers['x-ratelimit-limit']]).to.deep.equal([200, '600']);
  });

  it('ignores a wrong admin key (as the guide sends a placeholder) and does not count it as a failed authentication', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i += 1) statuses.push((await status('198.51.100.22', wrongAdminKey(i))).status);
    expect(statuses).to.deep.equal(Array(25).fill(200));
  });
});
