/**
 * How long the run log writer lets rows gather before a timed flush. A flush costs per table it touches more than
 * per row (on embedded DuckDB ≈ 2 ms of appender and commit work per table, whatever its row count; on BigQuery one
 * insertAll request per table), so when runs of many tenants are served in turn each flush touches a table per
 * tenant, however few rows each gets. Rule: the interval is `busyFactor` × the last flush's duration, within
 * [baseMs, maxMs]. Flushes then take at most about 1 / busyFactor of the time (5 % by default): cheap flushes keep
 * the base interval, and while flushes are busy (many tables, a loaded warehouse) they come less often and carry
 * more rows each. It follows the load both ways, one flush at a time.
 *
 * `maxMs` bounds how long a finished run's rows wait in memory: keep it far below the run log outbox's grace
 * (src/queues/run-log-outbox.ts, 30 s), after which an unconfirmed run's rows are rewritten from Redis.
 */
export class FlushPacer {
  private current: number;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly busyFactor = 20,
  ) {
    this.current = baseMs;
  }

  intervalMs(): number {
    return this.current;
  }

  /** Records how long a flush took (wall time, failed ones too: their cost is as real). */
  flushed(durationMs: number): void {
    this.current = Math.min(Math.max(this.baseMs, this.maxMs), Math.max(this.baseMs, durationMs * this.busyFactor));
  }
}
