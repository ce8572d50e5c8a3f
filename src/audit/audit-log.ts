import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Clock } from '../shared/clock';
import { newId } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { AUDIT_LOG_TABLE, CENTRAL_DATASET } from '../warehouse/tables';
import type { Row, TableRef, Warehouse } from '../warehouse/types';
import type { AuditEntry, AuditRecorder } from './actions';
import { tryLock } from '../redis/lock';

export interface AuditLogDeps {
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  /** How often `start()` drains the outbox into the warehouse. */
  flushIntervalMs?: number;
  /** Rows per warehouse insert. */
  batchSize?: number;
}

/** A row as the outbox holds it (JSON) and the warehouse stores it: the columns of `auditLogSpec`. */
export interface AuditRow {
  audit_id: string;
  event_time: string;
  actor: string;
  key_id: string | null;
  user_id: string | null;
  request_id: string | null;
  tenant_id: string | null;
  action: string;
  target: string | null;
  outcome: string;
  outcome_code: string | null;
  http_status: number | null;
  source_ip: string | null;
  details: Record<string, unknown> | null;
}

export const AUDIT_LOG_REF: TableRef = { dataset: CENTRAL_DATASET, table: AUDIT_LOG_TABLE };

/** A flusher that died holding the lock only delays the next flush by this much. */
const FLUSH_LOCK_MS = 60_000;

export function auditRow(entry: AuditEntry, auditId: string, at: Date): AuditRow {
  return {
    audit_id: auditId,
    event_time: at.toISOString(),
    actor: entry.actor,
    key_id: entry.keyId ?? null,
    user_id: entry.userId ?? null,
    request_id: entry.requestId ?? null,
    tenant_id: entry.tenantId ?? null,
    action: entry.action,
    target: entry.target ?? null,
    outcome: entry.outcome,
    outcome_code: entry.outcomeCode ?? null,
    http_status: entry.httpStatus ?? null,
    source_ip: entry.sourceIp ?? null,
    details: entry.details ?? null,
  };
}

const toWarehouseRow = (row: AuditRow): Row => ({ ...row, event_time: new Date(row.event_time) });

function parseRow(json: string): AuditRow | null {
  try {
    const row = JSON.parse(json) as AuditRow;
    return typeof row.audit_id === 'string' && typeof row.event_time === 'string' ? row : null;
  } catch {
    return null;
  }
}

/**
 * The audit log's writer. `record` appends the row to a Redis list (the outbox) — one Redis command on
 * the audited request, no warehouse round trip — and `flush` (every second, and at close) moves the list
 * into `tenants.audit_log` in batches, removing only the entries an insert accepted, by value (LREM), never by
 * position: a flusher whose lock expired mid-insert cannot trim rows another process has not inserted yet. So a
 * warehouse outage delays rows and a crashed process loses none (they wait in Redis for any process's next
 * flush). The lock (one flusher at a time) only saves duplicate work. A crash between insert and removal, or two
 * flushers after a lock expiry, repeat rows with the same `audit_id`, which BigQuery's insert ids and the reader
 * (audit-query.ts) de-duplicate. When Redis itself refuses the row, it waits in this process's
 * memory and is pushed again at each flush; at close, rows still unsent go straight to the warehouse or,
 * failing that, to the error log (they hold no secrets). The audited action never fails for any of this.
 */
export class AuditLog implements AuditRecorder {
  private unsent: string[] = [];
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<number> | null = null;

  constructor(private readonly deps: AuditLogDeps) {}

  async record(entry: AuditEntry): Promise<void> {
    const json = JSON.stringify(auditRow(entry, newId(), this.deps.clock.now()));
    try {
      await this.deps.redis.rpush(this.deps.keys.auditOutbox(), json);
    } catch (err) {
      this.unsent.push(json);
      this.deps.logger.error({ err: (err as Error).message, action: entry.action }, 'audit row kept in memory: the outbox write failed; retried at the next flush');
    }
  }

  /** Starts the periodic flush (API processes). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.flush().catch((err: Error) => this.deps.logger.warn({ err: err.message }, 'audit flush failed; rows stay in the outbox and are retried'));
    }, this.deps.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  /** Moves every row recorded so far into the warehouse; resolves to the rows this call inserted. Single-flight per process. */
  flush(): Promise<number> {
    this.flushing ??= this.drain().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /** Rows waiting: in the outbox and in this process's memory. */
  async pending(): Promise<number> {
    return (await this.deps.redis.llen(this.deps.keys.auditOutbox())) + this.unsent.length;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush().catch((err: Error) => this.deps.logger.error({ err: err.message }, 'audit flush at close failed; rows stay in the outbox for the next process'));
    if (this.unsent.length === 0) return;
    const rows = this.unsent.map(parseRow).filter((r): r is AuditRow => r !== null);
    try {
      await this.insert(rows);
      this.unsent = [];
    } catch (err) {
      for (const row of rows) this.deps.logger.error({ err: (err as Error).message, audit_row: row }, 'audit row could not be stored (Redis and the warehouse refused it)');
    }
  }

  private async drain(): Promise<number> {
    const { redis, keys } = this.deps;
    await this.pushUnsent();
    const lock = await tryLock(redis, keys.lock('audit-flush'), FLUSH_LOCK_MS);
    if (!lock) return 0;
    const batchSize = this.deps.batchSize ?? 500;
    let written = 0;
    try {
      for (;;) {
        const batch = await redis.lrange(keys.auditOutbox(), 0, batchSize - 1);
        if (batch.length === 0) break;
        const rows = batch.map(parseRow).filter((r): r is AuditRow => r !== null);
        if (rows.length < batch.length) this.deps.logger.error({ dropped: batch.length - rows.length }, 'unreadable audit outbox entries dropped');
        await this.insert(rows);
        await this.remove(batch);
        written += rows.length;
        if (batch.length < batchSize) break;
      }
    } finally {
      await lock.release();
    }
    return written;
  }

  /** Removes each flushed entry once, by value; one key, so one pipeline on a cluster too. */
  private async remove(batch: string[]): Promise<void> {
    const pipeline = this.deps.redis.pipeline();
    for (const json of batch) pipeline.lrem(this.deps.keys.auditOutbox(), 1, json);
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed?.[0]) throw failed[0];
  }

  private async insert(rows: AuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.deps.warehouse.insertRows(AUDIT_LOG_REF, rows.map(toWarehouseRow), { insertIds: rows.map((r) => r.audit_id) });
  }

  private async pushUnsent(): Promise<void> {
    if (this.unsent.length === 0) return;
    const sending = this.unsent;
    this.unsent = [];
    try {
      await this.deps.redis.rpush(this.deps.keys.auditOutbox(), ...sending);
    } catch (err) {
      this.unsent = [...sending, ...this.unsent];
      throw err;
    }
  }
}
