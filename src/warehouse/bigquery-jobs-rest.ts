import http from 'node:http';
import https from 'node:https';
import type { Cell, QueryParameter, SchemaField } from './bigquery-values';

/**
 * The REST calls every query makes — the dry run, jobs.insert, jobs.getQueryResults (long poll), jobs.get for the
 * billed bytes, jobs.cancel — sent straight over a keep-alive agent. On BigQuery a run spends its time waiting on
 * these, and through the client library (common → teeny-request → node-fetch → streams) they cost the worker more
 * CPU than the rest of the run together (BENCHMARKS.md, worker path I/O-bound). The run logs' streaming inserts
 * come this way too; everything else still goes through the library.
 *
 * Errors are thrown in the library's shape (`code`, `message`, `errors[].reason`), so bigquery-errors.ts maps
 * and retries them the same way; a socket error keeps its `code` (ECONNRESET, …), which is transient.
 */
export interface QueryJobSpec {
  query: string;
  queryParameters?: QueryParameter[];
  labels?: Record<string, string>;
  maximumBytesBilled?: string;
}

export interface QueryResultsPage {
  jobComplete?: boolean;
  schema?: { fields?: SchemaField[] };
  rows?: Array<{ f: Cell[] }>;
  pageToken?: string;
  numDmlAffectedRows?: string;
  totalBytesProcessed?: string;
}

/** One row error of an insertAll answer; reason `stopped` marks rows refused only because another row was invalid. */
export interface InsertRowError {
  reason?: string;
  message?: string;
}

export interface BigQueryJobsRestOptions {
  /** e.g. `https://bigquery.googleapis.com/bigquery/v2` or a local server's `http://127.0.0.1:9050/bigquery/v2`. */
  baseUrl: string;
  projectId: string;
  location: string;
  /** Authorization (and any other) headers for a request to `url` (google-auth-library caches the token). */
  headers(url: string): Promise<Headers | Record<string, string>>;
}

/**
 * Auth headers are reused for this long. google-auth-library refreshes a token minutes before it expires, so a
 * header read within the last 30 s still carries a valid token; asking it per request cost the worker ~2 % CPU.
 */
const AUTH_HEADERS_REUSE_MS = 30_000;

/** A request that takes longer than this (the server's long poll is ≤ 10 s) is treated as a lost connection. */
const SOCKET_TIMEOUT_MS = 60_000;

interface RestFailure extends Error {
  code?: number | string;
  errors?: Array<{ reason?: string; message?: string }>;
}

export class BigQueryJobsRest {
  private readonly agent: http.Agent;
  private readonly jobsUrl: string;
  /** Every request goes to the same origin (the audience of a self-signed JWT), so one set of headers serves all. */
  private auth: { headers: Promise<Record<string, string>>; until: number } | null = null;

  constructor(private readonly options: BigQueryJobsRestOptions) {
    const secure = options.baseUrl.startsWith('https:');
    this.agent = secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
    this.jobsUrl = `${options.baseUrl}/projects/${encodeURIComponent(options.projectId)}`;
  }

  async insertQueryJob(jobId: string, spec: QueryJobSpec): Promise<void> {
    await this.send('POST', `${this.jobsUrl}/jobs`, this.queryJobBody(jobId, spec, false));
  }

  /**
   * A dry run (free, runs nothing): BigQuery's estimate of the bytes and its reading of the statement type. Over
   * this path rather than the library: a BigQuery step dry-runs every query job (cost guardrails), and through
   * the library that request cost the worker about as much CPU as the job's own three calls together.
   */
  async dryRunQueryJob(jobId: string, spec: QueryJobSpec): Promise<{ bytesProcessed: number; statementType: string | undefined }> {
    const job = (await this.send('POST', `${this.jobsUrl}/jobs`, this.queryJobBody(jobId, spec, true))) as {
      statistics?: { totalBytesProcessed?: string; query?: { totalBytesProcessed?: string; statementType?: string } };
    };
    const stats = job.statistics;
    return { bytesProcessed: Number(stats?.query?.totalBytesProcessed ?? stats?.totalBytesProcessed ?? 0), statementType: stats?.query?.statementType };
  }

  private queryJobBody(jobId: string, spec: QueryJobSpec, dryRun: boolean): Record<string, unknown> {
    const query: Record<string, unknown> = { query: spec.query, useLegacySql: false };
    if (spec.queryParameters && spec.queryParameters.length > 0) Object.assign(query, { parameterMode: 'NAMED', queryParameters: spec.queryParameters });
    if (spec.maximumBytesBilled !== undefined) query['maximumBytesBilled'] = spec.maximumBytesBilled;
    return {
      jobReference: { projectId: this.options.projectId, jobId, location: this.options.location },
      configuration: { query, ...(spec.labels ? { labels: spec.labels } : {}), ...(dryRun ? { dryRun: true } : {}) },
    };
  }

  /** One getQueryResults call: waits (server side, up to its timeout) for the job, then one page of rows. */
  async getQueryResults(jobId: string, page: { pageToken?: string; maxResults?: number }): Promise<QueryResultsPage> {
    const qs = new URLSearchParams({ location: this.options.location, 'formatOptions.useInt64Timestamp': 'true' });
    if (page.pageToken) qs.set('pageToken', page.pageToken);
    if (page.maxResults !== undefined) qs.set('maxResults', String(page.maxResults));
    return (await this.send('GET', `${this.jobsUrl}/queries/${encodeURIComponent(jobId)}?${qs.toString()}`)) as QueryResultsPage;
  }

  /** The job's billing figures (jobs.get statistics): BigQuery reports bytes billed only there, not with the results. */
  async getJobBytes(jobId: string): Promise<{ bytesProcessed?: number; bytesBilled?: number; done: boolean }> {
    const qs = new URLSearchParams({ location: this.options.location, fields: 'status(state),statistics(query(totalBytesProcessed,totalBytesBilled))' });
    const job = (await this.send('GET', `${this.jobsUrl}/jobs/${encodeURIComponent(jobId)}?${qs.toString()}`)) as {
      status?: { state?: string };
      statistics?: { query?: { totalBytesProcessed?: string; totalBytesBilled?: string } };
    };
    const q = job.statistics?.query;
    return {
      done: job.status?.state === 'DONE',
      ...(q?.totalBytesProcessed !== undefined ? { bytesProcessed: Number(q.totalBytesProcessed) } : {}),
      ...(q?.totalBytesBilled !== undefined ? { bytesBilled: Number(q.totalBytesBilled) } : {}),
    };
  }

  /**
   * tabledata.insertAll of rows already in insertAll form. Answers the rows' errors (empty: all inserted); with
   * skipInvalidRows=false BigQuery inserts none of a request when one row is invalid. The run log writer's batches
   * go here: through the library each request deep-copied its rows (extend) and crossed its request stack.
   */
  async insertAll(dataset: string, table: string, rows: Array<{ insertId: string; json: Record<string, unknown> }>, signal?: AbortSignal): Promise<InsertRowError[]> {
    const url = `${this.jobsUrl}/datasets/${encodeURIComponent(dataset)}/tables/${encodeURIComponent(table)}/insertAll`;
    const answer = (await this.send('POST', url, { rows, skipInvalidRows: false, ignoreUnknownValues: false }, signal)) as { insertErrors?: Array<{ errors?: InsertRowError[] }> };
    return (answer.insertErrors ?? []).flatMap((e) => e.errors ?? []);
  }

  async cancel(jobId: string): Promise<void> {
    await this.send('POST', `${this.jobsUrl}/jobs/${encodeURIComponent(jobId)}/cancel?location=${encodeURIComponent(this.options.location)}`);
  }

  close(): void {
    this.agent.destroy();
  }

  /** `signal`: aborting destroys the request (the caller gave it up; e.g. a deadline passed). */
  private async send(method: string, url: string, body?: unknown, signal?: AbortSignal): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'convergence-bigquery', ...(await this.authHeaders(url)) };
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = 'application/json';
    const { status, text } = await this.request(method, url, headers, payload, signal);
    const parsed = text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    if (status >= 200 && status < 300) return parsed;
    const error = (parsed['error'] ?? {}) as { code?: number; message?: string; errors?: Array<{ reason?: string; message?: string }> };
    const failure: RestFailure = new Error(error.message ?? `BigQuery answered ${status}`);
    failure.code = error.code ?? status;
    failure.errors = error.errors ?? [];
    throw failure;
  }

  private authHeaders(url: string): Promise<Record<string, string>> {
    const now = Date.now();
    if (this.auth && now < this.auth.until) return this.auth.headers;
    const headers = this.options.headers(url).then((auth) => {
      const plain: Record<string, string> = {};
      if (auth instanceof Headers) auth.forEach((value, name) => (plain[name] = value));
      else Object.assign(plain, auth);
      return plain;
    });
    const entry = { headers, until: now + AUTH_HEADERS_REUSE_MS };
    this.auth = entry;
    // A failed read is not reused: the next request asks again.
    headers.catch(() => {
      if (this.auth === entry) this.auth = null;
    });
    return headers;
  }

  private request(method: string, url: string, headers: Record<string, string>, payload: string | undefined, signal?: AbortSignal): Promise<{ status: number; text: string }> {
    const transport = url.startsWith('https:') ? https : http;
    return new Promise((resolve, reject) => {
      const req = transport.request(url, { method, headers, agent: this.agent, timeout: SOCKET_TIMEOUT_MS, ...(signal ? { signal } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('BigQuery request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      req.end(payload);
    });
  }
}
