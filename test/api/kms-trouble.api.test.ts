import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import { startKmsProxy } from '../helpers/kms-faults';
import type { KmsProxy } from '../helpers/kms-faults';

/**
 * KEY_MANAGER=gcp: what a tenant gets when Cloud KMS is unavailable, has the key disabled, or does not answer, when
 * the product calls it for provider credentials. The API's contract for a dependency it cannot use is 503
 * DEPENDENCY_UNAVAILABLE, quickly — never 500, never a hang — and nothing half-written. Onboarding:
 * test/integration/onboarding-kms-trouble.test.ts.
 */
const TENANT = 'kms_corp';

describe('Cloud KMS trouble seen through the API (KEY_MANAGER=gcp)', function () {
  this.timeout(120_000);
  let kms: KmsProxy;
  let duck: Awaited<ReturnType<typeof createTestDuckDb>>;
  let t: TestSystem;
  let key: string;
  const env = (): Record<string, string> => ({ KEY_MANAGER: 'gcp', KMS_KEY_NAME: kms.keyName, KMS_API_ENDPOINT: kms.url });
  const putCredentials = (provider = 'gcp') =>
    t.request
      .put(`/api/v1/tenants/${TENANT}/providers/${provider}`)
      .set('X-API-Key', key)
      .set('X-User-ID', 'alice')
      .send({ settings: { project_id: 'kms-corp-billing' }, credentials: { private_key: 'super-secret' } });

  before(async () => {
    kms = await startKmsProxy();
    duck = await createTestDuckDb();
    t = await startTestSystem({ warehouse: duck.warehouse, env: env() });
    key = await onboard(t, TENANT, 'SCALE');
    expect(kms.seen.length, 'onboarding encrypted the key through KMS').to.be.greaterThan(0);
  });
  after(async () => {
    kms.mode = 'ok';
    await kms.close(); // first: ends requests still waiting on a KMS that never answered
    await t?.close();
    await duck?.cleanup();
  });
  afterEach(() => {
    kms.mode = 'ok';
  });

  for (const mode of ['unavailable', 'disabled'] as const) {
    it(`answers PUT provider credentials with 503 DEPENDENCY_UNAVAILABLE when KMS is ${mode}, storing nothing`, async () => {
      kms.mode = mode;
      const res = await putCredentials('aws');
      expect(kms.seen.some((s) => s.mode === mode), 'KMS was asked').to.equal(true);
      kms.mode = 'ok';
      const stored = await t.request.get(`/api/v1/tenants/${TENANT}/providers/aws`).set('X-API-Key', key);
      expect(stored.status, 'nothing stored').to.equal(404);
      expect({ status: res.status, code: res.body.code }).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
      // Transient: retry shortly. A disabled key is not: the detail tells the operator, and there is no Retry-After.
      if (mode === 'unavailable') expect(res.headers['retry-after']).to.equal('5');
      else expect({ detail: res.body.detail, retryAfter: res.headers['retry-after'] }).to.deep.equal({
        detail: "Cloud KMS refuses the platform's encryption key (disabled, destroyed or not permitted); an operator must restore it",
        retryAfter: undefined,
      });
    });
  }

  it('answers PUT provider credentials within 30 s when KMS accepts the connection but never answers', async () => {
    kms.mode = 'hang';
    const started = Date.now();
    const answer = putCredentials('azure').then((res) => ({ status: res.status as number, code: (res.body as { code?: string }).code }));
    let timer: NodeJS.Timeout | undefined;
    const waited = await Promise.race([answer, new Promise<'no answer'>((resolve) => (timer = setTimeout(() => resolve('no answer'), 45_000)))]);
    clearTimeout(timer);
    // KMS_TIMEOUT_MS (default 5000) bounds the call, retries included.
    expect(waited, `after ${Date.now() - started} ms`).to.deep.equal({ status: 503, code: 'DEPENDENCY_UNAVAILABLE' });
  });
});
