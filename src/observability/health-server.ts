import http from 'node:http';
import { listen } from '../shared/listen';
import type { AddressInfo } from 'node:net';
import { readinessReport } from './readiness';
import type { ReadinessSource } from './readiness';

/**
 * The health listener of a process that runs no API (worker, scheduler): a container orchestrator needs
 * something to probe, and these roles have no HTTP server of their own. Plain `node:http` with two routes, so a
 * worker does not build the Koa app; the answers are the API's `/health/live` and `/health/ready`.
 */
export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: ReadinessSource & { host: string; port: number }): Promise<HealthServer> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      res.end(JSON.stringify(body));
    };
    const route = `${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}`;
    if (route === 'GET /health/live') return reply(200, { status: 'alive' });
    if (route !== 'GET /health/ready') return reply(404, { status: 'not_found' });
    readinessReport(options).then(
      (report) => reply(report.httpStatus, report.body),
      () => reply(503, { status: 'not_ready' }),
    );
  });
  await listen(server, options.port, options.host, 'HEALTH_PORT');
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
