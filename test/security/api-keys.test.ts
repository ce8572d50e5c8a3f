import { expect } from 'chai';
import fc from 'fast-check';
import { generateApiKey, hashApiKey, keyPrefix, randomAlphanumeric, safeEqual, tenantIdOfKey } from '../../src/security/api-keys';

describe('api keys', () => {
  describe('when a key is generated', () => {
    it('has the form {tenant_id}_api_{16 alphanumerics}', () => {
      const key = generateApiKey('acme_corp');
      expect(key).to.match(/^acme_corp_api_[A-Za-z0-9]{16}$/);
    });

    it('differs on every call', () => {
      const keys = new Set(Array.from({ length: 1000 }, () => generateApiKey('acme_corp')));
      expect(keys.size).to.equal(1000);
    });

    it('draws every alphanumeric roughly equally often (no modulo bias)', () => {
      const counts = new Map<string, number>();
      const sample = randomAlphanumeric(62 * 2000);
      for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
      expect(counts.size).to.equal(62);
      // Expected 2000 each; a biased draw (byte % 62) gives the first 8 characters ~25% more.
      for (const n of counts.values()) expect(n).to.be.within(1700, 2300);
    });
  });

  describe('when a key is parsed', () => {
    it('gives back the tenant of any generated key, even one whose id contains _api_', () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[a-z0-9_]{3,50}$/), (tenantId) => {
          expect(tenantIdOfKey(generateApiKey(tenantId))).to.equal(tenantId);
        }),
      );
      expect(tenantIdOfKey(generateApiKey('my_api_co'))).to.equal('my_api_co');
    });

    it('answers null for malformed keys', () => {
      for (const bad of ['', 'acme_api_short', 'acme_corp_key_ABCDEFGHIJKLMNOP', 'AC_api_ABCDEFGHIJKLMNOP', 'acme_api_ABCDEFGHIJKLMNO!']) {
        expect(tenantIdOfKey(bad), bad).to.equal(null);
      }
    });
  });

  describe('when a key is stored or shown', () => {
    it('hashes to sha256 hex', () => {
      expect(hashApiKey('abc')).to.equal('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    });

    it('shows only the tenant and 4 characters of the secret', () => {
      expect(keyPrefix('acme_corp_api_xK9mPqWz7LnR4vYt')).to.equal('acme_corp_api_xK9m…');
    });
  });

  describe('safeEqual', () => {
    it('answers true only for identical strings', () => {
      expect(safeEqual('admin-key-1234567', 'admin-key-1234567')).to.equal(true);
      expect(safeEqual('admin-key-1234567', 'admin-key-1234568')).to.equal(false);
      expect(safeEqual('admin-key', 'admin-key-longer')).to.equal(false);
      expect(safeEqual('', '')).to.equal(true);
    });
  });
});
