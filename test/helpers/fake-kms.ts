import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { OAuth2Client } from 'google-auth-library';

/**
 * A local stand-in for Cloud KMS's REST surface: `POST /v1/{keyName}:encrypt|:decrypt` with base64
 * bodies. It really encrypts (AES-256-GCM with its own key, the key name bound as AAD), checks the
 * bearer token and records every request so tests can see what went over the wire.
 */
export const FAKE_KMS_TOKEN = 'fake-kms-token';
export const FAKE_KMS_KEY_NAME = 'projects/test-project/locations/global/keyRings/test-ring/cryptoKeys/test-key';

export interface RecordedKmsRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

export interface FakeKms {
  /** `http://127.0.0.1:<port>` */
  url: string;
  keyName: string;
  requests: RecordedKmsRequest[];
  /** An OAuth2Client holding the token the server accepts. */
  authClient(): OAuth2Client;
  close(): Promise<void>;
}

const PATH_PATTERN = /^\/v1\/(projects\/[^:]+):(encrypt|decrypt)$/;

export async function startFakeKms(): Promise<FakeKms> {
  const key = randomBytes(32);
  const requests: RecordedKmsRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body: Record<string, unknown> = {};
      try {
        const text = Buffer.concat(chunks).toString('utf8');
        body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        return reply(res, 400, errorBody(400, 'INVALID_ARGUMENT', 'body is not JSON'));
      }
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = decodeURIComponent(url.pathname);
      requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });
      if (req.headers.authorization !== `Bearer ${FAKE_KMS_TOKEN}`) {
        return reply(res, 401, errorBody(401, 'UNAUTHENTICATED', 'bad token'));
      }
      const match = PATH_PATTERN.exec(path);
      if (req.method !== 'POST' || !match) return reply(res, 404, errorBody(404, 'NOT_FOUND', 'no such route'));
      const keyName = match[1] ?? '';
      if (match[2] === 'encrypt') {
        const plaintext = Buffer.from(String(body.plaintext ?? ''), 'base64');
        const iv = randomBytes(12);
        const cipher = createCipheriv('aes-256-gcm', key, iv);
        cipher.setAAD(Buffer.from(keyName));
        const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
        const ciphertext = Buffer.concat([iv, cipher.getAuthTag(), data]);
        return reply(res, 200, { name: `${keyName}/cryptoKeyVersions/1`, ciphertext: ciphertext.toString('base64') });
      }
      const ciphertext = Buffer.from(String(body.ciphertext ?? ''), 'base64');
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ciphertext.subarray(0, 12));
        decipher.setAAD(Buffer.from(keyName));
        decipher.setAuthTag(ciphertext.subarray(12, 28));
        const plaintext = Buffer.concat([decipher.update(ciphertext.subarray(28)), decipher.final()]);
        return reply(res, 200, { plaintext: plaintext.toString('base64') });
      } catch {
        return reply(res, 400, errorBody(400, 'INVALID_ARGUMENT', 'Decryption failed: the ciphertext is invalid.'));
      }
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    keyName: FAKE_KMS_KEY_NAME,
    requests,
    authClient() {
      const client = new OAuth2Client();
      client.setCredentials({ access_token: FAKE_KMS_TOKEN, expiry_date: Date.now() + 3_600_000 });
      return client;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

function reply(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const errorBody = (code: number, status: string, message: string): unknown => ({ error: { code, status, message } });
