import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with one request: answer a status (with headers), or never answer. */
export type Behaviour = { status: number; headers?: Record<string, string> } | 'hang';

/**
 * A webhook receiver on loopback (tests run with WEBHOOK_ALLOW_PRIVATE=true). Each path answers from its
 * own script of behaviours, one per request, the last repeating; unscripted paths answer 200.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  private readonly scripts = new Map<string, Behaviour[]>();
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      this.requests.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const script = this.scripts.get(path) ?? [];
      const behaviour = script.length > 1 ? script.shift() : script[0];
      if (behaviour === 'hang') return; // the socket closes when the client gives up or the server closes
      res.writeHead(behaviour?.status ?? 200, behaviour?.headers ?? {}).end('ok');
    });
  });

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  script(path: string, ...behaviours: Behaviour[]): void {
    this.scripts.set(path, behaviours);
  }

  at(path: string): ReceivedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
