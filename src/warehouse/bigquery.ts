import { randomUUID } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import type { BigQueryOptions } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import type { Logger } from '../shared/logger';
import { DEFAULT_RETRY, mapBigQueryError, withRetry } from './bigquery-errors';
import type { RetryPolicy } from './bigquery-errors';
import { BigQueryJobsRest } from './bigquery-jobs-rest';
import type { QueryJobSpec } from './bigquery-jobs-rest';
import { runQueryJob } from './bigquery-query-job';
import type { CollectedResult, ResultCap } from './bigquery-results';
import { checkExtractTarget, extractToParquet } from './bigquery-extract';
import { toInsertJson, toQueryParameter } from './bigquery-values';
import type { QueryParameter } from './bigquery-values';
import { DEFAULT_MAX_RESULT_BYTES } from './result-budget';
import { WarehouseError } from './types';
import type { ColumnSchema, DryRunResult, ExportResult, InsertOptions, QueryOptions, QueryResult, Row, SandboxOptions, SandboxResult, TableRef, TableSpec, Warehouse } from './types';

export interface BigQueryWarehouseOptions {
  projectId: string;
  location: string;
  /** e.g. 'http://127.0.0.1:9050' for a local server (SPEC §12). */
  apiEndpoint?: string;
  authClient?: BigQueryOptions['authClient'];
  logger?: Logger;
  retry?: RetryPolicy;
  /** insertAll request size limits (BigQuery recommends ≤ 500 rows, hard cap 10 MB). */
  maxRowsPerInsert?: number;
  maxBytesPerInsert?: number;
  /**
   * `maximumBytesBilled` of query jobs whose caller names none (the platform's own statements: views, log and
   * state rows); a pipeline step's jobs carry the tenant's grant instead (README "Cost guardrails").
   */
  defaultMaxBytesBilled?: number;
}

const isLocalEndpoint = (url: string): boolean => /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/.test(url);

/** A fixed-token client for local servers, which check no credentials (SPEC §12). */
export function localAuthClient(): OAuth2Client {
  const client = new OAuth2Client();
  client.setCredentials({ access_token: 'local' });
  return client;
}

export class BigQueryWarehouse implements Warehouse {
  readonly kind = 'bigquery' as const;
  private readonly retry: RetryPolicy;
  private readonly maxRows: number;
  private readonly maxBytes: number;

  private constructor(
    private readonly client: BigQuery,
    private readonly options: BigQueryWarehouseOptions,
    /** Query jobs (dry run, insert, results, billed bytes, cancel) go over this lean REST path; everything else through `client`. */
    private readonly jobs: BigQueryJobsRest,
  ) {
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.maxRows = options.maxRowsPerInsert ?? 500;
    this.maxBytes = options.maxBytesPerInsert ?? 5 * 1024 * 1024;
  }

  static async create(options: BigQueryWarehouseOptions): Promise<BigQueryWarehouse> {
    const authClient = options.authClient ?? (options.apiEndpoint && isLocalEndpoint(options.apiEndpoint) ? localAuthClient() : undefined);
    const client = new BigQuery({
      projectId: options.projectId,
      location: options.location,
      // Retries are ours (withRetry), so a request is never retried twice over.
      autoRetry: false,
      ...(options.apiEndpoint ? { apiEndpoint: options.apiEndpoint } : {}),
      ...(authClient ? { authClient } : {}),
    });
    const jobs = new BigQueryJobsRest({
      baseUrl: client.baseUrl,
      projectId: options.projectId,
      location: options.location,
      headers: (url) => client.authClient.getRequestHeaders(url),
    });
    return new BigQueryWarehouse(client, options, jobs);
  }

  private call<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withRetry(this.retry, fn, signal);
  }

  async ping(): Promise<void> {
    await this.call(() => this.client.getDatasets({ maxResults: 1, autoPaginate: false }));
  }

  async close(): Promise<void> {
    // The library's requests use its shared agent; the query-job path has a keep-alive agent of its own.
    this.jobs.close();
  }

  async datasetExists(dataset: string): Promise<boolean> {
    const [exists] = await this.call(() => this.client.dataset(dataset).exists());
    return exists;
  }

  async createDataset(dataset: string, options: { description?: string } = {}): Promise<boolean> {
    try {
      await this.call(() =>
        this.client.createDataset(dataset, {
          location: this.options.location,
          ...(options.description ? { description: options.description } : {}),
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof WarehouseError && err.reason === 'already_exists') return false;
      throw err;
    }
  }

  async dropDataset(dataset: string): Promise<void> {
    try {
      await this.call(() => this.client.dataset(dataset).delete({ force: true }));
    } catch (err) {
      if (!(err instanceof WarehouseError && err.reason === 'not_found')) throw err;
    }
  }

  async tableExists(ref: TableRef): Promise<boolean> {
    const [exists] = await this.call(() => this.client.dataset(ref.dataset).table(ref.table).exists());
    return exists;
  }

  async createTable(ref: TableRef, spec: TableSpec): Promise<boolean> {
    const metadata = {
      schema: { fields: spec.columns.map((c) => ({ name: c.name, type: c.type, mode: c.mode ?? 'NULLABLE', ...(c.description ? { description: c.description } : {}) })) },
      ...(spec.partitionBy ? { timePartitioning: { type: 'DAY', field: spec.partitionBy.column } } : {}),
      ...(spec.clusterBy && spec.clusterBy.length > 0 ? { clustering: { fields: spec.clusterBy.slice(0, 4) } } : {}),
      ...(spec.description ? { description: spec.description } : {}),
    };
    try {
      await this.call(() => this.client.dataset(ref.dataset).createTable(ref.table, metadata));
      return true;
    } catch (err) {
      if (err instanceof WarehouseError && err.reason === 'already_exists') return false;
      throw err;
    }
  }

  /** tables.patch with the whole schema: BigQuery allows adding NULLABLE columns to an existing table this way. */
  async addColumns(ref: TableRef, columns: ColumnSchema[]): Promise<void> {
    const table = this.client.dataset(ref.dataset).table(ref.table);
    const [metadata] = await this.call(() => table.getMetadata());
    const fields = ((metadata as { schema?: { fields?: Array<{ name?: string }> } }).schema?.fields ?? []) as Array<{ name?: string }>;
    const have = new Set(fields.map((f) => f.name?.toLowerCase()));
    const missing = columns.filter((c) => !have.has(c.name.toLowerCase()));
    if (missing.length === 0) return;
    const added = missing.map((c) => ({ name: c.name, type: c.type, mode: 'NULLABLE', ...(c.description ? { description: c.description } : {}) }));
    await this.call(() => table.setMetadata({ schema: { fields: [...fields, ...added] } }));
  }

  async dropTable(ref: TableRef): Promise<void> {
    try {
      await this.call(() => this.client.dataset(ref.dataset).table(ref.table).delete());
    } catch (err) {
      if (!(err instanceof WarehouseError && err.reason === 'not_found')) throw err;
    }
  }

  /** CREATE OR REPLACE VIEW as a query: one request, and replacing is atomic on BigQuery. */
  async createView(ref: TableRef, sql: string): Promise<void> {
    try {
      await this.query(`CREATE OR REPLACE VIEW \`${ref.dataset}.${ref.table}\` AS ${sql}`);
    } catch (err) {
      // Several processes booting at once replace the same view; BigQuery answers the loser 409 duplicate.
      // The view the winner wrote is the same definition, so that is success.
      if (!(err instanceof WarehouseError && err.reason === 'already_exists')) throw err;
    }
  }

  async listTables(dataset: string): Promise<string[]> {
    const [tables] = await this.call(() => this.client.dataset(dataset).getTables());
    return tables.map((t) => t.id ?? '').filter((id) => id !== '').sort();
  }

  /**
   * Streaming inserts (tabledata.insertAll) in chunks, each retried as a whole with the same insert ids. An abort
   * drops the request in flight and sends nothing more.
   */
  async insertRows(ref: TableRef, rows: Row[], options: InsertOptions = {}): Promise<void> {
    const { signal } = options;
    const raw = rows.map((row, i) => ({ insertId: options.insertIds?.[i] ?? randomUUID(), json: toInsertJson(row) }));
    for (const chunk of this.chunks(raw)) {
      // Row errors are data errors, never worth a retry: thrown after the call, outside withRetry.
      const errors = await this.call(() => this.jobs.insertAll(ref.dataset, ref.table, chunk, signal), signal);
      if (errors.length > 0) {
        const first = errors.find((e) => e.reason !== 'stopped') ?? errors[0];
        throw new WarehouseError(`Insert rejected: ${first?.message ?? 'invalid row'}`, 'invalid_query');
      }
    }
  }

  private *chunks<T extends { json: Record<string, unknown> }>(rows: T[]): Generator<T[]> {
    let current: T[] = [];
    let bytes = 0;
    for (const row of rows) {
      const size = JSON.stringify(row.json).length + 64;
      if (current.length > 0 && (current.length >= this.maxRows || bytes + size > this.maxBytes)) {
        yield current;
        current = [];
        bytes = 0;
      }
      current.push(row);
      bytes += size;
    }
    if (current.length > 0) yield current;
  }

  private jobSpec(sql: string, options: QueryOptions, extra: Pick<QueryJobSpec, 'maximumBytesBilled'> = {}): QueryJobSpec {
    const queryParameters: QueryParameter[] = Object.entries(options.params ?? {}).map(([name, v]) => toQueryParameter(name, v, options.paramTypes?.[name]));
    return { query: sql, queryParameters, ...(options.labels ? { labels: options.labels } : {}), ...extra };
  }

  /** Inserts the query job under our own job id, so a retried insert cannot start a second job (409: it exists). */
  private async startJob(spec: QueryJobSpec): Promise<string> {
    const jobId = randomUUID();
    await this.call(async () => {
      try {
        await this.jobs.insertQueryJob(jobId, spec);
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
      }
    });
    return jobId;
  }

  async query<R extends Row = Row>(sql: string, options: QueryOptions = {}): Promise<QueryResult<R>> {
    const cap = options.maxBytesBilled ?? this.options.defaultMaxBytesBilled;
    const spec = this.jobSpec(sql, options, cap === undefined ? {} : { maximumBytesBilled: String(Math.floor(cap)) });
    const { truncated: _uncapped, ...result } = await this.runJob(spec, options.signal, undefined, options.maxBytesBilled !== undefined);
    return result as QueryResult<R>;
  }

  /** Starts a query job and collects its rows (within `cap`); a job given up on is cancelled (bigquery-query-job.ts). */
  private async runJob(spec: QueryJobSpec, signal: AbortSignal | undefined, cap?: ResultCap, withBilling = false): Promise<CollectedResult> {
    if (signal?.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
    const jobId = await this.startJob(spec);
    const deps = { jobs: this.jobs, call: <T>(fn: () => Promise<T>) => this.call(fn), ...(this.options.logger ? { logger: this.options.logger } : {}) };
    return runQueryJob(deps, jobId, { withBilling, ...(signal ? { signal } : {}), ...(cap ? { cap } : {}) });
  }

  async dryRun(sql: string, options: QueryOptions = {}): Promise<DryRunResult> {
    const { bytesProcessed } = await this.dryRunStatistics(sql, options);
    return { bytesProcessed };
  }

  private async dryRunStatistics(sql: string, options: QueryOptions): Promise<{ bytesProcessed: number; statementType: string | undefined }> {
    // A dry run bills nothing; it still carries the job's cap, so every job this adapter sends names one.
    const cap = options.maxBytesBilled ?? this.options.defaultMaxBytesBilled;
    const spec = this.jobSpec(sql, options, cap === undefined ? {} : { maximumBytesBilled: String(Math.floor(cap)) });
    // A dry run creates no job, so its id can never collide; a retry sends the same request again.
    const jobId = randomUUID();
    return this.call(() => this.jobs.dryRunQueryJob(jobId, spec));
  }

  /**
   * BigQuery classifies the text itself: a dry run (free, runs nothing) reports its statementType — SCRIPT for
   * several statements — and its bytes. Only a SELECT within the bytes cap runs, with `maximumBytesBilled` so
   * BigQuery enforces the cap again on what it actually bills. A SELECT job without a destination writes nothing.
   */
  async sandboxQuery(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    const plan = await this.dryRunStatistics(sql, {});
    if (plan.statementType === 'SCRIPT') throw new WarehouseError('BigQuery reads this text as a script of several statements; send exactly one SELECT', 'not_single_statement');
    if (plan.statementType !== 'SELECT') {
      throw new WarehouseError(`Only a SELECT runs here; BigQuery reads this text as ${plan.statementType ?? 'an unknown statement type'}`, 'not_read_only');
    }
    if (plan.bytesProcessed > options.maxBytesBilled) {
      throw new WarehouseError(`The query would process ${plan.bytesProcessed} bytes, over the cap of ${options.maxBytesBilled} (ADMIN_QUERY_MAX_BYTES_BILLED)`, 'bytes_limit_exceeded');
    }
    const spec = this.jobSpec(sql, { labels: { purpose: 'operator_query' } }, { maximumBytesBilled: String(options.maxBytesBilled) });
    const { rows, truncated } = await this.runJob(spec, options.signal, { maxRows: options.maxRows, maxBytes: options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES });
    return { rows, truncated };
  }

  /** Offboarding export: the row count first (a free metadata read), then an extract job to `destination` (gs://). */
  async exportTable(ref: TableRef, destination: string): Promise<ExportResult> {
    checkExtractTarget(ref, destination);
    const [meta] = await this.call(() => this.client.dataset(ref.dataset).table(ref.table).getMetadata());
    if ((meta as { type?: string }).type === 'VIEW') return { kind: 'view' };
    const { rows } = await this.query(`SELECT COUNT(*) AS n FROM \`${ref.dataset}.${ref.table}\``);
    await extractToParquet(this.client, this.options.location, ref, destination);
    return { kind: 'table', rows: Number(rows[0]?.['n'] ?? 0), destination };
  }
}
