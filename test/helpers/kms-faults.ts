import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FAKE_KMS_TOKEN, startFakeKms } from './fake-kms';
import type { FakeKms } from './fake-kms';

/**
 * A Cloud KMS endpoint in front of the fake KMS (test/helpers/fake-kms.ts) that can be switched
 * to answer as a KMS in trouble: `unavailable` (503 UNAVAILABLE), `disabled` (400 FAILED_PRECONDITION: the key
 * version is disabled), `hang` (the connection is accepted, no answer ever comes). `ok` forwards to the fake
 * (with the token it accepts, so the product's emulator token works).
 */
export type KmsMode = 'ok' | 'unavailable' | 'disabled' | 'hang';

export interface KmsProxy {
  url: string;
  keyName: string;
  mode: KmsMode;
  /** Requests that reached the proxy, by mode at the time. */
  seen: Array<{ mode: KmsMode; path: string }>;
  close(): Promise<void>;
}

export async function startKmsProxy(): Promise<KmsProxy> {
  const fake: FakeKms = await startFakeKms();
  const target = new URL(fake.url);
  const proxy: KmsProxy = {
    url: '',
    keyName: fake.keyName,
    mode: 'ok',
    seen: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await fake.close();
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const mode = proxy.mode;
      proxy.seen.push({ mode, path: req.url ?? '' });
      if (mode === 'hang') return;
      if (mode === 'unavailable' || mode === 'disabled') {
        const [code, status, message] =
          mode === 'unavailable'
            ? [503, 'UNAVAILABLE', 'The service is currently unavailable.']
            : [400, 'FAILED_PRECONDITION', `${fake.keyName}/cryptoKeyVersions/1 is not enabled, current state is: DISABLED.`];
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code, status, message } }));
        return;
      }
      const upstream = http.request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host, authorization: `Bearer ${FAKE_KMS_TOKEN}` } },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
