import { AsyncLocalStorage } from 'node:async_hooks';
import { WarehouseError } from './types';
import type { ColumnSchema, DryRunResult, ExportResult, InsertOptions, QueryOptions, QueryResult, Row, SandboxOptions, SandboxResult, TableRef, TableSpec, Warehouse } from './types';

/**
 * Deadlines of the platform's warehouse calls. The process's warehouse is wrapped once (`withWarehouseDeadlines`, in
 * src/system/clients.ts), so every call — whichever service makes it — takes at most:
 *  - API_WAREHOUSE_TIMEOUT_MS while an API request is served: the API serves each request inside
 *    `withWarehouseDeadline` (run reads, run lists, audit, webhooks, validate's dry runs, onboarding, offboarding);
 *  - PLATFORM_WAREHOUSE_TIMEOUT_MS anywhere else, with no scope to enter: the scheduler tick, maintenance jobs
 *    (deferred queue, usage refresh, day close, log reconciliation, orphan cleanup), the run log writer, the audit
 *    flush, batch dispatch, webhook bookkeeping, a run's start (the tenant's settings), readiness, boot.
 * Work a request starts and does not wait for (a log flush a cancellation's row armed) keeps the request's deadline.
 * Each call on its own. A query job past it is cancelled (its signal aborts: BigQuery jobs.cancel, DuckDB interrupt),
 * an insert's request is dropped (no retry after it); any other call is answered at the deadline. Either way the
 * caller gets reason `unavailable`: the API answers 503 DEPENDENCY_UNAVAILABLE, a background loop fails this pass and
 * the next one tries again — a job that stays RUNNING (queued behind the project's slots) or a request that never
 * answers never holds a request, or stops a loop, for as long as it lives.
 * Not bounded here: pipeline steps, which get the unwrapped warehouse (clients.stepWarehouse) and are bounded by
 * their step and run timeouts and cancellation; operator queries (`sandboxQuery`), which carry
 * ADMIN_QUERY_TIMEOUT_MS; offboarding's table exports (`exportTable`), which take as long as the table needs.
 */
export const DEFAULT_API_WAREHOUSE_TIMEOUT_MS = 30_000;

interface Deadline {
  timeoutMs: number;
  /** The setting that gave it, named in the error. */
  setting: string;
}

const requestScope = new AsyncLocalStorage<Deadline>();

/** Runs `fn` (an API request) with a deadline of `timeoutMs` on each warehouse call it makes. */
export function withWarehouseDeadline<T>(timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  return requestScope.run({ timeoutMs, setting: 'API_WAREHOUSE_TIMEOUT_MS' }, fn);
}

export interface WarehouseDeadlines {
  /** Each call outside an API request takes at most this long (PLATFORM_WAREHOUSE_TIMEOUT_MS); unset: not bounded. */
  platformTimeoutMs?: number;
  /**
   * A process that serves only the API (ROLE=api): every call it makes gets API_WAREHOUSE_TIMEOUT_MS, in a request or
   * not, and its requests enter no scope. Node 20 turns on promise hooks for the whole process once an
   * AsyncLocalStorage is used, which every awaited call then pays; a process without workers or scheduler has almost
   * no warehouse call outside a request (boot, the audit flush, log rows a cancellation writes) to tell apart.
   */
  apiOnlyTimeoutMs?: number;
}

export function withWarehouseDeadlines(inner: Warehouse, options: WarehouseDeadlines = {}): Warehouse {
  const outside =
    options.apiOnlyTimeoutMs !== undefined
      ? { timeoutMs: options.apiOnlyTimeoutMs, setting: 'API_WAREHOUSE_TIMEOUT_MS' }
      : options.platformTimeoutMs === undefined
        ? null
        : { timeoutMs: options.platformTimeoutMs, setting: 'PLATFORM_WAREHOUSE_TIMEOUT_MS' };
  return new DeadlineWarehouse(inner, outside);
}

class DeadlineWarehouse implements Warehouse {
  readonly kind: Warehouse['kind'];

  constructor(
    private readonly inner: Warehouse,
    /** The deadline of calls made outside a request; null: none. */
    private readonly outside: Deadline | null,
  ) {
    this.kind = inner.kind;
  }

  /**
   * `call` is answered `unavailable` once the deadline passes; given `cancellable`, it gets the deadline's signal,
   * which then aborts (undefined without a deadline). The timer aborts and answers by itself, and a signal is made
   * only for a call that takes one: on Node 20 an AbortSignal costs microseconds to make, and a listener on one ~15 µs.
   */
  private async bounded<T>(call: (deadline: AbortSignal | undefined) => Promise<T>, cancellable = false): Promise<T> {
    const scope = requestScope.getStore() ?? this.outside;
    if (!scope) return call(undefined);
    const controller = cancellable ? new AbortController() : null;
    const late = (cause?: unknown): WarehouseError =>
      new WarehouseError(`The warehouse did not answer within ${scope.timeoutMs} ms (${scope.setting})`, 'unavailable', cause === undefined ? undefined : { cause });
    let passed = false;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        passed = true;
        controller?.abort();
        reject(late());
      }, scope.timeoutMs);
    });
    try {
      return await Promise.race([call(controller?.signal), deadline]);
    } catch (err) {
      if (passed) throw err instanceof WarehouseError && err.reason === 'unavailable' ? err : late(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  query<R extends Row = Row>(sql: string, options: QueryOptions = {}): Promise<QueryResult<R>> {
    return this.bounded((deadline) => this.inner.query<R>(sql, withSignal(options, deadline)), true);
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
    return this.bounded((deadline) => this.inner.insertRows(ref, rows, withSignal(options ?? {}, deadline)), true);
  }
  sandboxQuery(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    return this.inner.sandboxQuery(sql, options);
  }
  exportTable(ref: TableRef, destination: string): Promise<ExportResult> {
    return this.inner.exportTable(ref, destination);
  }
}

/** The caller's options with the deadline's signal joined to the caller's own. */
function withSignal<O extends { signal?: AbortSignal }>(options: O, deadline: AbortSignal | undefined): O {
  if (!deadline) return options;
  return { ...options, signal: options.signal ? AbortSignal.any([options.signal, deadline]) : deadline };
}
