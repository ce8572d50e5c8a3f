import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * An IPv6 client normally holds a whole /64 (often a /56 or /48) and can pick a new source address for every
 * guess, so failed authentications are counted per /64 (client-address.ts). Here the trusted balancer reports the
 * client (one X-Forwarded-For entry, as it sets it); the addresses all sit in one /64.
 */
describe('the failed-auth lockout of an IPv6 client', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ role: 'api', env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5' } });
    await onboard(t, 'six_corp');
  });
  after(async () => t.close());

  it('locks out one /64 after the allowed failures, whichever address of it each guess comes from', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 12; i += 1) {
      const res = await t.request
        .get('/api/v1/tenants/six_corp')
        .set('X-API-Key', `six_corp_api_${String(i).padStart(16, 'S')}`)
        .set('X-Forwarded-For', `2001:db8:abcd:12::${i.toString(16)}`);
      statuses.push(res.status);
    }
    expect(statuses.slice(5), `statuses ${statuses.join(',')}`).to.deep.equal(new Array(7).fill(429));
    const neighbour = await t.request.get('/api/v1/tenants/six_corp').set('X-API-Key', `six_corp_api_${'T'.repeat(16)}`).set('X-Forwarded-For', '2001:db8:abcd:13::1');
    expect(neighbour.status, 'the next /64 keeps its allowance').to.equal(401);
  });
});
