import type { Row } from '../warehouse/types';

/**
 * The rows of one (dataset, table) waiting for the run log writer's next flush. Run and step rows are full
 * snapshots and the tables' views keep only the highest `event_seq` per key (ties: the later `event_time`), so
 * an in-progress snapshot (PENDING, RUNNING) superseded while still waiting here is replaced in place instead of
 * sent: a run that starts and ends within one flush interval sends one run row and one row per step, not every
 * intermediate snapshot. A row saying a run or step ended is always sent, even when a later one supersedes it: the
 * events table keeps every ending (an audit can still see a run that ended two ways). Only waiting rows are
 * compared; rows already sent (or in flight) are never touched.
 */
export class PendingRows {
  rows: Row[] = [];
  insertIds: string[] = [];
  /** key → index in `rows`, of the waiting rows that have a key. */
  private readonly at = new Map<string, number>();

  /** `key`: the table's view key columns; without, every row is kept. */
  constructor(private readonly key: readonly string[] | null) {}

  get length(): number {
    return this.rows.length;
  }

  push(row: Row, insertId: string): void {
    const key = this.keyOf(row);
    const index = key === null ? undefined : this.at.get(key);
    const prev = index === undefined ? undefined : this.rows[index];
    if (key === null || index === undefined || prev === undefined) return this.append(row, insertId, key);
    if (!supersedes(row, prev)) {
      // Older than what waits: the view would never show it. An ending is kept all the same.
      if (!inProgress(row)) this.append(row, insertId, null);
      return;
    }
    if (!inProgress(prev)) return this.append(row, insertId, key);
    this.rows[index] = row;
    this.insertIds[index] = insertId;
  }

  /** `key`: the row becomes the one later snapshots of that key are compared with. */
  private append(row: Row, insertId: string, key: string | null): void {
    if (key !== null) this.at.set(key, this.rows.length);
    this.rows.push(row);
    this.insertIds.push(insertId);
  }

  /** Hands the oldest `limit` rows (all by default) to a flush; the rest keep waiting, compared as before. */
  take(limit = Infinity): { rows: Row[]; insertIds: string[] } {
    const taken = { rows: this.rows, insertIds: this.insertIds };
    this.rows = [];
    this.insertIds = [];
    this.at.clear();
    if (limit >= taken.rows.length) return taken;
    taken.rows.slice(limit).forEach((row, i) => this.push(row, taken.insertIds[limit + i] as string));
    return { rows: taken.rows.slice(0, limit), insertIds: taken.insertIds.slice(0, limit) };
  }

  /** Puts the rows of a failed flush back in front of anything written meanwhile (which may supersede them). */
  restore(rows: Row[], insertIds: string[]): void {
    const newer = this.take();
    rows.forEach((row, i) => this.push(row, insertIds[i] as string));
    newer.rows.forEach((row, i) => this.push(row, newer.insertIds[i] as string));
  }

  /** Drops the `count` oldest waiting rows. */
  dropOldest(count: number): void {
    const kept = this.take();
    kept.rows.slice(count).forEach((row, i) => this.push(row, kept.insertIds[count + i] as string));
  }

  private keyOf(row: Row): string | null {
    if (this.key === null) return null;
    return JSON.stringify(this.key.map((column) => row[column] ?? null));
  }
}

/** A snapshot of a run or step still under way, which a later snapshot of it makes worthless. */
const inProgress = (row: Row): boolean => row['status'] === 'PENDING' || row['status'] === 'RUNNING';

/** Whether `next` wins over `prev` in the latest-row view (ORDER BY event_seq DESC, event_time DESC). */
function supersedes(next: Row, prev: Row): boolean {
  const seq = Number(next['event_seq']) - Number(prev['event_seq']);
  if (seq !== 0) return seq > 0;
  return String(next['event_time']) >= String(prev['event_time']);
}
