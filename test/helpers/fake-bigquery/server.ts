import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb';
import type { BigQueryAnalyzer } from '../../../tools/bigquery-sql/analyzer';
import { sharedAnalyzer } from '../../../tools/bigquery-sql/shared-analyzer';
import { QueryAnalysis } from './analysis';
import { Catalog } from './catalog';
import type { TableBody } from './catalog';
import { RestError } from './encoding';
import { JobRunner, isDml, toRestError } from './jobs';
import { ExtractJobs } from './extract';
import type { ExtractConfig } from './extract';
import type { BytesRule, QueryConfig } from './jobs';

/**
 * A local BigQuery REST v2 server for tests and benchmarks: enough of datasets, tables,
 * tabledata.insertAll and jobs for the official client to work unchanged (SPEC §12). Queries run on
 * the server's own DuckDB warehouse through the same dialect rendering the DuckDB adapter uses, after
 * ZetaSQL has analyzed them as BigQuery SQL (analysis.ts; on when tools/zetasql is installed, see
 * tools/bigquery-sql/shared-analyzer.ts).
 */

export interface FakeBigQueryOptions {
  /** The ZetaSQL analyzer to check queries with; null turns analysis off. Default: the run's shared analyzer. */
  analyzer?: Promise<BigQueryAnalyzer | null> | null;
  /**
   * Text swaps applied after analysis and before DuckDB runs a statement, for BigQuery functions the
   * DuckDB translation lacks: `[bigQueryText, duckDbText]`. The BigQuery text is still what gets analyzed.
   */
  duckDbRewrites?: ReadonlyArray<readonly [string, string]>;
  /**
   * Every query job takes at least this long, from its insert until it is DONE (default 0; `setJobLatency`
   * changes it later). Until then jobs.get says RUNNING and getQueryResults / jobs.query hold the request for
   * their timeoutMs (the client's long poll) and answer `jobComplete: false` if it passes first, as BigQuery
   * does. The wait is a timer: the server keeps answering other requests meanwhile. Dry runs are not delayed.
   */
  jobLatencyMs?: number;
  /** Where extract jobs write: the local stand-in for Cloud Storage (extract.ts). The backing DuckDB's exports directory. */
  gcsDir?: string;
}

/**
 * A statement that is valid BigQuery SQL and runs for minutes on the server's DuckDB (until cancelled):
 * recursion one row at a time.
 */
export const SLOW_BIGQUERY_SQL =
  'WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 100000000000) SELECT COUNT(*) AS n FROM r';

export interface RecordedRequest {
  kind: string;
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
}

export interface FakeBigQueryStats {
  requests: number;
  datasetsInsert: number;
  datasetsGet: number;
  datasetsDelete: number;
  datasetsList: number;
  tablesInsert: number;
  tablesGet: number;
  tablesDelete: number;
  tablesPatch: number;
  tablesList: number;
  insertAll: number;
  insertedRows: number;
  queryJobs: number;
  jobsQuery: number;
  dryRuns: number;
  getQueryResults: number;
  jobsGet: number;
  cancels: number;
  /** DML statements executed (INSERT/UPDATE/DELETE/MERGE), in total and by kind. */
  dml: number;
  dmlByKind: Record<string, number>;
  injectedFailures: number;
  /** Most query jobs RUNNING at once since the last reset. */
  peakRunningJobs: number;
}

const emptyStats = (): FakeBigQueryStats => ({
  requests: 0, datasetsInsert: 0, datasetsGet: 0, datasetsDelete: 0, datasetsList: 0, tablesInsert: 0, tablesGet: 0,
  tablesDelete: 0, tablesPatch: 0, tablesList: 0, insertAll: 0, insertedRows: 0, queryJobs: 0, jobsQuery: 0, dryRuns: 0,
  getQueryResults: 0, jobsGet: 0, cancels: 0, dml: 0, dmlByKind: {}, injectedFailures: 0, peakRunningJobs: 0,
});

/** Requests after which the tables a query can name have changed. */
const CATALOG_CHANGES = new Set<keyof FakeBigQueryStats>(['datasetsDelete', 'tablesInsert', 'tablesDelete', 'tablesPatch']);

type Handler = (m: string[], q: Record<string, string>, body: Record<string, unknown>) => Promise<unknown>;
interface Route {
  method: string;
  pattern: RegExp;
  kind: keyof FakeBigQueryStats;
  handler: Handler;
}

export class FakeBigQueryServer {
  private readonly server: http.Server;
  private readonly catalog: Catalog;
  private readonly jobs: JobRunner;
  private readonly analysis: QueryAnalysis;
  private readonly routes: Route[];
  /** Extract jobs (offboarding exports); their requests are in `extracts.requests`. */
  readonly extracts: ExtractJobs;
  private counters = emptyStats();
  private failuresLeft = 0;
  private failing = false;
  readonly requests: RecordedRequest[] = [];
  url = '';

  constructor(readonly warehouse: DuckDbWarehouse, readonly projectId = 'test-project', readonly location = 'US', options: FakeBigQueryOptions = {}) {
    this.catalog = new Catalog(warehouse, projectId);
    const analyzer = options.analyzer === undefined ? sharedAnalyzer() : (options.analyzer ?? Promise.resolve(null));
    this.analysis = new QueryAnalysis({ projectId, location }, warehouse, (d, t) => this.catalog.restSchema(d, t), analyzer);
    this.jobs = new JobRunner(warehouse, this.analysis, options.duckDbRewrites ?? []);
    this.jobs.latencyMs = options.jobLatencyMs ?? 0;
    this.extracts = new ExtractJobs(warehouse, options.gcsDir);
    this.server = http.createServer((req, res) => void this.handle(req, res));
    const P = '^/bigquery/v2/projects/([^/]+)';
    const c = this.catalog;
    this.routes = [
      { method: 'GET', pattern: new RegExp(`${P}/datasets$`), kind: 'datasetsList', handler: () => c.listDatasets() },
      { method: 'POST', pattern: new RegExp(`${P}/datasets$`), kind: 'datasetsInsert', handler: (_m, _q, b) => c.insertDataset(b) },
      { method: 'GET', pattern: new RegExp(`${P}/datasets/([^/]+)$`), kind: 'datasetsGet', handler: (m) => c.getDataset(m[2] ?? '') },
      {
        method: 'DELETE', pattern: new RegExp(`${P}/datasets/([^/]+)$`), kind: 'datasetsDelete',
        handler: (m, q) => c.deleteDataset(m[2] ?? '', q['deleteContents'] === 'true'),
      },
      { method: 'GET', pattern: new RegExp(`${P}/datasets/([^/]+)/tables$`), kind: 'tablesList', handler: (m) => c.listTables(m[2] ?? '') },
      {
        method: 'POST', pattern: new RegExp(`${P}/datasets/([^/]+)/tables$`), kind: 'tablesInsert',
        handler: (m, _q, b) => c.insertTable(m[2] ?? '', b as TableBody),
      },
      { method: 'GET', pattern: new RegExp(`${P}/datasets/([^/]+)/tables/([^/]+)$`), kind: 'tablesGet', handler: (m) => c.getTable(m[2] ?? '', m[3] ?? '') },
      {
        method: 'PATCH', pattern: new RegExp(`${P}/datasets/([^/]+)/tables/([^/]+)$`), kind: 'tablesPatch',
        handler: (m, _q, b) => c.patchTable(m[2] ?? '', m[3] ?? '', b as TableBody),
      },
      {
        method: 'DELETE', pattern: new RegExp(`${P}/datasets/([^/]+)/tables/([^/]+)$`), kind: 'tablesDelete',
        handler: (m) => c.deleteTable(m[2] ?? '', m[3] ?? ''),
      },
      {
        method: 'POST', pattern: new RegExp(`${P}/datasets/([^/]+)/tables/([^/]+)/insertAll$`), kind: 'insertAll',
        handler: (m, _q, b) => {
          this.counters.insertedRows += Array.isArray(b['rows']) ? b['rows'].length : 0;
          return c.insertAll(m[2] ?? '', m[3] ?? '', b);
        },
      },
      { method: 'POST', pattern: new RegExp(`${P}/jobs$`), kind: 'queryJobs', handler: (m, _q, b) => this.insertJob(m[1] ?? '', b) },
      { method: 'GET', pattern: new RegExp(`${P}/jobs/([^/]+)$`), kind: 'jobsGet', handler: async (m) => (this.extracts.has(m[2] ?? '') ? this.extracts.resource(m[2] ?? '') : this.jobs.resource(this.jobs.get(m[2] ?? ''))) },
      {
        method: 'POST', pattern: new RegExp(`${P}/jobs/([^/]+)/cancel$`), kind: 'cancels',
        handler: async (m) => ({ kind: 'bigquery#jobCancelResponse', job: this.jobs.resource(this.jobs.cancel(m[2] ?? '')) }),
      },
      { method: 'GET', pattern: new RegExp(`${P}/queries/([^/]+)$`), kind: 'getQueryResults', handler: (m, q) => this.queryResults(m[2] ?? '', q) },
      { method: 'POST', pattern: new RegExp(`${P}/queries$`), kind: 'jobsQuery', handler: (m, _q, b) => this.syncQuery(m[1] ?? '', b) },
    ];
  }

  async start(): Promise<this> {
    await this.analysis.ready();
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    await this.jobs.cancelAll();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  stats(): FakeBigQueryStats {
    return { ...this.counters, dmlByKind: { ...this.counters.dmlByKind }, peakRunningJobs: this.jobs.peakRunning };
  }

  resetStats(): void {
    this.counters = emptyStats();
    this.requests.length = 0;
    this.jobs.resetPeak();
  }

  /**
   * Query jobs inserted from now on take at least `ms` until DONE (FakeBigQueryOptions.jobLatencyMs); given `only`,
   * just the jobs whose SQL it accepts (the others none).
   */
  setJobLatency(ms: number, only?: (sql: string) => boolean): void {
    this.jobs.latencyMs = ms;
    this.jobs.latencyOnly = only ?? null;
  }

  /** How many bytes statements process and bill from now on (null: the default estimate); see BytesRule. */
  setBytesRule(rule: BytesRule | null): void {
    this.jobs.bytesRule = rule;
  }

  /** The next `n` requests answer 503 backendError. */
  failNext(n: number): void {
    this.failuresLeft = n;
  }

  /** While on, every request answers 503 backendError. */
  setFailing(on: boolean): void {
    this.failing = on;
  }

  private async insertJob(projectId: string, body: Record<string, unknown>): Promise<unknown> {
    const configuration = (body['configuration'] ?? {}) as { query?: QueryConfig; extract?: ExtractConfig; dryRun?: boolean; labels?: Record<string, string> };
    const ref = (body['jobReference'] ?? {}) as { jobId?: string; location?: string };
    if (configuration.extract) return this.extracts.run(projectId, ref.location ?? this.location, ref.jobId ?? randomUUID(), configuration.extract);
    const sql = configuration.query?.query ?? '';
    const location = ref.location ?? this.location;
    if (configuration.dryRun) {
      // Routed as a job insert, counted as what it is.
      this.counters.queryJobs--;
      this.counters.dryRuns++;
    }
    if (configuration.dryRun) {
      const statementType = await this.jobs.dryRunStatementType(sql, configuration.query?.queryParameters);
      const bytes = String((await this.jobs.bytesOf(sql, true)).processed);
      return {
        kind: 'bigquery#job',
        jobReference: { projectId, location },
        configuration: { ...configuration, dryRun: true },
        status: { state: 'DONE' },
        statistics: { totalBytesProcessed: bytes, query: { totalBytesProcessed: bytes, statementType } },
      };
    }
    await this.jobs.validate(sql, configuration.query?.queryParameters);
    const job = this.jobs.start({ projectId, location, config: configuration.query ?? {}, ...(ref.jobId ? { jobId: ref.jobId } : {}), ...(configuration.labels ? { labels: configuration.labels } : {}) });
    this.countDml(job.statementType);
    return this.jobs.resource(job);
  }

  private countDml(statementType: string): void {
    if (!isDml(statementType)) return;
    this.counters.dml++;
    this.counters.dmlByKind[statementType] = (this.counters.dmlByKind[statementType] ?? 0) + 1;
  }

  private async queryResults(jobId: string, q: Record<string, string>): Promise<unknown> {
    const job = this.jobs.get(jobId);
    const done = await this.jobs.waitFor(job, Math.min(Number(q['timeoutMs'] ?? 10_000), 10_000));
    if (!done) return { kind: 'bigquery#getQueryResultsResponse', jobReference: { projectId: job.projectId, jobId: job.id, location: job.location }, jobComplete: false };
    return {
      kind: 'bigquery#getQueryResultsResponse',
      ...this.jobs.results(job, {
        startIndex: Number(q['pageToken'] ?? q['startIndex'] ?? 0),
        maxResults: Number(q['maxResults'] ?? 20_000),
        int64Timestamps: q['formatOptions.useInt64Timestamp'] === 'true',
      }),
    };
  }

  private async syncQuery(projectId: string, body: Record<string, unknown>): Promise<unknown> {
    const config = body as QueryConfig & { timeoutMs?: number; location?: string; dryRun?: boolean; labels?: Record<string, string> };
    await this.jobs.validate(config.query ?? '', config.queryParameters);
    if (config.dryRun) {
      this.counters.dryRuns++;
      return { kind: 'bigquery#queryResponse', jobComplete: true, totalBytesProcessed: String((await this.jobs.bytesOf(config.query ?? '', true)).processed) };
    }
    const job = this.jobs.start({ projectId, location: config.location ?? this.location, config, ...(config.labels ? { labels: config.labels } : {}) });
    this.countDml(job.statementType);
    const done = await this.jobs.waitFor(job, Math.min(config.timeoutMs ?? 10_000, 10_000));
    if (!done) return { kind: 'bigquery#queryResponse', jobReference: { projectId, jobId: job.id, location: job.location }, jobComplete: false };
    const formatOptions = (body['formatOptions'] ?? {}) as { useInt64Timestamp?: boolean };
    return { kind: 'bigquery#queryResponse', ...this.jobs.results(job, { startIndex: 0, maxResults: 20_000, int64Timestamps: formatOptions.useInt64Timestamp === true }) };
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams.entries());
    const route = this.routes.find((r) => r.method === req.method && r.pattern.test(url.pathname));
    let status = 200;
    let payload: unknown;
    try {
      const body = await readJson(req);
      this.requests.push({ kind: route?.kind ?? 'unknown', method: req.method ?? '', path: url.pathname, query, body });
      this.counters.requests++;
      if (this.failing || this.failuresLeft > 0) {
        if (this.failuresLeft > 0) this.failuresLeft--;
        this.counters.injectedFailures++;
        throw new RestError(503, 'backendError', 'Injected failure: backend error');
      }
      if (!route) throw new RestError(404, 'notFound', `The fake BigQuery server has no route for ${req.method} ${url.pathname}`);
      const counter = this.counters[route.kind];
      if (typeof counter === 'number') (this.counters[route.kind] as number) = counter + 1;
      payload = await route.handler(route.pattern.exec(url.pathname) ?? [], query, body);
      if (CATALOG_CHANGES.has(route.kind)) this.analysis.invalidate();
      if (payload === undefined) status = 204;
    } catch (err) {
      const restError = toRestError(err);
      status = restError.status;
      payload = restError.body();
    }
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(status === 204 ? undefined : JSON.stringify(payload));
  }
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (chunks.length === 0) return {};
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new RestError(400, 'parseError', 'Request body is not valid JSON');
  }
}
