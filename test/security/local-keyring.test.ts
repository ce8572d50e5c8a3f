import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LocalKeyring } from '../../src/security/local-keyring';
import { createKeyManager } from '../../src/security';
import { AppError } from '../../src/shared/errors';

describe('local keyring', () => {
  let dir: string;
  let keyringPath: string;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'keyring-'));
    keyringPath = path.join(dir, 'data', 'keyring.json');
  });

  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe('on first start', () => {
    it('creates keyring.json with mode 0600 holding a 32-byte key', async () => {
      const keyring = await LocalKeyring.open(keyringPath);
      const stat = await fs.stat(keyringPath);
      expect(stat.mode & 0o777).to.equal(0o600);
      const file = JSON.parse(await fs.readFile(keyringPath, 'utf8')) as { primary: string; keys: { id: string; key: string }[] };
      expect(file.keys).to.have.length(1);
      expect(Buffer.from(file.keys[0]?.key ?? '', 'base64')).to.have.length(32);
      expect(file.primary).to.equal(file.keys[0]?.id);
      await keyring.close();
    });

    it('is built by createKeyManager for KEY_MANAGER=local', async () => {
      const km = await createKeyManager({ kind: 'local', keyringPath, kmsKeyName: undefined, kmsApiEndpoint: undefined });
      expect(km.kind).to.equal('local');
      expect((await km.decrypt(await km.encrypt(Buffer.from('x')))).toString()).to.equal('x');
      await km.close();
    });
  });

  describe('when restarted', () => {
    it('keeps the key, so earlier ciphertexts still decrypt', async () => {
      const first = await LocalKeyring.open(keyringPath);
      const ciphertext = await first.encrypt(Buffer.from('secret credentials'));
      await first.close();
      const second = await LocalKeyring.open(keyringPath);
      expect((await second.decrypt(ciphertext)).toString()).to.equal('secret credentials');
      await second.close();
    });

    it('repairs a key file left readable by others back to 0600', async () => {
      await (await LocalKeyring.open(keyringPath)).close();
      await fs.chmod(keyringPath, 0o644);
      const keyring = await LocalKeyring.open(keyringPath);
      expect((await fs.stat(keyringPath)).mode & 0o777).to.equal(0o600);
      await keyring.close();
    });

    it('refuses a corrupt key file', async () => {
      await fs.mkdir(path.dirname(keyringPath), { recursive: true });
      await fs.writeFile(keyringPath, '{"version":1}', { mode: 0o600 });
      try {
        await LocalKeyring.open(keyringPath);
        expect.fail('expected the keyring to be refused');
      } catch (err) {
        expect(err).to.be.instanceOf(AppError);
        expect((err as AppError).message).to.contain('invalid');
      }
    });
  });

  describe('when encrypting', () => {
    it('round-trips and never repeats a ciphertext', async () => {
      const keyring = await LocalKeyring.open(keyringPath);
      const a = await keyring.encrypt(Buffer.from('acme_corp_api_xK9mPqWz7LnR4vYt'));
      const b = await keyring.encrypt(Buffer.from('acme_corp_api_xK9mPqWz7LnR4vYt'));
      expect(a.equals(b)).to.equal(false);
      expect(a[0]).to.equal(1);
      expect(a.length).to.equal(1 + 8 + 12 + 16 + 30);
      expect((await keyring.decrypt(a)).toString()).to.equal('acme_corp_api_xK9mPqWz7LnR4vYt');
      await keyring.close();
    });

    it('detects a change to any byte of the ciphertext', async () => {
      const keyring = await LocalKeyring.open(keyringPath);
      const ciphertext = await keyring.encrypt(Buffer.from('payload'));
      for (let i = 0; i < ciphertext.length; i++) {
        const tampered = Buffer.from(ciphertext);
        tampered[i] = (tampered[i] ?? 0) ^ 0x01;
        let failed = false;
        try {
          await keyring.decrypt(tampered);
        } catch (err) {
          failed = err instanceof AppError && err.message.startsWith('Decryption failed');
        }
        expect(failed, `byte ${i}`).to.equal(true);
      }
      await keyring.close();
    });

    it('cannot decrypt what another keyring encrypted', async () => {
      const mine = await LocalKeyring.open(keyringPath);
      const theirs = await LocalKeyring.open(path.join(dir, 'other', 'keyring.json'));
      const ciphertext = await theirs.encrypt(Buffer.from('payload'));
      let error: unknown;
      await mine.decrypt(ciphertext).catch((err: unknown) => (error = err));
      expect(error).to.be.instanceOf(AppError);
      await mine.close();
      await theirs.close();
    });
  });
});
