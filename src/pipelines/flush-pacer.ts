/**
 * How long the run log writer lets rows gather before a timed flush. A flush costs per table it touches more than
 * per row (on embedded DuckDB ≈ 2 ms of appender and commit work per table, whatever its row count — see
 * bench/append-mix.ts; on BigQuery one insertAll request per table), so when runs of many tenants are served in turn
 * each flush touches a table per tenant, however few rows each gets. Rule: rows gather for `busyFactor` × the
 * expected cost of the flush they will make — the tables waiting × the per-table cost of the last flush (before
 * any flush, `perTableMs`) — within [baseMs, maxMs]. Flushes then take at most about 1 / busyFactor of the time
 * (5 % by default): a flush of a few tables keeps the base interval, a flush over many tenants' tables (or a loaded
 * warehouse) waits longer and carries more rows per table. Because the expected cost counts the tables waiting now,
 * even the first wide flush waits, instead of being paid once to learn the cost.
 *
 * `maxMs` bounds how long a finished run's rows wait in memory: keep it far below the run log outbox's grace
 * (src/queues/run-log-outbox.ts, 30 s), after which an unconfirmed run's rows are rewritten from Redis.
 */
export class FlushPacer {
  private perTableMs: number;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly busyFactor = 20,
    /** The cost per table expected before the first flush (0: the first flush keeps the base interval). */
    perTableMs = 0,
  ) {
    this.perTableMs = perTableMs;
  }

  /** How long rows may gather before a flush of `tables` tables. */
  intervalMs(tables = 1): number {
    return Math.min(Math.max(this.baseMs, this.maxMs), Math.max(this.baseMs, this.busyFactor * this.perTableMs * tables));
  }

  /** Records how long a flush of `tables` tables took (wall time, failed ones too: their cost is as real). */
  flushed(durationMs: number, tables = 1): void {
    if (tables > 0) this.perTableMs = durationMs / tables;
  }
}
