import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { RedisKeys } from '../../src/redis/keys';
import { hashApiKey } from '../../src/security/api-keys';
import type { Warehouse } from '../../src/warehouse/types';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { beforeEachQuery } from '../helpers/warehouse-spy';

/**
 * A guessed API key that Redis cannot answer costs a warehouse read (a billed query job on BigQuery). Two bounds:
 * an address that is locked out (429 AUTH_RATE_LIMITED) gets no per-key lookup (at most one load of a known
 * tenant's keys, so a valid key whose entry lapsed still works), and a claimed tenant the warehouse says does not
 * exist is remembered in Redis for a while, so guesses naming it cost nothing more.
 */
function countingAuthReads(inner: Warehouse): { warehouse: Warehouse; reads: () => number } {
  let reads = 0;
  const warehouse = beforeEachQuery(inner, (sql) => {
    // The auth path's reads: a key by its hash; a tenant's profile, or all its keys (tenant_api_keys by tenant_id).
    if (sql.includes('key_hash = @key_hash') || sql.includes('tenant_id = @tenant_id')) reads += 1;
  });
  return { warehouse, reads: () => reads };
}

const guessFor = (tenantId: string): string => `${tenantId}_api_${randomBytes(8).toString('hex')}`;

describe('warehouse reads caused by guessed API keys', function () {
  this.timeout(60_000);
  let wh: TestWarehouse;
  let counted: ReturnType<typeof countingAuthReads>;
  let t: TestSystem;
  let keys: RedisKeys;
  before(async () => {
    wh = await createTestDuckDb();
    counted = countingAuthReads(wh.warehouse);
    t = await startTestSystem({ role: 'api', warehouse: counted.warehouse, env: { TRUST_PROXY: 'true', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '5' } });
    keys = new RedisKeys(t.prefix);
  });
  after(async () => {
    await t?.close();
    await wh?.cleanup();
  });

  const get = (key: string, ip: string) => t.request.get('/api/v1/pipelines/runs').set('X-API-Key', key).set('X-Forwarded-For', ip);

  describe('from an address that is locked out', () => {
    it('answers 429 without reading the warehouse, even for keys naming ever-new tenants', async () => {
      const before = counted.reads();
      const statuses: number[] = [];
      // Each guess claims a fresh tenant id, so no per-tenant mark can answer it.
      for (let i = 0; i < 40; i += 1) statuses.push((await get(guessFor(`ghost${i}_corp`), '198.51.100.1')).status);
      expect(statuses.slice(0, 5)).to.deep.equal([401, 401, 401, 401, 401]);
      expect(statuses.slice(5), 'the address is locked out after 5 failures').to.deep.equal(new Array(35).fill(429));
      // Only the 5 allowed failures may reach the warehouse (one read each); a locked-out address must not.
      expect(counted.reads() - before, 'auth reads for 40 guesses, 35 of them from a locked-out address').to.be.at.most(5);
    });

    it('serves a valid key whose Redis entry lapsed by loading its tenant’s keys once, and guesses at that tenant cost nothing more', async () => {
      const key = await onboard(t, 'lock_corp');
      const lockedOut = '198.51.100.2';
      for (let i = 0; i < 5; i += 1) expect((await get(guessFor(`lockghost${i}_corp`), lockedOut)).status).to.equal(401);
      expect((await get(guessFor('lockghost_more_corp'), lockedOut)).status).to.equal(429);
      expect((await get(key, lockedOut)).status, 'a key cached in Redis').to.equal(200);

      const issued = await t.request.post('/api/v1/admin/tenants/lock_corp/api-keys').set('X-Admin-Key', t.adminKey);
      const lapsed = String(issued.body.api_key);
      await t.system.tenantDeps.redis.del(keys.apiKey(hashApiKey(lapsed)), keys.apiKeysComplete('lock_corp'));
      const before = counted.reads();
      expect((await get(lapsed, lockedOut)).status, 'a valid key whose Redis entry lapsed').to.equal(200);
      for (let i = 0; i < 10; i += 1) {
        const guess = await get(guessFor('lock_corp'), lockedOut);
        expect([guess.status, guess.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
      }
      expect(counted.reads() - before, 'one load of the tenant’s keys, for the key and the ten guesses').to.equal(1);
    });

    it('answers 429 without reading the warehouse for a valid key of a tenant Redis knows nothing of', async () => {
      const key = await onboard(t, 'forgot_corp');
      const lockedOut = '198.51.100.4';
      for (let i = 0; i < 5; i += 1) expect((await get(guessFor(`forgotghost${i}_corp`), lockedOut)).status).to.equal(401);
      // As after losing Redis' data: neither the key's entry nor the tenant's profile is there.
      await t.system.tenantDeps.redis.del(keys.apiKey(hashApiKey(key)), keys.tenantProfile('forgot_corp'));
      const before = counted.reads();
      const refused = await get(key, lockedOut);
      expect([refused.status, refused.body.code]).to.deep.equal([429, 'AUTH_RATE_LIMITED']);
      expect(counted.reads() - before).to.equal(0);
      expect((await get(key, '198.51.100.5')).status, 'the same key from another address').to.equal(200);
      expect((await get(key, lockedOut)).status, 'and then from the locked-out one: cached again').to.equal(200);
    });
  });

  describe('for a tenant that does not exist', () => {
    it('reads the warehouse once, whichever addresses guess, until the tenant is onboarded', async () => {
      const before = counted.reads();
      for (let i = 0; i < 10; i += 1) expect((await get(guessFor('nobody_corp'), `198.51.101.${i}`)).status).to.equal(401);
      expect(counted.reads() - before, 'auth reads for 10 guesses naming one absent tenant').to.equal(1);
      const ttl = await t.system.tenantDeps.redis.ttl(keys.tenantAbsent('nobody_corp'));
      expect(ttl, 'the absent mark lives briefly').to.be.within(1, 300);

      const key = await onboard(t, 'nobody_corp');
      expect(await t.system.tenantDeps.redis.exists(keys.tenantAbsent('nobody_corp')), 'onboarding deletes the mark').to.equal(0);
      expect((await get(key, '198.51.101.99')).status, 'the new tenant’s key works at once').to.equal(200);
    });
  });
});
