import { expect } from 'chai';
import { CloudKms } from '../../src/security/cloud-kms';

/** Opt-in: `LIVE_GCP=1 KMS_KEY_NAME=projects/…/cryptoKeys/… npm run test:live` with Application Default Credentials. */
const keyName = process.env.KMS_KEY_NAME;
const enabled = process.env.LIVE_GCP === '1' && keyName !== undefined && keyName !== '';

(enabled ? describe : describe.skip)('Cloud KMS (live)', () => {
  it('round-trips a secret through the real key', async () => {
    const kms = new CloudKms({ keyName: keyName ?? '' });
    try {
      const ciphertext = await kms.encrypt(Buffer.from('live round trip'));
      expect((await kms.decrypt(ciphertext)).toString()).to.equal('live round trip');
    } finally {
      await kms.close();
    }
  });
});
