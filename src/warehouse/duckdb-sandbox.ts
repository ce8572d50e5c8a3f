import { StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement, DuckDBType } from '@duckdb/node-api';
import { mapDuckDbError } from './duckdb-errors';
import { interruptOnAbort } from './duckdb-interrupt';
import { disallowedTableFunctions, tableFunctionNames } from './duckdb-plan';
import { prepareSingle, statementTypeName } from './duckdb-statements';
import { fromDuckDb } from './duckdb-values';
import { renderDuckDbSql } from './sql-dialect';
import { WarehouseError } from './types';
import type { Row, SandboxOptions, SandboxResult } from './types';

/**
 * Operator queries on the embedded warehouse, isolated by DuckDB itself (the instance runs with external access
 * off and its configuration locked, see duckdb-lockdown.ts):
 *  - a connection of their own, never one of the pool's, so nothing an operator runs can disturb the pipelines'
 *    connections; one query at a time on it;
 *  - exactly one statement as DuckDB's parser splits the text, and that statement's prepared type is SELECT;
 *  - every table function in the plan DuckDB binds for it is a reader (duckdb-plan.ts);
 *  - it runs in a READ ONLY transaction that is always rolled back;
 *  - rows are streamed and reading stops at the first row past the cap.
 */
export class DuckDbSandbox {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly instance: DuckDBInstance,
    private conn: DuckDBConnection,
    private readonly tableFunctions: ReadonlySet<string>,
  ) {}

  static async open(instance: DuckDBInstance): Promise<DuckDbSandbox> {
    const conn = await instance.connect();
    return new DuckDbSandbox(instance, conn, await tableFunctionNames(conn));
  }

  query(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    const result = this.tail.then(() => this.run(sql, options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Interrupts a running query, waits for it (bounded) and closes the connection. Before the instance closes. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const repeat = setInterval(() => this.conn.interrupt(), 10);
    const deadline = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([this.tail, deadline]);
    clearInterval(repeat);
    this.conn.closeSync();
  }

  private async run(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    if (this.closed) throw new WarehouseError('The DuckDB warehouse is closed', 'unavailable');
    const { signal } = options;
    const rendered = renderDuckDbSql(sql);
    if (rendered.params.length > 0) {
      throw new WarehouseError(`Operator queries take no parameters (found @${rendered.params.join(', @')}); write the values into the text`, 'invalid_query');
    }
    const conn = this.conn;
    const stopInterrupting = interruptOnAbort(conn, signal);
    let prepared: DuckDBPreparedStatement | undefined;
    try {
      if (signal?.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
      await conn.run('BEGIN TRANSACTION READ ONLY');
      try {
        prepared = await prepareSingle(conn, rendered.sql);
        if (prepared.statementType !== StatementType.SELECT) {
          throw new WarehouseError(`Only a SELECT runs here; DuckDB reads this text as ${statementTypeName(prepared.statementType)}`, 'not_read_only');
        }
        await this.assertReadsOnly(conn, rendered.sql);
        return await readCapped(prepared, options.maxRows);
      } finally {
        prepared?.destroySync();
        await this.rollback();
      }
    } catch (err) {
      throw mapDuckDbError(err, signal);
    } finally {
      stopInterrupting();
    }
  }

  private async assertReadsOnly(conn: DuckDBConnection, sql: string): Promise<void> {
    // Binding (which EXPLAIN does) runs nothing; a file, URL or glob argument is refused here by the lockdown.
    const explain = await prepareSingle(conn, `EXPLAIN (FORMAT json) ${sql}`);
    try {
      if (explain.statementType !== StatementType.EXPLAIN) throw new WarehouseError('The statement cannot be explained', 'not_read_only');
      const reader = await explain.runAndReadAll();
      const bad = reader.getRows().flatMap((row) => disallowedTableFunctions(String(row[1] ?? '[]'), this.tableFunctions));
      if (bad.length > 0) {
        throw new WarehouseError(`Table function ${[...new Set(bad)].join(', ')} is not available here: operator queries read tables, views and the catalog only`, 'function_not_allowed');
      }
    } finally {
      explain.destroySync();
    }
  }

  /** A connection left inside a transaction would refuse the next BEGIN; replace it rather than keep it. */
  private async rollback(): Promise<void> {
    try {
      await this.conn.run('ROLLBACK');
    } catch {
      const broken = this.conn;
      this.conn = await this.instance.connect();
      broken.closeSync();
    }
  }
}

async function readCapped(prepared: DuckDBPreparedStatement, maxRows: number): Promise<SandboxResult> {
  const result = await prepared.stream();
  const names = result.deduplicatedColumnNames();
  const types = result.columnTypes();
  const rows: Row[] = [];
  while (rows.length <= maxRows) {
    const chunk = await result.fetchChunk();
    if (!chunk || chunk.rowCount === 0) break;
    for (const raw of chunk.getRows()) {
      if (rows.length > maxRows) break;
      const row: Row = {};
      names.forEach((name, i) => {
        row[name] = fromDuckDb(raw[i] ?? null, types[i] as DuckDBType);
      });
      rows.push(row);
    }
  }
  const truncated = rows.length > maxRows;
  return { rows: truncated ? rows.slice(0, maxRows) : rows, truncated };
}
