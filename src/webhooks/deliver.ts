import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { pinnedLookup } from './ssrf';
import type { ResolvedAddress } from './ssrf';

/**
 * One HTTP attempt of a delivery. The socket connects only to the addresses the SSRF guard checked
 * (pinned lookup), no connection is reused (agent: false), redirects are never followed (node's
 * request does not follow them; a 3xx is a failure like any non-2xx), and the whole attempt — connect,
 * TLS, answer headers — is bounded by `timeoutMs`. The answer's body is read and discarded.
 */

export interface PostResult {
  ok: boolean;
  statusCode: number | null;
  /** null on success; `http_<status>`, `timeout`, `connection refused`, `connection reset`, `dns_error`, `tls_error`, `network_error`. */
  error: string | null;
  durationMs: number;
}

export interface PostRequest {
  url: URL;
  addresses: ResolvedAddress[];
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

function networkError(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ECONNRESET': case 'EPIPE': return 'connection reset';
    case 'ENOTFOUND': case 'EAI_AGAIN': return 'dns_error';
    case 'EHOSTUNREACH': case 'ENETUNREACH': return 'unreachable';
    default: return err.code?.startsWith('ERR_TLS') || err.code?.includes('CERT') ? 'tls_error' : 'network_error';
  }
}

export function postWebhook(req: PostRequest): Promise<PostResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round(performance.now() - started);
  const client = req.url.protocol === 'https:' ? https : http;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (r: Omit<PostResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: elapsed() });
    };
    const request = client.request(req.url, {
      method: 'POST',
      headers: { ...req.headers, 'Content-Length': String(Buffer.byteLength(req.body)) },
      lookup: pinnedLookup(req.addresses),
      agent: false,
    }, (res) => {
      const status = res.statusCode ?? 0;
      // The answer's body is not needed: drain it, and cut a body that never ends.
      res.resume();
      const cutoff = setTimeout(() => request.destroy(), req.timeoutMs);
      res.on('error', () => undefined);
      res.on('close', () => clearTimeout(cutoff));
      finish(status >= 200 && status < 300 ? { ok: true, statusCode: status, error: null } : { ok: false, statusCode: status, error: `http_${status}` });
    });
    const timer = setTimeout(() => {
      finish({ ok: false, statusCode: null, error: 'timeout' });
      request.destroy();
    }, req.timeoutMs);
    request.on('error', (err: NodeJS.ErrnoException) => finish({ ok: false, statusCode: null, error: networkError(err) }));
    request.end(req.body);
  });
}
