import { AsyncLocalStorage } from 'node:async_hooks';
import { WarehouseError } from './types';
import type { ColumnSchema, DryRunResult, ExportResult, InsertOptions, QueryOptions, QueryResult, Row, SandboxOptions, SandboxResult, TableRef, TableSpec, Warehouse } from './types';

/**
 * Deadlines of the warehouse calls an API request makes (API_WAREHOUSE_TIMEOUT_MS). The API serves each request
 * inside `withWarehouseDeadline`, and the process's warehouse is wrapped once (`withRequestDeadlines`, in
 * src/system/clients.ts), so every call a request makes — whichever service makes it: run reads, run lists, audit,
 * webhooks, validate's dry runs — takes at most that long, each call on its own. A query job past it is cancelled
 * (its signal aborts: BigQuery jobs.cancel, DuckDB interrupt); any other call is answered at the deadline. Either
 * way the caller gets reason `unavailable`, which the API answers 503 DEPENDENCY_UNAVAILABLE: a job that stays
 * RUNNING (queued behind the project's slots) never holds a request for as long as it lives.
 * Outside a request (workers, scheduler, maintenance) calls are unchanged. Not bounded: operator queries, which
 * carry ADMIN_QUERY_TIMEOUT_MS, and offboarding's table exports, which take as long as the table needs.
 */
export const DEFAULT_API_WAREHOUSE_TIMEOUT_MS = 30_000;

const requestScope = new AsyncLocalStorage<{ timeoutMs: number }>();

/** Runs `fn` (an API request) with a deadline of `timeoutMs` on each warehouse call it makes. */
export function withWarehouseDeadline<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return requestScope.run({ timeoutMs }, fn);
}

export function withRequestDeadlines(inner: Warehouse): Warehouse {
  return new RequestDeadlineWarehouse(inner);
}

class RequestDeadlineWarehouse implements Warehouse {
  readonly kind: Warehouse['kind'];

  constructor(private readonly inner: Warehouse) {
    this.kind = inner.kind;
  }

  /** `call` gets the deadline's signal (undefined outside a request) and is answered `unavailable` once it passes. */
  private async bounded<T>(call: (deadline: AbortSignal | undefined) => Promise<T>): Promise<T> {
    const scope = requestScope.getStore();
    if (!scope) return call(undefined);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), scope.timeoutMs);
    const late = (cause?: unknown): WarehouseError =>
      new WarehouseError(`The warehouse did not answer within ${scope.timeoutMs} ms (API_WAREHOUSE_TIMEOUT_MS)`, 'unavailable', cause === undefined ? undefined : { cause });
    let onAbort: () => void = () => undefined;
    const passed = new Promise<never>((_resolve, reject) => {
      onAbort = () => reject(late());
      controller.signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([call(controller.signal), passed]);
    } catch (err) {
      if (controller.signal.aborted) throw err instanceof WarehouseError && err.reason === 'unavailable' ? err : late(err);
      throw err;
    } finally {
      clearTimeout(timer);
      controller.signal.removeEventListener('abort', onAbort);
    }
  }

  query<R extends Row = Row>(sql: string, options: QueryOptions = {}): Promise<QueryResult<R>> {
    return this.bounded((deadline) => {
      const signal = deadline && options.signal ? AbortSignal.any([options.signal, deadline]) : (deadline ?? options.signal);
      return this.inner.query<R>(sql, { ...options, ...(signal ? { signal } : {}) });
    });
  }
  dryRun(sql: string, options?: QueryOptions): Promise<DryRunResult | null> {
    return this.bounded(() => this.inner.dryRun(sql, options));
  }
  ping(): Promise<void> {
    return this.bounded(() => this.inner.ping());
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  datasetExists(dataset: string): Promise<boolean> {
    return this.bounded(() => this.inner.datasetExists(dataset));
  }
  createDataset(dataset: string, options?: { description?: string }): Promise<boolean> {
    return this.bounded(() => this.inner.createDataset(dataset, options));
  }
  dropDataset(dataset: string): Promise<void> {
    return this.bounded(() => this.inner.dropDataset(dataset));
  }
  tableExists(ref: TableRef): Promise<boolean> {
    return this.bounded(() => this.inner.tableExists(ref));
  }
  createTable(ref: TableRef, spec: TableSpec): Promise<boolean> {
    return this.bounded(() => this.inner.createTable(ref, spec));
  }
  dropTable(ref: TableRef): Promise<void> {
    return this.bounded(() => this.inner.dropTable(ref));
  }
  addColumns(ref: TableRef, columns: ColumnSchema[]): Promise<void> {
    return this.bounded(() => this.inner.addColumns(ref, columns));
  }
  createView(ref: TableRef, sql: string): Promise<void> {
    return this.bounded(() => this.inner.createView(ref, sql));
  }
  listTables(dataset: string): Promise<string[]> {
    return this.bounded(() => this.inner.listTables(dataset));
  }
  insertRows(ref: TableRef, rows: Row[], options?: InsertOptions): Promise<void> {
    return this.bounded(() => this.inner.insertRows(ref, rows, options));
  }
  sandboxQuery(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    return this.inner.sandboxQuery(sql, options);
  }
  exportTable(ref: TableRef, destination: string): Promise<ExportResult> {
    return this.inner.exportTable(ref, destination);
  }
}
