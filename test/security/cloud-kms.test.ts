import { expect } from 'chai';
import { CloudKms } from '../../src/security/cloud-kms';
import { createKeyManager } from '../../src/security';
import { AppError } from '../../src/shared/errors';
import { startFakeKms } from '../helpers/fake-kms';
import type { FakeKms } from '../helpers/fake-kms';
import { startKmsProxy } from '../helpers/kms-faults';
import type { KmsProxy } from '../helpers/kms-faults';

describe('Cloud KMS key manager', () => {
  let fake: FakeKms;
  let kms: CloudKms;

  beforeEach(async () => {
    fake = await startFakeKms();
    kms = new CloudKms({ keyName: fake.keyName, apiEndpoint: fake.url, authClient: fake.authClient() });
  });

  afterEach(async () => {
    await kms.close();
    await fake.close();
  });

  describe('when encrypting and decrypting', () => {
    it('round-trips through the REST endpoints of the key', async () => {
      const ciphertext = await kms.encrypt(Buffer.from('service-account json'));
      expect(ciphertext.toString()).not.to.contain('service-account');
      expect((await kms.decrypt(ciphertext)).toString()).to.equal('service-account json');
      expect(fake.requests.map((r) => r.path)).to.deep.equal([`/v1/${fake.keyName}:encrypt`, `/v1/${fake.keyName}:decrypt`]);
    });

    it('sends base64 plaintext with the bearer token of the auth client', async () => {
      await kms.encrypt(Buffer.from('hello'));
      const [request] = fake.requests;
      expect(request?.method).to.equal('POST');
      expect(request?.body.plaintext).to.equal(Buffer.from('hello').toString('base64'));
      expect(request?.authorization).to.equal('Bearer fake-kms-token');
    });
  });

  describe('when the ciphertext was tampered with', () => {
    it('throws an unexposed AppError', async () => {
      const ciphertext = await kms.encrypt(Buffer.from('payload'));
      ciphertext[ciphertext.length - 1] = (ciphertext[ciphertext.length - 1] ?? 0) ^ 0x01;
      let error: unknown;
      await kms.decrypt(ciphertext).catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(AppError);
      expect((error as AppError).expose).to.equal(false);
      expect((error as AppError).message).to.contain('decrypt failed');
    });
  });

  describe('when KMS is in trouble', () => {
    let proxy: KmsProxy;
    let troubled: CloudKms;
    beforeEach(async () => {
      proxy = await startKmsProxy();
      troubled = new CloudKms({ keyName: proxy.keyName, apiEndpoint: proxy.url, timeoutMs: 500 });
    });
    afterEach(async () => {
      await proxy.close();
      await troubled.close();
    });
    const failure = async (mode: KmsProxy['mode']): Promise<AppError> => {
      proxy.mode = mode;
      const error = await troubled.encrypt(Buffer.from('x')).then(() => null, (err: unknown) => err);
      expect(error).to.be.instanceOf(AppError);
      return error as AppError;
    };

    it('throws 503 DEPENDENCY_UNAVAILABLE with Retry-After when it is unavailable', async () => {
      const err = await failure('unavailable');
      expect([err.status, err.code, err.expose, err.headers['Retry-After']]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE', true, '5']);
    });

    it('throws 503 DEPENDENCY_UNAVAILABLE saying the key is unusable when its version is disabled', async () => {
      const err = await failure('disabled');
      expect([err.status, err.code, err.headers['Retry-After']]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE', undefined]);
      expect(err.message).to.contain('encryption key').and.contain('operator');
    });

    it('gives up at its timeout (KMS_TIMEOUT_MS) when KMS never answers: 503 DEPENDENCY_UNAVAILABLE', async () => {
      const err = await failure('hang');
      expect([err.status, err.code]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE']);
      expect(proxy.seen.map((s) => s.mode)).to.deep.equal(['hang']);
    });
  });

  describe('when built by createKeyManager for KEY_MANAGER=gcp', () => {
    it('talks to the configured endpoint', async () => {
      const km = await createKeyManager(
        { kind: 'gcp', keyringPath: '/nonexistent', kmsKeyName: fake.keyName, kmsApiEndpoint: fake.url },
        { authClient: fake.authClient() },
      );
      expect(km.kind).to.equal('gcp');
      expect((await km.decrypt(await km.encrypt(Buffer.from('x')))).toString()).to.equal('x');
      await km.close();
    });
  });
});
