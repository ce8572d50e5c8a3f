import type { AuthClient } from 'google-auth-library';
import type { Config } from '../config';
import type { Logger } from '../shared/logger';
import type { KeyManager } from './key-manager';

export type { KeyManager };

export interface KeyManagerFactoryOptions {
  logger?: Logger;
  /** Overrides the credentials Cloud KMS uses (tests, emulators). */
  authClient?: AuthClient;
}

/** Builds the key manager the configuration names: local keyring (default) or Cloud KMS. */
export async function createKeyManager(cfg: Config['keyManager'], options: KeyManagerFactoryOptions = {}): Promise<KeyManager> {
  // Loaded on demand: the Cloud KMS client (gRPC stack) only in processes configured for it.
  if (cfg.kind === 'local') {
    const { LocalKeyring } = require('./local-keyring') as typeof import('./local-keyring');
    return LocalKeyring.open(cfg.keyringPath, options.logger ? { logger: options.logger } : {});
  }
  if (!cfg.kmsKeyName) throw new Error('KMS_KEY_NAME is required when KEY_MANAGER=gcp');
  const { CloudKms } = require('./cloud-kms') as typeof import('./cloud-kms');
  return new CloudKms({
    keyName: cfg.kmsKeyName,
    ...(cfg.kmsApiEndpoint ? { apiEndpoint: cfg.kmsApiEndpoint } : {}),
    ...(cfg.kmsTimeoutMs !== undefined ? { timeoutMs: cfg.kmsTimeoutMs } : {}),
    ...(options.authClient ? { authClient: options.authClient } : {}),
  });
}
