import { createHash } from 'node:crypto';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { dqResults, eventsTableName, pipelineRuns, stepLogs } from '../warehouse/tables';
import { WarehouseError } from '../warehouse/types';
import type { Row, TableRef, Warehouse } from '../warehouse/types';
import { isTerminalStatus } from '../shared/run-status';
import { FlushPacer } from './flush-pacer';
import { PendingRows } from './run-log-buffer';
import type { StepState } from './types';

/**
 * Batches run, step and data-quality log rows of every run in this process into few streaming
 * inserts: rows wait up to the flush interval (or until `maxBatchRows` are buffered in one table) and each
 * flush sends one insertRows per (dataset, table). The interval is `flushIntervalMs` for a flush of a few tables
 * and grows, up to `maxFlushIntervalMs`, with the expected cost of the flush the waiting tables make (flush-pacer.ts). Run and step rows are full
 * snapshots appended to the `_events` tables; the views of tables.ts keep the highest `event_seq` per key, so a
 * snapshot superseded before its flush is not sent (run-log-buffer.ts). Nothing is UPDATEd.
 *
 * Failed flushes keep their rows and retry with exponential backoff, per table, so a broken tenant
 * dataset delays nobody else's logs. Rows are only dropped when more than `maxBufferedRows` pile up
 * (warehouse down for long) or when a table keeps answering not_found (dataset deleted), and then
 * with an error log naming how many — never silently. Insert ids are derived from the row identity, so a retried request that
 * had in fact succeeded is de-duplicated by BigQuery.
 */
export interface RunSnapshot {
  pipeline_logging_id: string;
  pipeline_id: string;
  tenant_id: string;
  user_id: string | null;
  trigger_type: string;
  status: string;
  start_time: string | null;
  end_time: string | null;
  duration_ms: number | null;
  parameters: Record<string, unknown>;
  error_message: string | null;
  worker_instance: string | null;
  steps_total: number;
  steps_done: number;
  created_at: string | null;
  /** Sums over the steps (runBytesOf); null when no step has a figure (DuckDB: unknown). */
  bytes_processed: number | null;
  bytes_billed: number | null;
  estimated_cost_usd: number | null;
}

export interface StepSnapshot {
  pipeline_logging_id: string;
  step_name: string;
  step_type: string;
  step_index: number;
  status: string;
  start_time: string | null;
  end_time: string | null;
  duration_ms: number | null;
  rows_processed: number | null;
  bytes_processed: number | null;
  bytes_billed: number | null;
  estimated_cost_usd: number | null;
  error_message: string | null;
  attempt: number;
}

/** A step's log row from its state: the executor writes these as steps change, the run log outbox rewrites them from Redis. */
export const stepSnapshotOf = (pipelineLoggingId: string, stepIndex: number, s: StepState): StepSnapshot => ({
  pipeline_logging_id: pipelineLoggingId,
  step_name: s.id,
  step_type: s.type,
  step_index: stepIndex,
  status: s.status,
  start_time: s.startTime ?? null,
  end_time: s.endTime ?? null,
  duration_ms: s.durationMs ?? null,
  rows_processed: s.rowsProcessed ?? null,
  bytes_processed: s.bytesProcessed ?? null,
  bytes_billed: s.bytesBilled ?? null,
  estimated_cost_usd: s.estimatedCostUsd ?? null,
  error_message: s.errorMessage ?? null,
  attempt: s.attempt,
});

const sumOf = (values: (number | undefined)[]): number | null => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? null : known.reduce((a, b) => a + b, 0);
};

/** A run's bytes and cost: the sums of its steps' (the executor and the run log outbox write the same figures). */
export function runBytesOf(steps: StepState[]): Pick<RunSnapshot, 'bytes_processed' | 'bytes_billed' | 'estimated_cost_usd'> {
  const cost = sumOf(steps.map((s) => s.estimatedCostUsd));
  return {
    bytes_processed: sumOf(steps.map((s) => s.bytesProcessed)),
    bytes_billed: sumOf(steps.map((s) => s.bytesBilled)),
    estimated_cost_usd: cost === null ? null : Math.round(cost * 1e6) / 1e6,
  };
}

export interface DqResultRow {
  pipeline_logging_id: string;
  step_name: string;
  target_table: string;
  check_name: string;
  check_type: string;
  severity: string;
  passed: boolean;
  observed: Record<string, unknown>;
  executed_at: string;
  overall_status: 'PASS' | 'WARNING' | 'FAIL';
}

export interface RunLogWriter {
  /** `seq` orders snapshots of one run (see executor.ts); higher wins in the view. */
  writeRun(tenantId: string, snapshot: RunSnapshot, seq: number): void;
  writeStep(tenantId: string, snapshot: StepSnapshot, seq: number): void;
  writeDq(tenantId: string, rows: DqResultRow[]): void;
  /** Writes everything buffered now; rejects if a group failed (its rows stay buffered for retry). */
  flush(): Promise<void>;
  /**
   * Its producers have nothing in flight (the worker is idle): no more rows are coming to gather with, so what
   * waits is written now instead of at the paced time. A table backing off keeps its retry time. Never rejects.
   */
  flushIdle(): void;
  /** Stops the timer and flushes, retrying a few times; logs what could not be written. */
  close(): Promise<void>;
  /** Rows not yet confirmed written (buffered or in flight). */
  pendingCount(): number;
}

export interface RunLogWriterOptions {
  warehouse: Warehouse;
  /**
   * Called after a successful insert with the runs whose terminal row it carried, so the caller can
   * stop tracking them as "finished but not yet in the warehouse" (see src/queues/run-log-outbox.ts).
   */
  onTerminalRunsWritten?(runs: { tenantId: string; runId: string }[]): void;
  logger: Logger;
  clock?: Clock;
  /** The flush interval while flushes are cheap (default 500 ms)… */
  flushIntervalMs?: number;
  /** …and the longest it grows to while they are busy (default 10 × flushIntervalMs; see flush-pacer.ts). */
  maxFlushIntervalMs?: number;
  /** What a flush is expected to cost per table it touches before one was timed (flush-pacer.ts; default 0). */
  flushCostPerTableMs?: number;
  maxBatchRows?: number;
  /**
   * Rows one insert call sends (default 10,000): a backlog after an outage (up to maxBufferedRows) goes as several
   * calls in a row, each within PLATFORM_WAREHOUSE_TIMEOUT_MS, instead of one call that might never fit in it.
   */
  maxRowsPerInsert?: number;
  maxBufferedRows?: number;
  retryBaseMs?: number;
  retryMaxMs?: number;
  closeAttempts?: number;
  /** Consecutive `not_found` failures (dataset or table gone) after which a table's pending rows are dropped, with an error log. */
  maxNotFoundAttempts?: number;
}

interface Group {
  ref: TableRef;
  pending: PendingRows;
  /** Consecutive failed inserts; each group backs off on its own so one broken dataset delays no one else. */
  failures: number;
  retryAtMs: number;
  /** When the oldest row now waiting arrived (ms since epoch; 0 while nothing waits). */
  sinceMs: number;
}

/** BigQuery caps insert ids at 128 characters; long ones are hashed (still deterministic). */
const insertId = (text: string): string => (text.length <= 100 ? text : createHash('sha256').update(text).digest('hex'));

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));


export function createRunLogWriter(options: RunLogWriterOptions): RunLogWriter {
  const { warehouse, logger } = options;
  const runsTable = eventsTableName(pipelineRuns);
  const clock = options.clock ?? systemClock;
  const baseIntervalMs = options.flushIntervalMs ?? 500;
  // Default: 10 × the base, never past 10 s (a third of the outbox grace) unless asked.
  const pacer = new FlushPacer(baseIntervalMs, options.maxFlushIntervalMs ?? Math.min(10 * baseIntervalMs, 10_000), undefined, options.flushCostPerTableMs ?? 0);
  const maxBatchRows = options.maxBatchRows ?? 500;
  const maxBufferedRows = options.maxBufferedRows ?? 100_000;
  const maxRowsPerInsert = options.maxRowsPerInsert ?? 10_000;
  const retryBaseMs = options.retryBaseMs ?? 1000;
  const retryMaxMs = options.retryMaxMs ?? 30_000;
  const closeAttempts = options.closeAttempts ?? 3;
  const maxNotFoundAttempts = options.maxNotFoundAttempts ?? 20;

  const groups = new Map<string, Group>();
  let inFlight = 0;
  let timer: NodeJS.Timeout | null = null;
  let current: Promise<void> | null = null;
  let closed = false;

  const buffered = (): number => [...groups.values()].reduce((n, g) => n + g.pending.length, 0);
  const backoffMs = (failures: number): number => Math.min(retryMaxMs, retryBaseMs * 2 ** Math.max(0, failures - 1));

  let timerDueMs = 0;
  /** Arms the flush timer for `ms` from now, unless it is already due sooner. */
  const schedule = (ms: number): void => {
    if (closed) return;
    const due = Date.now() + ms;
    if (timer && timerDueMs <= due) return;
    if (timer) clearTimeout(timer);
    timerDueMs = due;
    timer = setTimeout(() => {
      timer = null;
      // More tables may have joined since the timer was armed, and the flush they make would cost more: gather longer.
      const wait = nextDueMs();
      if (wait !== null && wait > 0) return schedule(wait);
      runFlush(false).catch(() => undefined); // already logged; rows stay buffered
    }, ms);
    timer.unref();
  };

  /**
   * Ms until the next timed flush is due (null: nothing waits): healthy tables flush together once their oldest row
   * has waited the pacer's interval for a flush of that many tables (at once when one is full); a backing-off table
   * at its retry time.
   */
  const nextDueMs = (): number | null => {
    const pending = [...groups.values()].filter((g) => g.pending.length > 0);
    if (pending.length === 0) return null;
    const now = Date.now();
    const healthy = pending.filter((g) => g.failures === 0);
    const waits = pending.filter((g) => g.failures > 0).map((g) => Math.max(0, g.retryAtMs - now));
    if (healthy.some((g) => g.pending.length >= maxBatchRows)) waits.push(0);
    else if (healthy.length > 0) waits.push(Math.max(0, Math.min(...healthy.map((g) => g.sinceMs)) + pacer.intervalMs(healthy.length) - now));
    return Math.min(...waits);
  };

  const scheduleNext = (): void => {
    const wait = nextDueMs();
    if (wait !== null) schedule(wait);
  };

  const add = (ref: TableRef, viewKey: readonly string[], rows: Row[], ids: string[]): void => {
    const key = `${ref.dataset}.${ref.table}`;
    const group = groups.get(key) ?? { ref, pending: new PendingRows(viewKey), failures: 0, retryAtMs: 0, sinceMs: 0 };
    if (group.pending.length === 0) group.sinceMs = Date.now();
    rows.forEach((row, i) => group.pending.push(row, ids[i] as string));
    groups.set(key, group);
    const total = buffered();
    if (total > maxBufferedRows) dropOldest(total - maxBufferedRows);
    if (closed) return;
    scheduleNext();
  };

  const dropOldest = (excess: number): void => {
    let left = excess;
    for (const group of groups.values()) {
      const n = Math.min(left, group.pending.length);
      group.pending.dropOldest(n);
      left -= n;
      if (left === 0) break;
    }
    logger.error({ dropped: excess, maxBufferedRows }, 'run log buffer full: dropped the oldest log rows');
  };

  /** Sends the rows waiting now, oldest first, at most maxRowsPerInsert per call; stops at the first failure. */
  const sendGroup = async (g: Group): Promise<boolean> => {
    for (let left = g.pending.length; left > 0 && g.pending.length > 0; left -= maxRowsPerInsert) {
      if (!(await sendChunk(g, Math.min(left, maxRowsPerInsert)))) return false;
    }
    return true;
  };

  const sendChunk = async (g: Group, limit: number): Promise<boolean> => {
    const since = g.sinceMs;
    const { rows, insertIds: ids } = g.pending.take(limit);
    inFlight += rows.length;
    try {
      await warehouse.insertRows(g.ref, rows, { insertIds: ids });
      g.failures = 0;
      if (options.onTerminalRunsWritten && g.ref.table === runsTable) {
        const done = rows.filter((r) => isTerminalStatus(String(r.status))).map((r) => ({ tenantId: String(r.tenant_id), runId: String(r.pipeline_logging_id) }));
        if (done.length > 0) options.onTerminalRunsWritten(done);
      }
      return true;
    } catch (err) {
      // Back in front of anything written meanwhile, keeping per-key order.
      g.pending.restore(rows, ids);
      g.sinceMs = since;
      g.failures++;
      g.retryAtMs = Date.now() + backoffMs(g.failures);
      const table = `${g.ref.dataset}.${g.ref.table}`;
      if (err instanceof WarehouseError && err.reason === 'not_found' && g.failures >= maxNotFoundAttempts) {
        logger.error({ err, table, dropped: g.pending.length }, 'run log table does not exist; dropped its pending rows');
        g.pending.take();
        g.failures = 0;
      } else {
        // The stack once per streak of failures; the retries that follow (every few seconds) say what failed.
        const cause = g.failures === 1 ? err : (err as Error).message;
        logger.warn({ err: cause, table, rows: g.pending.length, failures: g.failures }, 'run log flush failed; will retry');
      }
      return false;
    } finally {
      inFlight -= rows.length;
    }
  };

  /** One pass over the groups; `force` ignores backoff (explicit flush, close). */
  const flushOnce = async (force: boolean): Promise<void> => {
    const now = Date.now();
    const due = [...groups.values()].filter((g) => g.pending.length > 0 && (force || g.retryAtMs <= now));
    const results = await Promise.all(due.map(sendGroup));
    if (due.length > 0) pacer.flushed(Date.now() - now, due.length);
    for (const [key, g] of groups) if (g.pending.length === 0 && g.failures === 0) groups.delete(key);
    // Rows written during the flush armed the timer with the interval from before it: start over with the new one.
    if (timer) clearTimeout(timer);
    timer = null;
    scheduleNext();
    const failed = results.filter((ok) => !ok).length;
    if (failed > 0) throw new Error(`run log flush failed for ${failed} table(s); ${buffered()} rows pending`);
  };

  const runFlush = async (force: boolean): Promise<void> => {
    while (current) await current.catch(() => undefined);
    if (buffered() === 0) return;
    if (timer) clearTimeout(timer);
    timer = null;
    current = flushOnce(force).finally(() => {
      current = null;
    });
    return current;
  };
  const flush = (): Promise<void> => runFlush(true);
  const flushIdle = (): void => {
    if (closed || buffered() === 0) return;
    runFlush(false).catch(() => undefined); // already logged; rows stay buffered
  };

  const eventRow = (row: object, seq: number): Row => ({ ...row, event_time: clock.now().toISOString(), event_seq: seq });

  return {
    writeRun(tenantId, snapshot, seq) {
      add({ dataset: tenantId, table: eventsTableName(pipelineRuns) }, pipelineRuns.key, [eventRow(snapshot, seq)], [insertId(`run:${snapshot.pipeline_logging_id}:${seq}`)]);
    },
    writeStep(tenantId, snapshot, seq) {
      add({ dataset: tenantId, table: eventsTableName(stepLogs) }, stepLogs.key, [eventRow(snapshot, seq)], [insertId(`step:${snapshot.pipeline_logging_id}:${snapshot.step_name}:${seq}`)]);
    },
    writeDq(tenantId, rows) {
      if (rows.length === 0) return;
      // The check's execution time orders snapshots: a re-delivered execution's results replace the first's.
      const seqOf = (r: DqResultRow): number => Date.parse(r.executed_at);
      add(
        { dataset: tenantId, table: eventsTableName(dqResults) },
        dqResults.key,
        rows.map((r) => eventRow(r, seqOf(r))),
        rows.map((r) => insertId(`dq:${r.pipeline_logging_id}:${r.step_name}:${r.check_name}:${seqOf(r)}`)),
      );
    },
    flush,
    flushIdle,
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = null;
      for (let attempt = 1; attempt <= closeAttempts && (buffered() > 0 || current); attempt++) {
        try {
          await flush();
        } catch {
          if (attempt < closeAttempts) await delay(Math.min(retryBaseMs * 2 ** (attempt - 1), retryMaxMs));
        }
      }
      if (timer) clearTimeout(timer);
      timer = null;
      if (buffered() > 0) logger.error({ pending: buffered() }, 'run log writer closed with unwritten rows');
    },
    pendingCount: () => buffered() + inFlight,
  };
}
