import { bytesLimitExceeded, costUsd, formatBytes } from '../shared/bytes-limit';
import { WarehouseError } from '../warehouse/types';
import type { PendingWork } from '../shared/pending-work';
import type { ColumnSchema, DryRunResult, ExportResult, InsertOptions, QueryOptions, QueryResult, Row, SandboxOptions, SandboxResult, TableRef, TableSpec, Warehouse } from '../warehouse/types';

/**
 * The warehouse a pipeline step sees on BigQuery: every query job is estimated by a dry run, reserves its bytes
 * from the tenant's daily budget (refused with BYTES_LIMIT_EXCEEDED, naming estimate and limit, before anything
 * runs), runs with `maximumBytesBilled` = the grant, and settles the reservation to what BigQuery billed — or
 * releases it when the job fails. A job given up on (cancelled, or unreadable) settles once BigQuery reports what
 * it billed. The meter adds up the step's bytes for its log row.
 * DuckDB has no byte figures (its dry run is a prepare; EXPLAIN estimates rows, not bytes), so steps there run
 * on the plain warehouse and record unknown (null).
 */
export interface BytesReservationPort {
  id: string;
  grantedBytes: number;
  /** The tenant's plan as the reserve read it (null: unknown), so the per-plan metric needs no read of its own. */
  plan: string | null;
}

/** What the step runner needs of the tenant's budget (src/tenants/bytes-budget.ts). */
export interface BytesBudgetPort<R extends BytesReservationPort = BytesReservationPort> {
  reserve(tenantId: string, reservationId: string, estimatedBytes: number): Promise<R>;
  settle(reservation: R, billedBytes: number): Promise<void>;
}

export interface CostGuard {
  budget: BytesBudgetPort;
  pricePerTibUsd: number;
  /** Bytes BigQuery billed for one job of the tenant on `plan` (the per-plan metric). */
  onBilled?(tenantId: string, billedBytes: number, plan: string | null): void;
  /** A settle that failed (Redis): the reservation is counted as spent, its whole grant, when its lease passes. */
  onSettleError?(err: unknown, tenantId: string): void;
  /** Where work that outlives its run is tracked (cancelled jobs' billing), so a graceful stop can wait for it. */
  late?: PendingWork;
}

/** A step's bytes over all its query jobs and attempts; null while unknown. */
export class BytesMeter {
  processed = 0;
  billed = 0;
  /** What cancelled jobs billed, known once BigQuery reports it (after the step, and often the run, ended). */
  readonly late: Promise<number>[] = [];

  constructor(private readonly pricePerTibUsd: number) {}

  add(result: QueryResult): void {
    this.processed += result.bytesProcessed ?? 0;
    this.billed += result.bytesBilled ?? 0;
  }

  /** Waits for the cancelled jobs' bytes and adds them to the step's; returns how many bytes that added. */
  async addLate(): Promise<number> {
    const bytes = (await Promise.all(this.late.splice(0))).reduce((a, b) => a + b, 0);
    this.billed += bytes;
    return bytes;
  }

  totals(): { bytesProcessed: number; bytesBilled: number; estimatedCostUsd: number } {
    return { bytesProcessed: this.processed, bytesBilled: this.billed, estimatedCostUsd: costUsd(this.billed, this.pricePerTibUsd) };
  }
}

export class BilledWarehouse implements Warehouse {
  readonly kind: Warehouse['kind'];
  private jobs = 0;

  constructor(
    private readonly inner: Warehouse,
    private readonly guard: CostGuard,
    private readonly tenantId: string,
    /** Unique per step of a run: a re-delivered run reuses (not doubles) a reservation its crashed attempt left. */
    private readonly reservationPrefix: string,
    readonly meter: BytesMeter,
  ) {
    this.kind = inner.kind;
  }

  async query<R extends Row = Row>(sql: string, options: QueryOptions = {}): Promise<QueryResult<R>> {
    const { signal: _signal, ...dryOptions } = options;
    const estimate = (await this.inner.dryRun(sql, dryOptions))?.bytesProcessed;
    if (estimate === undefined) return this.inner.query<R>(sql, options);
    const reservation = await this.guard.budget.reserve(this.tenantId, `${this.reservationPrefix}:${++this.jobs}`, estimate);
    let result: QueryResult<R>;
    try {
      result = await this.inner.query<R>(sql, { ...options, maxBytesBilled: reservation.grantedBytes });
    } catch (err) {
      if (err instanceof WarehouseError && err.billedBytes) {
        // Given up on after it started (cancelled, or its results or billing figures unreadable): it may have billed
        // what it read. The reservation stays until the warehouse says how much (the run is not held for it; a
        // graceful stop waits, a worker dying leaves it to its lease), and the step's meter gets the bytes too, for
        // the rows the executor rewrites then. Unknown (null): settled to the whole grant, the job's
        // maximumBytesBilled, the most it can have billed — the budget never counts less than BigQuery billed.
        const billedLater = err.billedBytes.then(
          async (billed) => {
            await this.settle(reservation, billed ?? reservation.grantedBytes);
            if (billed !== null && billed > 0) this.guard.onBilled?.(this.tenantId, billed, reservation.plan);
            return billed ?? 0;
          },
          (settleErr: unknown) => {
            this.guard.onSettleError?.(settleErr, this.tenantId);
            return 0;
          },
        );
        this.meter.late.push(billedLater);
        this.guard.late?.track(billedLater.then(() => undefined));
        throw err;
      }
      // Failed before it ran, or BigQuery reports the job failed (a failed query bills nothing): the grant goes back.
      await this.settle(reservation, 0);
      if (err instanceof WarehouseError && err.reason === 'bytes_limit_exceeded') {
        throw bytesLimitExceeded(
          `BigQuery refused the job: it would bill more than its limit of ${formatBytes(reservation.grantedBytes)} (maximumBytesBilled; ` +
            `the dry run estimated ${formatBytes(estimate)}); nothing was billed`,
          { estimated_bytes: estimate, maximum_bytes_billed: reservation.grantedBytes },
        );
      }
      throw err;
    }
    const billed = result.bytesBilled ?? 0;
    await this.settle(reservation, billed);
    this.meter.add(result);
    if (billed > 0) this.guard.onBilled?.(this.tenantId, billed, reservation.plan);
    return result;
  }

  private async settle(reservation: BytesReservationPort, billed: number): Promise<void> {
    try {
      await this.guard.budget.settle(reservation, billed);
    } catch (err) {
      this.guard.onSettleError?.(err, this.tenantId);
    }
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  datasetExists(dataset: string): Promise<boolean> {
    return this.inner.datasetExists(dataset);
  }
  createDataset(dataset: string, options?: { description?: string }): Promise<boolean> {
    return this.inner.createDataset(dataset, options);
  }
  dropDataset(dataset: string): Promise<void> {
    return this.inner.dropDataset(dataset);
  }
  tableExists(ref: TableRef): Promise<boolean> {
    return this.inner.tableExists(ref);
  }
  createTable(ref: TableRef, spec: TableSpec): Promise<boolean> {
    return this.inner.createTable(ref, spec);
  }
  dropTable(ref: TableRef): Promise<void> {
    return this.inner.dropTable(ref);
  }
  addColumns(ref: TableRef, columns: ColumnSchema[]): Promise<void> {
    return this.inner.addColumns(ref, columns);
  }
  createView(ref: TableRef, sql: string): Promise<void> {
    return this.inner.createView(ref, sql);
  }
  listTables(dataset: string): Promise<string[]> {
    return this.inner.listTables(dataset);
  }
  insertRows(ref: TableRef, rows: Row[], options?: InsertOptions): Promise<void> {
    return this.inner.insertRows(ref, rows, options);
  }
  dryRun(sql: string, options?: QueryOptions): Promise<DryRunResult | null> {
    return this.inner.dryRun(sql, options);
  }
  sandboxQuery(sql: string, options: SandboxOptions): Promise<SandboxResult> {
    return this.inner.sandboxQuery(sql, options);
  }
  exportTable(ref: TableRef, destination: string): Promise<ExportResult> {
    return this.inner.exportTable(ref, destination);
  }
}
