import { randomUUID } from 'node:crypto';
import { StatementType } from '@duckdb/node-api';
import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb';
import type { QueryResult } from '../../../src/warehouse/types';
import { fieldsOf } from './field-types';
import type { ResultField } from './field-types';
import { WarehouseError } from '../../../src/warehouse/types';
import type { QueryAnalysis } from './analysis';
import { RestError, fromRestParameters, restSchema, toRestRows } from './encoding';
import type { RestQueryParameter } from './encoding';

/** Query jobs of the fake BigQuery server: each runs on the server's own DuckDB warehouse. */

export interface QueryConfig {
  query?: string;
  queryParameters?: RestQueryParameter[];
  useLegacySql?: boolean;
  /** int64 as a string, as BigQuery takes it. */
  maximumBytesBilled?: string;
}

/**
 * A test's rule for the bytes a statement processes and bills: `dryRun` says whether BigQuery is estimating
 * (a dry run) or running the job, so a test can make the estimate lower than the job. undefined: the default
 * estimate (8 bytes per cell of every table named), billed as BigQuery bills on demand (at least 10 MiB).
 */
export type BytesRule = (sql: string, phase: { dryRun: boolean; cancelled?: boolean }) => { processed: number; billed?: number } | undefined;

/** BigQuery's on-demand minimum per query that reads data. */
const MIN_BILLED_BYTES = 10 * 1024 * 1024;

export interface FakeJob {
  id: string;
  projectId: string;
  location: string;
  sql: string;
  statementType: string;
  labels: Record<string, string>;
  state: 'RUNNING' | 'DONE';
  result?: QueryResult & { fields: ResultField[] };
  error?: RestError;
  bytesProcessed: number;
  bytesBilled: number;
  controller: AbortController;
  done: Promise<void>;
}

const DML = ['INSERT', 'UPDATE', 'DELETE', 'MERGE'] as const;
export type DmlKind = (typeof DML)[number];

export function statementTypeOf(sql: string): string {
  const stripped = sql.replace(/--[^\n]*|#[^\n]*|\/\*[\s\S]*?\*\//g, ' ').trim();
  const word = /^\(*\s*([A-Za-z]+)/.exec(stripped)?.[1]?.toUpperCase() ?? 'SELECT';
  if (word === 'WITH') return 'SELECT';
  if (word === 'CREATE') return /^CREATE\s+(OR\s+REPLACE\s+)?VIEW/i.test(stripped) ? 'CREATE_VIEW' : 'CREATE_TABLE';
  return word;
}

export const isDml = (statementType: string): statementType is DmlKind => (DML as readonly string[]).includes(statementType);

export function toRestError(err: unknown): RestError {
  if (err instanceof RestError) return err;
  if (err instanceof WarehouseError) {
    if (err.reason === 'not_found') return new RestError(404, 'notFound', `Not found: ${err.message}`);
    if (err.reason === 'already_exists') return new RestError(409, 'duplicate', `Already Exists: ${err.message}`);
    if (err.reason === 'cancelled') return new RestError(400, 'stopped', 'Job execution was cancelled: User requested cancellation');
    if (err.reason === 'invalid_query') return new RestError(400, 'invalidQuery', err.message);
    // Concurrent DDL on one object: BigQuery answers such races with 409 duplicate as well.
    if (/write-write conflict|Conflict on/i.test(err.message)) return new RestError(409, 'duplicate', `Already Exists: ${err.message}`);
  }
  return new RestError(500, 'backendError', err instanceof Error ? err.message : String(err));
}

/** Resolves after `ms`, or at once when `signal` aborts; a timer, so the server's event loop never blocks. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export class JobRunner {
  private readonly jobs = new Map<string, FakeJob>();
  /** Statements DuckDB prepared without error, with the analysis generation they were prepared under. */
  private readonly prepared = new Map<string, number>();
  /** Every query job stays RUNNING at least this long after its insert (see FakeBigQueryOptions.jobLatencyMs). */
  latencyMs = 0;
  /** Which statements `latencyMs` delays (null: every one). */
  latencyOnly: ((sql: string) => boolean) | null = null;
  /** FakeBigQueryServer.setBytesRule. */
  bytesRule: BytesRule | null = null;
  /** Jobs RUNNING now, and the most at once since `resetPeak`. */
  running = 0;
  peakRunning = 0;

  resetPeak(): void {
    this.peakRunning = this.running;
  }

  constructor(
    private readonly warehouse: DuckDbWarehouse,
    private readonly analysis: QueryAnalysis,
    private readonly rewrites: ReadonlyArray<readonly [string, string]>,
  ) {}

  private forDuckDb(sql: string): string {
    return this.rewrites.reduce((text, [from, to]) => text.split(from).join(to), sql);
  }

  get(id: string): FakeJob {
    const job = this.jobs.get(id);
    if (!job) throw new RestError(404, 'notFound', `Not found: Job ${id}`);
    return job;
  }

  /** What a statement processes and bills: the test's rule, else the default estimate. */
  async bytesOf(sql: string, dryRun: boolean): Promise<{ processed: number; billed: number }> {
    const ruled = this.bytesRule?.(sql, { dryRun });
    const processed = ruled ? ruled.processed : await this.estimateBytes(sql);
    return { processed, billed: ruled?.billed ?? (processed > 0 ? Math.max(MIN_BILLED_BYTES, processed) : 0) };
  }

  /** Rough size estimate: 8 bytes per cell of every table the text names. */
  async estimateBytes(sql: string): Promise<number> {
    let total = 0;
    for (const m of sql.matchAll(/`(?:[\w-]+\.)?(\w+)\.(\w+)`/g)) {
      const [, dataset, table] = m;
      if (!dataset || !table) continue;
      try {
        const cols = await this.warehouse.query(
          'SELECT COUNT(*) AS n FROM information_schema.columns WHERE table_schema = @d AND table_name = @t',
          { params: { d: dataset, t: table } },
        );
        const rows = await this.warehouse.query(`SELECT COUNT(*) AS n FROM \`${dataset}.${table}\``);
        total += Number(cols.rows[0]?.['n'] ?? 0) * Number(rows.rows[0]?.['n'] ?? 0) * 8;
      } catch {
        // A table created by this very statement does not exist yet.
      }
    }
    return total;
  }

  /**
   * The statementType a dry run reports, decided as BigQuery decides it: several statements are a SCRIPT (not
   * validated further: a later statement may use what an earlier one creates); one statement is validated like a
   * job (ZetaSQL, then DuckDB's prepare) and a SELECT is a SELECT in any spelling (WITH, parentheses, FROM-first).
   * Other single statements keep their leading keyword.
   */
  async dryRunStatementType(sql: string, parameters?: RestQueryParameter[]): Promise<string> {
    let parsed: { count: number; type: StatementType | null };
    try {
      parsed = await this.warehouse.parseStatements(this.forDuckDb(sql));
    } catch (err) {
      throw toRestError(err);
    }
    if (parsed.count > 1) return 'SCRIPT';
    await this.validate(sql, parameters);
    return parsed.type === StatementType.SELECT ? 'SELECT' : statementTypeOf(sql);
  }

  /**
   * Validates like BigQuery does before a job starts: invalid BigQuery SQL (ZetaSQL), unknown tables and
   * syntax errors fail at insert.
   */
  async validate(sql: string, parameters?: RestQueryParameter[]): Promise<void> {
    await this.analysis.check(sql, parameters);
    const text = this.forDuckDb(sql);
    // DuckDB's prepare passes or fails the same way until the catalog changes (the analysis generation).
    if (this.prepared.get(text) === this.analysis.generation) return;
    const generation = this.analysis.generation;
    try {
      await this.warehouse.dryRun(text);
    } catch (err) {
      throw toRestError(err);
    }
    if (this.prepared.size >= 10_000) this.prepared.clear();
    this.prepared.set(text, generation);
  }

  start(input: { jobId?: string; projectId: string; location: string; config: QueryConfig; labels?: Record<string, string> }): FakeJob {
    const id = input.jobId ?? randomUUID();
    if (this.jobs.has(id)) throw new RestError(409, 'duplicate', `Already Exists: Job ${input.projectId}:${input.location}.${id}`);
    const sql = input.config.query ?? '';
    const { params, paramTypes } = fromRestParameters(input.config.queryParameters);
    const controller = new AbortController();
    const job: FakeJob = {
      id,
      projectId: input.projectId,
      location: input.location,
      sql,
      statementType: statementTypeOf(sql),
      labels: input.labels ?? {},
      state: 'RUNNING',
      bytesProcessed: 0,
      bytesBilled: 0,
      controller,
      done: Promise.resolve(),
    };
    const latency = pause(this.latencyOnly && !this.latencyOnly(sql) ? 0 : this.latencyMs, controller.signal);
    this.peakRunning = Math.max(this.peakRunning, ++this.running);
    job.done = (async () => {
      try {
        const bytes = await this.bytesOf(sql, false);
        const cap = input.config.maximumBytesBilled;
        // As BigQuery: a job that would bill over its maximumBytesBilled fails before it runs, billing nothing.
        if (cap !== undefined && bytes.billed > Number(cap)) {
          throw new RestError(400, 'bytesBilledLimitExceeded', `Query exceeded limit for bytes billed: ${cap}. ${bytes.billed} or higher required.`);
        }
        job.bytesProcessed = bytes.processed;
        job.bytesBilled = bytes.billed;
        const { columns, ...result } = await this.warehouse.queryWithColumnTypes(this.forDuckDb(sql), { params, paramTypes, signal: controller.signal });
        job.result = { ...result, fields: fieldsOf(columns) };
        await latency;
        if (controller.signal.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
      } catch (err) {
        job.error = toRestError(err);
        if (controller.signal.aborted) {
          // A cancelled job reports what it read before it stopped: the test's rule says ({cancelled: true}), else nothing.
          const partial = this.bytesRule?.(sql, { dryRun: false, cancelled: true });
          job.bytesProcessed = partial?.processed ?? 0;
          job.bytesBilled = partial?.billed ?? partial?.processed ?? 0;
        }
      } finally {
        // DDL changes what later statements can name; the client sees DONE only after this.
        if (!isDml(job.statementType) && job.statementType !== 'SELECT') this.analysis.invalidate();
        job.state = 'DONE';
        this.running--;
      }
    })();
    this.jobs.set(id, job);
    return job;
  }

  /** Stops every running job and waits for them, at most `graceMs` (a test may hold a job forever). */
  async cancelAll(graceMs = 2000): Promise<void> {
    const running = [...this.jobs.values()].filter((j) => j.state === 'RUNNING');
    for (const job of running) job.controller.abort();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(running.map((j) => j.done)), timeout]);
    if (timer) clearTimeout(timer);
  }

  cancel(id: string): FakeJob {
    const job = this.get(id);
    job.controller.abort();
    return job;
  }

  async waitFor(job: FakeJob, timeoutMs: number): Promise<boolean> {
    if (job.state === 'DONE') return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const finished = await Promise.race([job.done.then(() => true as const), timeout]);
    if (timer) clearTimeout(timer);
    return finished;
  }

  resource(job: FakeJob): Record<string, unknown> {
    const dml = job.result?.affectedRows;
    return {
      kind: 'bigquery#job',
      id: `${job.projectId}:${job.location}.${job.id}`,
      jobReference: { projectId: job.projectId, jobId: job.id, location: job.location },
      configuration: { jobType: 'QUERY', query: { query: job.sql, useLegacySql: false }, labels: job.labels },
      status: job.state === 'DONE' && job.error ? { state: 'DONE', errorResult: job.error.body() } : { state: job.state },
      statistics: {
        totalBytesProcessed: String(job.bytesProcessed),
        query: {
          totalBytesProcessed: String(job.bytesProcessed),
          totalBytesBilled: String(job.bytesBilled),
          statementType: job.statementType,
          ...(dml !== undefined && isDml(job.statementType) ? { numDmlAffectedRows: String(dml) } : {}),
        },
      },
    };
  }

  /** The getQueryResults / jobs.query body of a finished job, one page of rows. */
  results(job: FakeJob, page: { startIndex: number; maxResults: number; int64Timestamps: boolean }): Record<string, unknown> {
    if (job.error) throw job.error;
    const result = job.result ?? { rows: [], fields: [] };
    const base = {
      jobReference: { projectId: job.projectId, jobId: job.id, location: job.location },
      jobComplete: true,
      totalBytesProcessed: String(job.bytesProcessed),
      cacheHit: false,
    };
    if (isDml(job.statementType)) {
      return { ...base, totalRows: '0', numDmlAffectedRows: String(result.affectedRows ?? 0) };
    }
    const slice = result.rows.slice(page.startIndex, page.startIndex + page.maxResults);
    const next = page.startIndex + slice.length;
    return {
      ...base,
      schema: restSchema(result.fields),
      totalRows: String(result.rows.length),
      rows: toRestRows(result.fields, slice, page.int64Timestamps),
      ...(next < result.rows.length ? { pageToken: String(next) } : {}),
    };
  }
}
