import type http from 'node:http';
import { Readable } from 'node:stream';
import type { FakeBigQueryServer } from './server';

/**
 * Puts a rule table in front of the fake BigQuery server's request handler, so a test can
 * answer chosen requests as BigQuery does when it misbehaves (403 accessDenied, 403 quotaExceeded, 5xx, a hung
 * connection) while every other request reaches the fake unchanged.
 */
export interface BqRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

export type BqFault = { status: number; reason: string; message: string } | 'hang';

export interface FaultRule {
  when(r: BqRequest): boolean;
  fault: BqFault;
  /** How many matching requests get the fault (undefined: all). */
  times?: number;
}

export interface BqFaults {
  add(rule: FaultRule): void;
  clear(): void;
  /** Requests answered with a fault. */
  hits: BqRequest[];
}

type Listener = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export const isDryRun = (r: BqRequest): boolean => (r.body['configuration'] as { dryRun?: boolean } | undefined)?.dryRun === true;
export const isJobInsert = (r: BqRequest): boolean => r.method === 'POST' && /\/jobs$/.test(r.path) && !isDryRun(r);
export const isJobsGet = (r: BqRequest): boolean => r.method === 'GET' && /\/jobs\/[^/]+$/.test(r.path);
export const isGetQueryResults = (r: BqRequest): boolean => r.method === 'GET' && /\/queries\/[^/]+$/.test(r.path);

export function interceptBigQuery(server: FakeBigQueryServer): BqFaults {
  const httpServer = (server as unknown as { server: http.Server }).server;
  const [original] = httpServer.listeners('request') as Listener[];
  if (!original) throw new Error('the fake BigQuery server has no request listener');
  httpServer.removeAllListeners('request');
  let rules: FaultRule[] = [];
  const hits: BqRequest[] = [];
  httpServer.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const buf = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      let body: Record<string, unknown> = {};
      try {
        body = buf.length > 0 ? (JSON.parse(buf.toString('utf8')) as Record<string, unknown>) : {};
      } catch {
        body = {};
      }
      const r: BqRequest = { method: req.method ?? '', path: url.pathname, query: url.searchParams, body };
      const rule = rules.find((x) => (x.times === undefined || x.times > 0) && x.when(r));
      if (!rule) {
        const replay = Object.assign(Readable.from(buf.length > 0 ? [buf] : []), { method: req.method, url: req.url, headers: req.headers });
        original(replay as unknown as http.IncomingMessage, res);
        return;
      }
      if (rule.times !== undefined) rule.times--;
      hits.push(r);
      if (rule.fault === 'hang') return; // the connection is closed by the server's stop()
      const { status, reason, message } = rule.fault;
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ error: { code: status, message, errors: [{ reason, message, domain: 'global' }], status: reason } }));
    });
  });
  return {
    add: (rule) => rules.push(rule),
    clear: () => {
      rules = [];
    },
    hits,
  };
}

/** The bytes the fake BigQuery server billed for every query job it ran (dry runs bill nothing). */
export function billedByServer(server: FakeBigQueryServer, sqlIncludes: string): { jobs: number; billed: number } {
  const jobs = (server as unknown as { jobs: { jobs: Map<string, { sql: string; bytesBilled: number }> } }).jobs.jobs;
  const mine = [...jobs.values()].filter((j) => j.sql.includes(sqlIncludes));
  return { jobs: mine.length, billed: mine.reduce((sum, j) => sum + j.bytesBilled, 0) };
}
