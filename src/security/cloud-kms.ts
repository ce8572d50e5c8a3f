import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import { AppError } from '../shared/errors';
import type { KeyManager } from './key-manager';

export interface CloudKmsOptions {
  /** `projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}` */
  keyName: string;
  /** e.g. `http://127.0.0.1:8090` for a local emulator; unset = Google's endpoint over gRPC. */
  apiEndpoint?: string;
  /** Credentials; unset = Application Default Credentials (or a fixed token for an http emulator). */
  authClient?: AuthClient;
}

type KmsClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;

/**
 * KeyManager over Cloud KMS symmetric encrypt/decrypt. The key never leaves KMS; each call is one
 * round trip, so callers encrypt on writes (issue key, store credentials), not per request.
 */
export class CloudKms implements KeyManager {
  readonly kind = 'gcp' as const;
  private readonly client: KeyManagementServiceClient;

  constructor(private readonly options: CloudKmsOptions) {
    this.client = new KeyManagementServiceClient(clientOptions(options));
  }

  async encrypt(plaintext: Buffer): Promise<Buffer> {
    try {
      const [response] = await this.client.encrypt({ name: this.options.keyName, plaintext });
      return toBuffer(response.ciphertext, 'ciphertext');
    } catch (err) {
      throw kmsError('encrypt', err);
    }
  }

  async decrypt(ciphertext: Buffer): Promise<Buffer> {
    try {
      const [response] = await this.client.decrypt({ name: this.options.keyName, ciphertext });
      return toBuffer(response.plaintext, 'plaintext');
    } catch (err) {
      throw kmsError('decrypt', err);
    }
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}

/**
 * An `http://` endpoint means an emulator: gRPC cannot speak plain HTTP/1, so the REST fallback
 * transport is used with explicit host, port and protocol (SPEC §12).
 */
function clientOptions(options: CloudKmsOptions): KmsClientOptions {
  if (options.apiEndpoint === undefined) {
    return options.authClient ? { authClient: asGaxAuthClient(options.authClient) } : {};
  }
  const url = new URL(options.apiEndpoint);
  const isHttp = url.protocol === 'http:';
  const port = url.port ? Number(url.port) : isHttp ? 80 : 443;
  const authClient = options.authClient ?? (isHttp ? emulatorAuthClient() : undefined);
  return {
    apiEndpoint: url.hostname,
    port,
    ...(isHttp ? { fallback: true, protocol: 'http' } : {}),
    ...(authClient ? { authClient: asGaxAuthClient(authClient) } : {}),
  } as KmsClientOptions;
}

/**
 * google-gax bundles its own copy of google-auth-library, so its AuthClient type is nominally
 * different from ours although the object works the same at runtime (same major, same interface).
 */
const asGaxAuthClient = (client: AuthClient): KmsClientOptions['authClient'] => client as unknown as KmsClientOptions['authClient'];

/** Emulators accept any bearer token; a fixed one avoids looking for real credentials. */
function emulatorAuthClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'local-emulator', expiry_date: Date.now() + 365 * 24 * 3_600_000 });
  return client;
}

function toBuffer(value: Uint8Array | string | null | undefined, field: string): Buffer {
  if (value === null || value === undefined) throw new AppError(500, 'INTERNAL_ERROR', `Cloud KMS response has no ${field}`, { expose: false });
  return typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.from(value);
}

function kmsError(operation: string, cause: unknown): AppError {
  if (cause instanceof AppError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AppError(500, 'INTERNAL_ERROR', `Cloud KMS ${operation} failed: ${message}`, { expose: false, cause });
}
