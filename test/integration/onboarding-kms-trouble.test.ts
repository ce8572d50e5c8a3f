import { expect } from 'chai';
import { callApi, createCluster, eventually, startFakeBigQuery } from '../helpers/processes';
import Redis from 'ioredis';
import { TEST_REDIS_URL } from '../helpers/redis-targets';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import { startKmsProxy } from './kms-faults';
import type { KmsProxy } from './kms-faults';

/**
 * Red team, KEY_MANAGER=gcp at onboarding. Onboarding writes the profile row, then encrypts the new API key
 * through KMS. "All or nothing" (SPEC §5) holds when KMS answers an error (rollback). When KMS does not answer,
 * the request waits on it with no deadline while the profile row already exists; a restart of the API process in
 * that window (a deploy, or the orchestrator replacing a process that stopped answering) leaves the tenant id
 * half-onboarded: a profile with no key, subscription or dataset, which onboarding then refuses with 409.
 */
const body = (tenantId: string) => ({ tenant_id: tenantId, company_name: `${tenantId} Inc`, admin_email: `admin@${tenantId.replace(/_/g, '')}.com`, subscription_plan: 'STARTER' });

describe('red team: onboarding while Cloud KMS is in trouble', function () {
  this.timeout(120_000);
  let kms: KmsProxy;
  let duck: Awaited<ReturnType<typeof createTestDuckDb>>;
  let t: TestSystem | undefined;
  const env = (): Record<string, string> => ({ KEY_MANAGER: 'gcp', KMS_KEY_NAME: kms.keyName, KMS_API_ENDPOINT: kms.url });

  beforeEach(async () => {
    kms = await startKmsProxy();
    duck = await createTestDuckDb();
  });
  afterEach(async () => {
    kms.mode = 'ok';
    await kms.close();
    await t?.close();
    t = undefined;
    await duck.cleanup();
  });

  it('rolls back when the key is disabled: 500 ONBOARDING_FAILED at api_key, and the id can be onboarded once KMS is back', async () => {
    t = await startTestSystem({ warehouse: duck.warehouse, env: env() });
    kms.mode = 'disabled';
    const failed = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send(body('disabled_corp'));
    expect({ status: failed.status, code: failed.body.code, step: failed.body.step }).to.deep.equal({ status: 500, code: 'ONBOARDING_FAILED', step: 'api_key' });
    kms.mode = 'ok';
    const again = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send(body('disabled_corp'));
    expect(again.status, JSON.stringify(again.body)).to.equal(201);
  });

  it('does not leave a half-onboarded tenant when the API process is stopped (SIGTERM) while KMS does not answer', async () => {
    const bigquery = await startFakeBigQuery();
    const cluster = createCluster({ bigquery, env: env() });
    try {
      const first = await cluster.start('api');
      kms.mode = 'hang';
      const pending = callApi(first, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('hang_corp') }).then(
        (res) => res.status,
        () => 'connection closed',
      );
      await eventually('onboarding waiting on KMS', async () => (kms.seen.some((s) => s.mode === 'hang') ? true : undefined), 10_000);
      const waited = await Promise.race([pending, new Promise<'still waiting'>((resolve) => setTimeout(() => resolve('still waiting'), 3_000))]);
      expect(waited, 'the request is still waiting on KMS after 3 s').to.equal('still waiting');

      // A deploy replaces the process: SIGTERM, graceful stop; a new process starts on the same Redis and warehouse.
      first.kill('SIGTERM');
      const exit = await first.exited;
      kms.mode = 'ok';
      // The onboarding lock (120 s TTL) is still held by the dead request; let it pass, as it does two minutes later.
      const redis = new Redis(TEST_REDIS_URL);
      try {
        expect(await redis.del(`${cluster.prefix}:lock:onboard:hang_corp`), 'the dead request\'s onboarding lock').to.equal(1);
      } finally {
        redis.disconnect();
      }
      const second = await cluster.start('api');
      const retry = await callApi(second, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('hang_corp') });
      // Fails now: 409 TENANT_EXISTS "already exists" — the profile row written before the KMS call was never rolled
      // back, and the id has no key, subscription or dataset (force flags answer api_key: null).
      expect({ status: retry.status, code: retry.body['code'] }, `first process exit ${JSON.stringify(exit)}; ${JSON.stringify(retry.body)}`).to.deep.equal({ status: 201, code: undefined });
    } finally {
      await cluster.close();
      await bigquery.close();
    }
  });
});
