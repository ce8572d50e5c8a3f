import { StatementType } from '@duckdb/node-api';
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { mapDuckDbError } from './duckdb-errors';
import { interruptOnAbort } from './duckdb-interrupt';
import { disallowedTableFunctions, tableFunctionNames } from './duckdb-plan';
import { readCapped } from './duckdb-sandbox-read';
import { extractSingle, prepareSingle, statementTypeName } from './duckdb-statements';
import { assertUnboundReadsOnly } from './duckdb-unbound';
import { DEFAULT_MAX_RESULT_BYTES } from './result-budget';
import { renderDuckDbSql } from './sql-dialect';
import { WarehouseError } from './types';
import type { SandboxOptions, SandboxResult } from './types';

/**
 * Operator queries on the embedded warehouse, isolated by DuckDB itself (the instance runs with external access
 * off, memory and temp space capped and its configuration locked, see duckdb-lockdown.ts):
 *  - a connection of their own, never one of the pool's, so nothing an operator runs can disturb the pipelines'
 *    connections; one query at a time on it;
 *  - exactly one statement as DuckDB's parser splits the text; its parse tree, before anything is bound, is a
 *    SELECT that names no table function but readers and no table but the catalog's (duckdb-unbound.ts), so
 *    binding reads no file; its prepared type is SELECT;
 *  - every table function in the plan DuckDB binds for it is a reader (duckdb-plan.ts: views, query() expanded);
 *  - it runs in a READ ONLY transaction that is always rolled back;
 *  - rows are streamed and reading stops at the first row past the row cap or the byte budget;
 *  - at the deadline (the signal) the caller gets its answer: DuckDB checks interrupts only between vectors, so a
 *    statement that never reaches a check keeps running, on a connection retired for it, closed when it ends.
 */

/** After the signal, how long a statement has to stop on the interrupt before its connection is retired. */
const RETIRE_AFTER_MS = 250;
/** Retired connections still running at most; past them operator queries are refused until one ends. */
const MAX_RETIRED = 2;

export class DuckDbSandbox {
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;
  private conn: DuckDBConnection | null;
  /** Connections whose statement passed its deadline and still runs, with that statement's end. */
  private readonly retired = new Map<DuckDBConnection, Promise<unknown>>();

  private constructor(
    private readonly instance: DuckDBInstance,
    conn: DuckDBConnection,
    private readonly tableFunctions: ReadonlySet<string>,
  ) {
    this.conn = conn;
  }

  static async open(instance: DuckDBInstance): Promise<DuckDbSandbox> {
    const conn = await instance.connect();
    return new DuckDbSandbox(instance, conn, await tableFunctionNames(conn));
  }

  query(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    const result = this.tail.then(() => this.runUntilDeadline(sql, options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Interrupts running queries, waits for them (bounded) and closes the connections. Before the instance closes. */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const conns = [...(this.conn ? [this.conn] : []), ...this.retired.keys()];
    const repeat = setInterval(() => conns.forEach((conn) => conn.interrupt()), 10);
    const deadline = new Promise((resolve) => setTimeout(resolve, graceMs).unref());
    await Promise.race([Promise.all([this.tail, ...this.retired.values()]), deadline]);
    clearInterval(repeat);
    this.retired.clear();
    this.conn = null;
    for (const conn of conns) conn.closeSync();
  }

  private async runUntilDeadline(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    if (this.closed) throw new WarehouseError('The DuckDB warehouse is closed', 'unavailable');
    if (this.retired.size >= MAX_RETIRED) {
      throw new WarehouseError(`${this.retired.size} earlier operator queries passed their time limit and still run in DuckDB, which cannot interrupt them; retry when they end`, 'unavailable');
    }
    const conn = this.conn ?? (this.conn = await this.instance.connect());
    // close() may have run while the connection was being opened: it did not see this one.
    if (this.closed) {
      if (this.conn === conn) this.conn = null;
      conn.closeSync();
      throw new WarehouseError('The DuckDB warehouse is closed', 'unavailable');
    }
    const work = this.run(conn, sql, options);
    const { signal } = options;
    if (!signal || signal.aborted) return work;
    return new Promise<SandboxResult>((resolve, reject) => {
      let retireTimer: NodeJS.Timeout | undefined;
      const onAbort = (): void => {
        retireTimer = setTimeout(() => {
          this.retire(conn, work);
          reject(new WarehouseError('Query cancelled', 'cancelled'));
        }, RETIRE_AFTER_MS);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => {
        clearTimeout(retireTimer);
        signal.removeEventListener('abort', onAbort);
      });
    });
  }

  /** The next query gets a fresh connection; this one is closed once its statement ends. */
  private retire(conn: DuckDBConnection, work: Promise<unknown>): void {
    if (this.conn === conn) this.conn = null;
    const ended = work.then(
      () => undefined,
      () => undefined,
    );
    this.retired.set(conn, ended);
    void ended.then(() => {
      // close() may have closed it already.
      if (this.retired.delete(conn)) conn.closeSync();
    });
  }

  private async run(conn: DuckDBConnection, sql: string, options: SandboxOptions): Promise<SandboxResult> {
    const { signal } = options;
    const rendered = renderDuckDbSql(sql);
    if (rendered.params.length > 0) {
      throw new WarehouseError(`Operator queries take no parameters (found @${rendered.params.join(', @')}); write the values into the text`, 'invalid_query');
    }
    const stopInterrupting = interruptOnAbort(conn, signal);
    let prepared: DuckDBPreparedStatement | undefined;
    try {
      if (signal?.aborted) throw new WarehouseError('Query cancelled', 'cancelled');
      await conn.run('BEGIN TRANSACTION READ ONLY');
      try {
        const prepare = await extractSingle(conn, rendered.sql);
        await assertUnboundReadsOnly(conn, rendered.sql, this.tableFunctions);
        prepared = await prepare();
        if (prepared.statementType !== StatementType.SELECT) {
          throw new WarehouseError(`Only a SELECT runs here; DuckDB reads this text as ${statementTypeName(prepared.statementType)}`, 'not_read_only');
        }
        await this.assertPlanReadsOnly(conn, rendered.sql);
        return await readCapped(prepared, options.maxRows, options.maxResultBytes ?? DEFAULT_MAX_RESULT_BYTES);
      } finally {
        prepared?.destroySync();
        await this.rollback(conn);
      }
    } catch (err) {
      throw mapDuckDbError(err, signal);
    } finally {
      stopInterrupting();
    }
  }

  private async assertPlanReadsOnly(conn: DuckDBConnection, sql: string): Promise<void> {
    // The parse tree was checked before anything was bound; the plan also holds what views and query() expand to.
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
  private async rollback(conn: DuckDBConnection): Promise<void> {
    try {
      await conn.run('ROLLBACK');
    } catch {
      if (this.conn !== conn) return; // retired: closed when its statement ends
      this.conn = null;
      conn.closeSync();
    }
  }
}
