import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * SPEC §4: after a rotation the old key "stops working after grace_seconds". A key in its grace still works, but
 * it cannot rotate again: that would mint a key with no expiry for whoever holds the retiring key (the usual reason
 * to rotate is that it leaked). POST …/api-keys/rotate with it answers 409 API_KEY_EXPIRING.
 */
describe('a key in its rotation grace', function () {
  this.timeout(30_000);
  let t: TestSystem;
  let oldKey: string;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
    oldKey = await onboard(t, 'grace_corp');
  });
  after(async () => t.close());

  const quota = (key: string) => t.request.get('/api/v1/tenants/grace_corp/quota').set('X-API-Key', key);
  const rotate = (key: string, grace: number) => t.request.post('/api/v1/tenants/grace_corp/api-keys/rotate').set('X-API-Key', key).send({ grace_seconds: grace });

  it('cannot mint a key that outlives its own grace (409 API_KEY_EXPIRING)', async () => {
    const owner = await rotate(oldKey, 2);
    expect(owner.status).to.equal(201);
    // The holder of the retiring key rotates it again during its grace.
    const minted = await rotate(oldKey, 0);
    expect([minted.status, minted.body.code], JSON.stringify(minted.body)).to.deep.equal([409, 'API_KEY_EXPIRING']);
    expect((await quota(oldKey)).status, 'the old key, during its grace').to.equal(200);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await quota(oldKey)).status, 'the old key, after its grace').to.equal(401);
    expect((await quota(String(owner.body.api_key))).status, 'the owner’s new key').to.equal(200);
  });

  it('lets the key that replaced it rotate as usual', async () => {
    const fresh = await onboard(t, 'grace_two');
    const first = await t.request.post('/api/v1/tenants/grace_two/api-keys/rotate').set('X-API-Key', fresh).send({ grace_seconds: 60 });
    expect(first.status).to.equal(201);
    const second = await t.request.post('/api/v1/tenants/grace_two/api-keys/rotate').set('X-API-Key', String(first.body.api_key)).send({ grace_seconds: 60 });
    expect(second.status, JSON.stringify(second.body)).to.equal(201);
  });
});
