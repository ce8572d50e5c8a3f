import { expect } from 'chai';
import { callApi, createCluster, eventually, holdStatement, startFakeBigQuery } from '../helpers/processes';
import type { FakeBigQuery } from '../helpers/processes';
import Redis from 'ioredis';
import { TEST_REDIS_URL } from '../helpers/redis-targets';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import { startKmsProxy } from '../helpers/kms-faults';
import type { KmsProxy } from '../helpers/kms-faults';

/**
 * KEY_MANAGER=gcp at onboarding, and API processes stopped while onboarding. "All or nothing" (SPEC §5) holds when
 * KMS answers an error (rollback) and when it does not answer (KMS_TIMEOUT_MS; the key is encrypted before any
 * row is written). A process killed mid-way cannot roll back: what it left (a profile still ONBOARDING, a key, a
 * subscription) must not turn the id into a 409 TENANT_EXISTS forever — onboarding it again once the lock has
 * lapsed removes the rest and onboards it.
 */
const body = (tenantId: string) => ({ tenant_id: tenantId, company_name: `${tenantId} Inc`, admin_email: `admin@${tenantId.replace(/_/g, '')}.com`, subscription_plan: 'STARTER' });

describe('onboarding while Cloud KMS is in trouble, or its process is stopped', function () {
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

  const profileRows = async (bigquery: FakeBigQuery, tenantId: string): Promise<string[]> =>
    (await bigquery.duckdb.query('SELECT status FROM `tenants.tenant_profiles_events` WHERE tenant_id = @t', { params: { t: tenantId } })).rows.map((r) => String(r.status));

  it('answers, writes nothing and stops cleanly when the API process is stopped (SIGTERM) while KMS does not answer', async () => {
    const bigquery = await startFakeBigQuery();
    // Well above the 2 s this test waits before the SIGTERM.
    const cluster = createCluster({ bigquery, env: { ...env(), KMS_TIMEOUT_MS: '6000' } });
    try {
      const first = await cluster.start('api');
      kms.mode = 'hang';
      const pending = callApi(first, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('hang_corp') }).then(
        (res) => ({ status: res.status, code: res.body['code'], step: res.body['step'] }),
        () => 'connection closed',
      );
      await eventually('onboarding waiting on KMS', async () => (kms.seen.some((s) => s.mode === 'hang') ? true : undefined), 10_000);
      let timer: NodeJS.Timeout | undefined;
      const waited = await Promise.race([pending, new Promise<'still waiting'>((resolve) => (timer = setTimeout(() => resolve('still waiting'), 2_000)))]);
      clearTimeout(timer);
      expect(waited, 'the request is still waiting on KMS after 2 s').to.equal('still waiting');
      expect(await profileRows(bigquery, 'hang_corp'), 'no row before the key is encrypted').to.deep.equal([]);

      // A deploy replaces the process: SIGTERM, graceful stop; the request waiting on KMS is answered within the drain.
      first.kill('SIGTERM');
      const exit = await first.exited;
      expect(await pending).to.deep.equal({ status: 500, code: 'ONBOARDING_FAILED', step: 'api_key' });
      expect(exit, first.output().split("\n").filter((l) => !l.includes("\"stack\"")).slice(-25).join("\n")).to.deep.equal({ code: 0, signal: null });
      expect(await profileRows(bigquery, 'hang_corp')).to.deep.equal([]);

      kms.mode = 'ok';
      const second = await cluster.start('api');
      const retry = await callApi(second, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('hang_corp') });
      expect({ status: retry.status, code: retry.body['code'] }, JSON.stringify(retry.body)).to.deep.equal({ status: 201, code: undefined });
    } finally {
      await cluster.close();
      await bigquery.close();
    }
  });

  it('onboards an id again after the API process was killed mid-way (SIGKILL), once the lock has lapsed', async () => {
    const bigquery = await startFakeBigQuery();
    const cluster = createCluster({ bigquery, env: env() });
    try {
      // The process dies while its subscription INSERT is on the warehouse: profile and key rows are written.
      const held = holdStatement(bigquery.duckdb, (sql) => /^\s*INSERT INTO\b[^\n]*tenant_subscriptions_events/i.test(sql));
      const first = await cluster.start('api');
      const pending = callApi(first, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('killed_corp') }).then(
        (res) => res.status,
        () => 'connection closed',
      );
      await held.arrived;
      first.kill('SIGKILL');
      await first.exited;
      held.release(); // a job the warehouse already had runs to its end
      await held.finished;
      expect(await pending).to.equal('connection closed');
      expect(await profileRows(bigquery, 'killed_corp')).to.deep.equal(['ONBOARDING']);

      const second = await cluster.start('api');
      const busy = await callApi(second, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('killed_corp') });
      expect({ status: busy.status, code: busy.body['code'] }, 'while the lock may be held by a live onboarding').to.deep.equal({ status: 409, code: 'TENANT_EXISTS' });
      const redis = new Redis(TEST_REDIS_URL);
      try {
        // The killed request's lock; its 120 s TTL lapses, as here.
        expect(await redis.del(`${cluster.prefix}:lock:onboard:killed_corp`)).to.equal(1);
      } finally {
        redis.disconnect();
      }
      const retry = await callApi(second, 'POST', '/api/v1/tenants/onboard', { adminKey: cluster.adminKey, body: body('killed_corp') });
      expect({ status: retry.status, code: retry.body['code'] }, JSON.stringify(retry.body)).to.deep.equal({ status: 201, code: undefined });
      const key = String(retry.body['api_key']);
      const tenant = await callApi(second, 'GET', '/api/v1/tenants/killed_corp', { apiKey: key });
      expect({ status: tenant.status, tenantStatus: tenant.body['status'] }, JSON.stringify(tenant.body)).to.deep.equal({ status: 200, tenantStatus: 'ACTIVE' });
      expect(await profileRows(bigquery, 'killed_corp')).to.deep.equal(['ACTIVE']);
      const keys = await bigquery.duckdb.query('SELECT key_prefix FROM `tenants.tenant_api_keys_events` WHERE tenant_id = @t', { params: { t: 'killed_corp' } });
      expect(keys.rows.length, 'only the key handed out').to.equal(1);
    } finally {
      await cluster.close();
      await bigquery.close();
    }
  });
});
