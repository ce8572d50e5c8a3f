import type { DuckDBConnection } from '@duckdb/node-api';
import { appendBatches, appendRows } from './duckdb-append';
import type { AppendBatch, AppendColumnCache } from './duckdb-append';

interface Waiting extends AppendBatch {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Group commit for `insertRows`: the appends asked for in one turn of the event loop (a log flush sends one per
 * tenant table at once) are written in one transaction on one connection, so a flush over many tenants costs one
 * commit, not one per table. If that transaction fails, each append is retried alone, so every caller gets its own
 * outcome (one broken table never fails another's rows). Only the DuckDB adapter uses it; BigQuery has no
 * multi-table transaction for streaming inserts.
 */
export class GroupCommit {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly use: <T>(work: (conn: DuckDBConnection) => Promise<T>) => Promise<T>,
    private readonly cache: AppendColumnCache,
  ) {}

  append(batch: AppendBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ ...batch, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => void this.flush());
    });
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const group = this.waiting.splice(0);
    await this.use(async (conn) => {
      if (group.length > 1) {
        const together = await appendBatches(conn, group, this.cache).then(() => true, () => false);
        if (together) {
          for (const w of group) w.resolve();
          return;
        }
      }
      for (const w of group) await appendRows(conn, w.ref, w.rows, this.cache).then(w.resolve, w.reject);
    }).catch((err: unknown) => {
      for (const w of group) w.reject(err);
    });
  }
}
