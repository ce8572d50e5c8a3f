import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, StatementType } from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import type { AppendColumnCache } from './duckdb-append';
import { GroupCommit } from './duckdb-group-commit';
import { acquireDuckDbLock, duckDbLockError, isDuckDbLockError } from './duckdb-lock';
import type { DuckDbLock } from './duckdb-lock';
import { DUCKDB_MACROS } from './duckdb-macros';
import { assertIdentifier, mapDuckDbError } from './duckdb-errors';
import { interruptOnAbort } from './duckdb-interrupt';
import { allowedDirectories, lockDown } from './duckdb-lockdown';
import { copyToParquetSql, exportFilePath } from './duckdb-export';
import type { LockdownOptions } from './duckdb-lockdown';
import { DuckDbPool } from './duckdb-pool';
import { applyResourceLimits } from './duckdb-resources';
import type { DuckDbResourceLimits } from './duckdb-resources';
import { DuckDbSandbox } from './duckdb-sandbox';
import { parseText } from './duckdb-statements';
import { DUCKDB_COLUMN_TYPES, fromDuckDb, toParam } from './duckdb-values';
import { quoteIdent, renderDuckDbSql } from './sql-dialect';
import { WarehouseError } from './types';
import type { ColumnSchema, DryRunResult, ExportResult, InsertOptions, QueryOptions, QueryResult, Row, SandboxOptions, SandboxResult, TableRef, TableSpec, Warehouse } from './types';

/**
 * The embedded warehouse: one DuckDB file, dataset = schema. Partitioning and clustering in a
 * TableSpec are accepted and ignored — DuckDB has no equivalent and needs none at this size (its
 * zone maps prune row groups on sorted inserts anyway); the spec only matters for BigQuery cost.
 */
export interface DuckDbWarehouseOptions {
  /** Database file; ':memory:' for a private in-memory database. */
  path: string;
  /** Connections in the pool, i.e. queries that can run at once. */
  poolSize?: number;
  /** Take the cross-process lock file (default true for files). */
  lock?: boolean;
  /** The one directory outside its own files the instance may use (tenant exports); see duckdb-lockdown.ts. */
  exportsDir?: string;
  /** Memory and temp-disk caps of the instance (duckdb-resources.ts); unset: half the memory, half the free disk. */
  resources?: DuckDbResourceLimits;
}

/** A result column with DuckDB's own type of it. */
export interface DuckDbColumn {
  name: string;
  type: DuckDBType;
}

export type TypedQueryResult = QueryResult & { columns: DuckDbColumn[] };

const DML = new Set<number>([StatementType.INSERT, StatementType.UPDATE, StatementType.DELETE, StatementType.MERGE_INTO]);

const tableSql = (ref: TableRef): string => {
  assertIdentifier('dataset', ref.dataset);
  assertIdentifier('table', ref.table);
  return `${quoteIdent(ref.dataset)}.${quoteIdent(ref.table)}`;
};

export class DuckDbWarehouse implements Warehouse {
  readonly kind = 'duckdb' as const;
  private readonly appendColumns: AppendColumnCache = new Map();
  private readonly appends = new GroupCommit((work) => this.pool.use(work), this.appendColumns);

  private constructor(
    private readonly pool: DuckDbPool,
    private readonly sandbox: DuckDbSandbox,
    private readonly lock: DuckDbLock | null,
    private readonly exportsDir: string | null,
  ) {}

  static async open(options: DuckDbWarehouseOptions): Promise<DuckDbWarehouse> {
    const inMemory = options.path === ':memory:';
    const lockdown: LockdownOptions = { databasePath: options.path, ...(options.exportsDir ? { exportsDir: options.exportsDir } : {}) };
    allowedDirectories(lockdown); // a bad exports directory fails before anything is opened
    if (!inMemory) fs.mkdirSync(path.dirname(options.path), { recursive: true });
    const lock = !inMemory && options.lock !== false ? acquireDuckDbLock(options.path) : null;
    let pool: DuckDbPool | undefined;
    try {
      const instance = await DuckDBInstance.create(options.path).catch((err: unknown) => {
        throw isDuckDbLockError(err) ? duckDbLockError(options.path, err) : err;
      });
      pool = await DuckDbPool.create(instance, options.poolSize ?? 4);
      await pool.use(async (conn) => {
        // Global, so every connection (the sandbox's too) reads and writes timestamps in UTC; set before the lock.
        await conn.run(`SET GLOBAL TimeZone = 'UTC'`);
        for (const macro of DUCKDB_MACROS) await conn.run(macro);
        await applyResourceLimits(conn, options.path, options.resources ?? {});
        await lockDown(conn, lockdown);
      });
      return new DuckDbWarehouse(pool, await DuckDbSandbox.open(instance), lock, options.exportsDir ?? null);
    } catch (err) {
      await pool?.close();
      lock?.release();
      throw err;
    }
  }

  async ping(): Promise<void> {
    await this.run('SELECT 1 AS ok', {}, {});
  }

  async close(): Promise<void> {
    await this.sandbox.close();
    await this.pool.close();
    this.lock?.release();
  }

  async datasetExists(dataset: string): Promise<boolean> {
    assertIdentifier('dataset', dataset);
    const { rows } = await this.run(
      'SELECT 1 AS found FROM information_schema.schemata WHERE catalog_name = current_database() AND schema_name = $d',
      { d: dataset },
      {},
    );
    return rows.length > 0;
  }

  async createDataset(dataset: string): Promise<boolean> {
    if (await this.datasetExists(dataset)) return false;
    await this.ddl(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(dataset)}`);
    return true;
  }

  async dropDataset(dataset: string): Promise<void> {
    assertIdentifier('dataset', dataset);
    await this.ddl(`DROP SCHEMA IF EXISTS ${quoteIdent(dataset)} CASCADE`);
  }

  private async tableType(ref: TableRef): Promise<string | null> {
    tableSql(ref);
    const { rows } = await this.run(
      `SELECT table_type FROM information_schema.tables
       WHERE table_catalog = current_database() AND table_schema = $d AND table_name = $t`,
      { d: ref.dataset, t: ref.table },
      {},
    );
    const t = rows[0]?.['table_type'];
    return typeof t === 'string' ? t : null;
  }

  async tableExists(ref: TableRef): Promise<boolean> {
    return (await this.tableType(ref)) !== null;
  }

  async createTable(ref: TableRef, spec: TableSpec): Promise<boolean> {
    const name = tableSql(ref);
    if (await this.tableExists(ref)) return false;
    if (spec.columns.length === 0) throw new WarehouseError(`Table ${ref.table} needs at least one column`, 'invalid_query');
    const cols = spec.columns.map((c) => {
      assertIdentifier('column', c.name);
      return `${quoteIdent(c.name)} ${DUCKDB_COLUMN_TYPES[c.type]}${c.mode === 'REQUIRED' ? ' NOT NULL' : ''}`;
    });
    try {
      await this.ddl(`CREATE TABLE ${name} (${cols.join(', ')})`);
      return true;
    } catch (err) {
      if (err instanceof WarehouseError && err.reason === 'already_exists') return false;
      throw err;
    }
  }

  async addColumns(ref: TableRef, columns: ColumnSchema[]): Promise<void> {
    for (const c of columns) {
      assertIdentifier('column', c.name);
      await this.ddl(`ALTER TABLE ${tableSql(ref)} ADD COLUMN IF NOT EXISTS ${quoteIdent(c.name)} ${DUCKDB_COLUMN_TYPES[c.type]}`);
    }
  }

  async dropTable(ref: TableRef): Promise<void> {
    const type = await this.tableType(ref);
    if (type === null) return;
    await this.ddl(`DROP ${type === 'VIEW' ? 'VIEW' : 'TABLE'} IF EXISTS ${tableSql(ref)}`);
  }

  async createView(ref: TableRef, sql: string): Promise<void> {
    const rendered = renderDuckDbSql(sql);
    if (rendered.params.length > 0) throw new WarehouseError('A view cannot take query parameters', 'invalid_query');
    await this.ddl(`CREATE OR REPLACE VIEW ${tableSql(ref)} AS ${rendered.sql}`);
  }

  async listTables(dataset: string): Promise<string[]> {
    assertIdentifier('dataset', dataset);
    const { rows } = await this.run(
      `SELECT table_name FROM information_schema.tables
       WHERE table_catalog = current_database() AND table_schema = $d ORDER BY table_name`,
      { d: dataset },
      {},
    );
    return rows.map((r) => String(r['table_name']));
  }

  /** All rows or none (appendRows); insert ids are not needed here (one process, no retried streaming requests). */
  async insertRows(ref: TableRef, rows: Row[], options: InsertOptions = {}): Promise<void> {
    if (rows.length === 0) return;
    tableSql(ref);
    if (options.signal?.aborted) throw new WarehouseError('Insert cancelled', 'cancelled');
    await this.appends.append({ ref, rows });
  }

  async query<R extends Row = Row>(sql: string, options: QueryOptions = {}): Promise<QueryResult<R>> {
    const { columns: _columns, ...result } = await this.queryWithColumnTypes(sql, options);
    return result as QueryResult<R>;
  }

  /** `query` plus DuckDB's type of each result column; not part of the Warehouse contract. */
  async queryWithColumnTypes(sql: string, options: QueryOptions = {}): Promise<TypedQueryResult> {
    const jsonParams = Object.entries(options.paramTypes ?? {}).filter(([, t]) => t === 'JSON');
    const rendered = renderDuckDbSql(sql, { castParams: Object.fromEntries(jsonParams.map(([n]) => [n, 'JSON'])) });
    const values: Record<string, DuckDBValue> = {};
    const types: Record<string, DuckDBType | undefined> = {};
    for (const name of rendered.params) {
      const value = options.params?.[name];
      if (value === undefined) throw new WarehouseError(`Query parameter @${name} was not provided`, 'invalid_query');
      const bound = toParam(name, value, options.paramTypes?.[name]);
      values[name] = bound.value;
      types[name] = bound.type;
    }
    return this.run(rendered.sql, values, types, options.signal);
  }

  /** DuckDB cannot estimate bytes; the statement is still prepared so an invalid query fails here too. */
  async dryRun(sql: string): Promise<DryRunResult | null> {
    const rendered = renderDuckDbSql(sql);
    await this.pool.use(async (conn) => {
      try {
        const prepared = await conn.prepare(rendered.sql);
        prepared.destroySync();
      } catch (err) {
        throw mapDuckDbError(err);
      }
    });
    return null;
  }

  sandboxQuery(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    return this.sandbox.query(sql, options);
  }

  /** Offboarding export: a COPY into the exports directory, the only place the lockdown lets this instance write. */
  async exportTable(ref: TableRef, destination: string): Promise<ExportResult> {
    const type = await this.tableType(ref);
    if (type === null) throw new WarehouseError(`Table ${ref.dataset}.${ref.table} not found`, 'not_found');
    if (type === 'VIEW') return { kind: 'view' };
    const file = exportFilePath(this.exportsDir, destination);
    const { rows } = await this.run(copyToParquetSql(tableSql(ref), file), {}, {});
    return { kind: 'table', rows: Number(rows[0]?.['Count'] ?? 0), destination: file };
  }

  /**
   * How DuckDB's parser reads a text (after rendering): the number of statements and, for one, its type; the
   * statement is prepared, so an invalid one fails here. Not part of the contract (the fake BigQuery server's dry run uses it).
   */
  async parseStatements(sql: string): Promise<{ count: number; type: StatementType | null }> {
    const rendered = renderDuckDbSql(sql);
    return this.pool.use(async (conn) => {
      try {
        const { count, single } = await parseText(conn, rendered.sql);
        const type = single?.statementType ?? null;
        single?.destroySync();
        return { count, type };
      } catch (err) {
        throw mapDuckDbError(err);
      }
    });
  }

  /** DDL retried on DuckDB's optimistic catalog conflicts (two writers creating the same object). */
  private async ddl(sql: string): Promise<void> {
    // Any DDL may change a table the log appends write to: their cached column lists start over.
    this.appendColumns.clear();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.run(sql, {}, {});
        this.appendColumns.clear();
        return;
      } catch (err) {
        const conflict = err instanceof WarehouseError && /conflict/i.test(err.message);
        if (!conflict || attempt >= 5) throw err;
      }
    }
  }

  private async run(
    sql: string,
    values: Record<string, DuckDBValue>,
    types: Record<string, DuckDBType | undefined>,
    signal?: AbortSignal,
  ): Promise<TypedQueryResult> {
    if (signal?.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
    return this.pool.use(async (conn) => {
      const stopInterrupting = interruptOnAbort(conn, signal);
      try {
        // Aborted while waiting for a pooled connection: the listener came too late to hear it.
        if (signal?.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
        const hasParams = Object.keys(values).length > 0;
        const reader = await conn.runAndReadAll(sql, hasParams ? values : undefined, hasParams ? types : undefined);
        if (DML.has(reader.statementType)) return { rows: [], affectedRows: reader.rowsChanged, columns: [] };
        const names = reader.deduplicatedColumnNames();
        const colTypes = reader.columnTypes();
        const columns = names.map((name, i): DuckDbColumn => ({ name, type: colTypes[i] as DuckDBType }));
        const rows = reader.getRows().map((raw) => {
          const row: Row = {};
          names.forEach((name, i) => {
            row[name] = fromDuckDb(raw[i] ?? null, colTypes[i] as DuckDBType);
          });
          return row;
        });
        return { rows, columns };
      } catch (err) {
        throw mapDuckDbError(err, signal);
      } finally {
        stopInterrupting();
      }
    });
  }
}
