import { KeyManagementServiceClient } from '@google-cloud/kms';
import { OAuth2Client } from 'google-auth-library';
import type { AuthClient } from 'google-auth-library';
import { AppError, dependencyUnavailable } from '../shared/errors';
import type { KeyManager } from './key-manager';

export interface CloudKmsOptions {
  /** `projects/{p}/locations/{l}/keyRings/{r}/cryptoKeys/{k}` */
  keyName: string;
  /** e.g. `http://127.0.0.1:8090` for a local emulator; unset = Google's endpoint over gRPC. */
  apiEndpoint?: string;
  /** Credentials; unset = Application Default Credentials (or a fixed token for an http emulator). */
  authClient?: AuthClient;
  /** Deadline of one encrypt or decrypt, its retries included (KMS_TIMEOUT_MS); default 5000. */
  timeoutMs?: number;
}

type KmsClientOptions = NonNullable<ConstructorParameters<typeof KeyManagementServiceClient>[0]>;
/** The google-gax CallOptions set on every call (a subset of that type). */
interface KmsCallOptions { timeout: number; maxRetries: number }

export const DEFAULT_KMS_TIMEOUT_MS = 5000;
/** Attempts per call on UNAVAILABLE or DEADLINE_EXCEEDED (the codes the client retries), within the deadline. */
const KMS_MAX_ATTEMPTS = 3;

/**
 * KeyManager over Cloud KMS symmetric encrypt/decrypt. The key never leaves KMS; each call is one
 * round trip, so callers encrypt on writes (issue key, store credentials), not per request.
 */
export class CloudKms implements KeyManager {
  readonly kind = 'gcp' as const;
  private readonly client: KeyManagementServiceClient;
  private readonly timeoutMs: number;
  private readonly callOptions: KmsCallOptions;

  constructor(private readonly options: CloudKmsOptions) {
    this.client = new KeyManagementServiceClient(clientOptions(options));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_KMS_TIMEOUT_MS;
    // Without these the client retries UNAVAILABLE and DEADLINE_EXCEEDED for up to 10 minutes (60 s per attempt).
    this.callOptions = { timeout: this.timeoutMs, maxRetries: KMS_MAX_ATTEMPTS };
  }

  async encrypt(plaintext: Buffer): Promise<Buffer> {
    const [response] = await this.call('encrypt', (options) => this.client.encrypt({ name: this.options.keyName, plaintext }, options));
    return toBuffer(response.ciphertext, 'ciphertext');
  }

  async decrypt(ciphertext: Buffer): Promise<Buffer> {
    const [response] = await this.call('decrypt', (options) => this.client.decrypt({ name: this.options.keyName, ciphertext }, options));
    return toBuffer(response.plaintext, 'plaintext');
  }

  /**
   * One KMS call, answered by the deadline whatever the transport: gRPC honours the call's timeout, but the REST
   * fallback (emulators) sends no deadline at all, so the wait is also cut here; an attempt left running is
   * abandoned (encrypt and decrypt change nothing in KMS).
   */
  private async call<T>(operation: string, run: (options: KmsCallOptions) => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new KmsTimeout(`Cloud KMS ${operation} got no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    });
    try {
      return await Promise.race([run({ ...this.callOptions }), deadline]);
    } catch (err) {
      throw kmsError(operation, err);
    } finally {
      clearTimeout(timer);
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

class KmsTimeout extends Error {
  override readonly name = 'KmsTimeout';
}

/** KMS' status names, from a gRPC code (google-gax `Status`) or, over REST, from an HTTP status. */
const GRPC_STATUS: Record<number, string> = {
  1: 'CANCELLED', 3: 'INVALID_ARGUMENT', 4: 'DEADLINE_EXCEEDED', 5: 'NOT_FOUND', 7: 'PERMISSION_DENIED', 8: 'RESOURCE_EXHAUSTED',
  9: 'FAILED_PRECONDITION', 10: 'ABORTED', 13: 'INTERNAL', 14: 'UNAVAILABLE', 16: 'UNAUTHENTICATED',
};
const HTTP_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 408: 'DEADLINE_EXCEEDED',
  429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 502: 'UNAVAILABLE', 503: 'UNAVAILABLE', 504: 'DEADLINE_EXCEEDED',
};
const TRANSIENT = new Set(['CANCELLED', 'DEADLINE_EXCEEDED', 'RESOURCE_EXHAUSTED', 'ABORTED', 'INTERNAL', 'UNAVAILABLE']);
/** The key cannot be used until an operator acts: version disabled or destroyed, key missing, no permission. */
const KEY_UNUSABLE = new Set(['NOT_FOUND', 'PERMISSION_DENIED', 'FAILED_PRECONDITION', 'UNAUTHENTICATED']);

/**
 * The status KMS answered: over gRPC the error's numeric code; over REST (an HTTP error from gaxios) the
 * `error.status` of Google's JSON body (400 covers both INVALID_ARGUMENT and FAILED_PRECONDITION), else the HTTP
 * status. Undefined when no answer came (connection refused, DNS, TLS).
 */
function kmsStatus(cause: unknown): string | undefined {
  if (!(cause instanceof Error)) return undefined;
  const err = cause as Error & { code?: unknown; response?: { status?: number } };
  if (err.response) {
    try {
      const status = (JSON.parse(err.message) as { error?: { status?: unknown } }).error?.status;
      if (typeof status === 'string') return status;
    } catch {
      // not Google's JSON error body
    }
    return HTTP_STATUS[err.response.status ?? 0];
  }
  return typeof err.code === 'number' ? GRPC_STATUS[err.code] : undefined;
}

/**
 * KMS in trouble is a dependency the request could not use, not the client's fault: 503 DEPENDENCY_UNAVAILABLE —
 * with Retry-After when it is transient (no answer in time, UNAVAILABLE, quota, endpoint unreachable), without when
 * the key itself is unusable (the detail says so; the log has KMS' own message). Anything else (a ciphertext KMS
 * rejects as invalid) stays a 500.
 */
function kmsError(operation: string, cause: unknown): AppError {
  if (cause instanceof AppError) return cause;
  const status = kmsStatus(cause);
  if (cause instanceof KmsTimeout || (status !== undefined && TRANSIENT.has(status))) return dependencyUnavailable('Cloud KMS', cause);
  if (status !== undefined && KEY_UNUSABLE.has(status)) {
    return new AppError(503, 'DEPENDENCY_UNAVAILABLE', 'Cloud KMS refuses the platform\'s encryption key (disabled, destroyed or not permitted); an operator must restore it', {
      expose: true,
      cause,
    });
  }
  // No answer at all: a system error code such as ECONNREFUSED, ENOTFOUND or ECONNRESET.
  if (status === undefined && typeof (cause as { code?: unknown } | null)?.code === 'string') return dependencyUnavailable('Cloud KMS', cause);
  const message = cause instanceof Error ? cause.message : String(cause);
  return new AppError(500, 'INTERNAL_ERROR', `Cloud KMS ${operation} failed: ${message}`, { expose: false, cause });
}
