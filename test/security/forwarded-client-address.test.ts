import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Behind a trusted balancer (TRUST_PROXY=true) the client address comes from X-Forwarded-For. Real balancers (GCP
 * external Application LB, Cloud Run's front end, AWS ALB, nginx $proxy_add_x_forwarded_for) APPEND what they saw
 * to whatever the client sent: `X-Forwarded-For: <client-supplied>, <real client>[, <balancer>]`. Only the last
 * PROXY_HOPS entries are read, so a client writing a fresh address into the header per guess is still one client.
 */
describe('the client address behind a trusted balancer', () => {
  const REAL_CLIENT = '203.0.113.77';

  describe('with one balancer appending the client (PROXY_HOPS=1, the default)', () => {
    let t: TestSystem;
    before(async () => {
      t = await startTestSystem({ role: 'api', env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5' } });
      await onboard(t, 'xff_corp');
    });
    after(async () => t.close());

    const guess = (i: number) =>
      t.request
        .get('/api/v1/tenants/xff_corp')
        .set('X-API-Key', `xff_corp_api_${String(i).padStart(16, 'Q')}`)
        // What the balancer forwards: the client's forged value, then the address the balancer saw.
        .set('X-Forwarded-For', `10.66.${i}.1, ${REAL_CLIENT}`);

    it('locks out one real client guessing keys, whatever it writes into X-Forwarded-For itself', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i += 1) statuses.push((await guess(i)).status);
      // 5 failures allowed per minute per client: from the 6th guess on every answer must be 429.
      expect(statuses.slice(0, 5)).to.deep.equal([401, 401, 401, 401, 401]);
      expect(statuses.slice(5), `statuses ${statuses.join(',')}`).to.deep.equal(new Array(7).fill(429));
    });
  });

  describe('with a balancer appending the client and itself (PROXY_HOPS=2, a GCP external Application LB)', () => {
    let t: TestSystem;
    before(async () => {
      t = await startTestSystem({ role: 'api', env: { TRUST_PROXY: 'true', PROXY_HOPS: '2', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5' } });
      await onboard(t, 'glb_corp');
    });
    after(async () => t.close());

    const guess = (i: number, client: string) =>
      t.request
        .get('/api/v1/tenants/glb_corp')
        .set('X-API-Key', `glb_corp_api_${String(i).padStart(16, 'Q')}`)
        .set('X-Forwarded-For', `10.66.${i}.1, ${client}, 198.51.100.200`);

    it('counts the client the balancer saw, not the balancer and not the forged entry', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i += 1) statuses.push((await guess(i, REAL_CLIENT)).status);
      expect(statuses, `statuses ${statuses.join(',')}`).to.deep.equal([401, 401, 401, 401, 401, 429, 429]);
      expect((await guess(8, '203.0.113.78')).status, 'another client behind the same balancer').to.equal(401);
    });
  });
});
