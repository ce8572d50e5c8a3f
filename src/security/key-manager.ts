/** Encrypts secrets at rest (API keys, provider credentials). Local keyring or Cloud KMS. */
export interface KeyManager {
  readonly kind: 'local' | 'gcp';
  encrypt(plaintext: Buffer): Promise<Buffer>;
  decrypt(ciphertext: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}
