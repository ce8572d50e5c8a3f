/**
 * The Warehouse contract. Both adapters (DuckDB, BigQuery) implement it and pass one contract suite.
 *
 * SQL dialect accepted by `query`: BigQuery standard SQL as far as both engines share it, with
 *  - table references written `` `dataset.table` `` (backticks; the adapter renders them), and
 *  - values only as named parameters `@name` (the adapter binds them; nothing is spliced).
 * Identifiers that reach SQL text were validated against an allow-list before (see shared/ids).
 */
export type ColumnType = 'STRING' | 'INT64' | 'FLOAT64' | 'NUMERIC' | 'BOOL' | 'DATE' | 'TIMESTAMP' | 'JSON' | 'BYTES';

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  mode?: 'NULLABLE' | 'REQUIRED';
  description?: string;
}

export interface TableSpec {
  columns: ColumnSchema[];
  /** Time partitioning on a DATE or TIMESTAMP column (DAY granularity). */
  partitionBy?: { column: string };
  clusterBy?: string[];
  description?: string;
}

export interface TableRef {
  dataset: string;
  table: string;
}

/** A bound value. `Date` binds as TIMESTAMP unless a type hint says DATE. */
export type QueryValue = string | number | boolean | bigint | Date | null | Buffer;
export type QueryParams = Record<string, QueryValue>;

export interface QueryOptions {
  params?: QueryParams;
  /** Types for parameters whose JS value is ambiguous (null, DATE strings, JSON). */
  paramTypes?: Record<string, ColumnType>;
  /** Aborting cancels the running warehouse job (DuckDB interrupt, BigQuery jobs.cancel). */
  signal?: AbortSignal;
  /** Labels attached to the job (BigQuery) for cost attribution. */
  labels?: Record<string, string>;
  /**
   * BigQuery `maximumBytesBilled` of the job: BigQuery refuses (reason bytesBilledLimitExceeded, nothing billed) a
   * job that would bill more; the adapter then throws reason `bytes_limit_exceeded`. Given, the result also
   * carries `bytesBilled`. Unused on DuckDB, which bills nothing.
   */
  maxBytesBilled?: number;
}

/** Rows come back as plain objects: INT64 as number (or string beyond 2^53), DATE as 'YYYY-MM-DD', TIMESTAMP as ISO string, JSON as parsed value. */
export type Row = Record<string, unknown>;

export interface QueryResult<R extends Row = Row> {
  rows: R[];
  /** Rows changed by a DML statement, when the engine reports it. */
  affectedRows?: number;
  /** Bytes processed as reported by the engine (BigQuery); undefined on DuckDB. */
  bytesProcessed?: number;
  /** Bytes billed as BigQuery reports them (job statistics), when the query carried `maxBytesBilled`; undefined on DuckDB. */
  bytesBilled?: number;
}

export interface InsertOptions {
  /** One id per row; BigQuery uses them for best-effort de-duplication of retried inserts. */
  insertIds?: string[];
  /**
   * Aborting gives the insert up: BigQuery drops its request and sends no retry (rows of a chunk already
   * accepted stay); DuckDB, whose appends are local and short, only refuses to start one. Rejects `cancelled`.
   */
  signal?: AbortSignal;
}

export interface DryRunResult {
  bytesProcessed: number;
}

/** Limits of one operator query (`sandboxQuery`). */
export interface SandboxOptions {
  /** Rows returned at most; reading stops at the row after it, which only sets `truncated`. */
  maxRows: number;
  /** BigQuery `maximumBytesBilled` (also checked against the dry-run estimate first); unused on DuckDB, which bills nothing. */
  maxBytesBilled: number;
  /**
   * The rows' size in the JSON answer at most (ADMIN_QUERY_MAX_RESULT_BYTES; default 32 MiB, result-budget.ts):
   * reading stops before the row that would pass it, which only sets `truncated`.
   */
  maxResultBytes?: number;
  /**
   * Aborting interrupts the query (DuckDB interrupt, BigQuery jobs.cancel) and answers `cancelled` at once, even
   * while the engine has not stopped yet.
   */
  signal?: AbortSignal;
}

export interface SandboxResult {
  rows: Row[];
  /** More rows existed than `maxRows`, or than fit in `maxResultBytes`. */
  truncated: boolean;
}

export interface Warehouse {
  readonly kind: 'duckdb' | 'bigquery';
  /** Checks the warehouse answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;

  datasetExists(dataset: string): Promise<boolean>;
  /** Creates the dataset; returns false when it already existed. */
  createDataset(dataset: string, options?: { description?: string }): Promise<boolean>;
  /** Drops the dataset and everything in it; no error when absent. */
  dropDataset(dataset: string): Promise<void>;

  tableExists(ref: TableRef): Promise<boolean>;
  /** Creates the table from its schema; returns false when it already existed. */
  createTable(ref: TableRef, spec: TableSpec): Promise<boolean>;
  dropTable(ref: TableRef): Promise<void>;
  /** Adds the columns (NULLABLE) the table does not have yet; present ones are left alone. Evolves a table's schema. */
  addColumns(ref: TableRef, columns: ColumnSchema[]): Promise<void>;
  /** Creates or replaces a view defined by `sql` (same dialect as `query`, no parameters). */
  createView(ref: TableRef, sql: string): Promise<void>;
  /** Lists the tables and views of a dataset. */
  listTables(dataset: string): Promise<string[]>;

  /** Appends rows (batched; BigQuery streaming insert with insert ids, DuckDB appender/INSERT). */
  insertRows(ref: TableRef, rows: Row[], options?: InsertOptions): Promise<void>;
  query<R extends Row = Row>(sql: string, options?: QueryOptions): Promise<QueryResult<R>>;
  /** Estimated bytes a query would process; null where the engine cannot estimate (DuckDB). */
  dryRun(sql: string, options?: QueryOptions): Promise<DryRunResult | null>;
  /**
   * Runs one read-only SELECT for an operator (the guide's SQL) inside the engine's own isolation, never a keyword
   * filter: exactly one statement as the engine parses it, SELECT as the engine classifies it, no external access,
   * nothing written. Refusals are WarehouseErrors with the `Refusal` reasons below.
   */
  sandboxQuery(sql: string, options: SandboxOptions): Promise<SandboxResult>;
  /**
   * Writes one table as Parquet for tenant offboarding, through a path the adapter owns (never operator or
   * template SQL): DuckDB a COPY to a file inside its exports directory (the only place its lockdown lets it
   * write; anything else is refused with `access_denied`), BigQuery an extract job to a `gs://` URI.
   */
  exportTable(ref: TableRef, destination: string): Promise<ExportResult>;
}

/** What `exportTable` did: a table's rows written as Parquet, or a view skipped (its rows live in the tables it reads). */
export type ExportResult = { kind: 'table'; rows: number; destination: string } | { kind: 'view' };

/** Why `sandboxQuery` refused a text before or while running it. */
export type Refusal = 'not_single_statement' | 'not_read_only' | 'function_not_allowed' | 'access_denied' | 'bytes_limit_exceeded';

export class WarehouseError extends Error {
  /**
   * A query job given up on after it started — cancelled on request, or its results or billing figures could not be
   * read — by a warehouse that bills (BigQuery, when the caller asked for billing): what the job billed, once the
   * warehouse says it is done; null when it cannot tell (the caller assumes the most the job may bill). The error
   * does not wait for it.
   */
  readonly billedBytes?: Promise<number | null>;

  constructor(
    message: string,
    /**
     * `unavailable`: the warehouse cannot serve now (down, overloaded, out of quota, or past a request's deadline);
     * `permission_denied`: it refuses the platform's own credentials (BigQuery accessDenied, 401) — an operator must
     * fix the service account's access, no request can.
     */
    readonly reason: 'not_found' | 'already_exists' | 'invalid_query' | 'cancelled' | 'unavailable' | 'permission_denied' | 'unknown' | Refusal,
    options?: { cause?: unknown; billedBytes?: Promise<number | null> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WarehouseError';
    if (options?.billedBytes) this.billedBytes = options.billedBytes;
  }
}
