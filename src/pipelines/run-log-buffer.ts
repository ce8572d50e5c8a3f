import type { Row } from '../warehouse/types';

/**
 * The rows of one (dataset, table) waiting for the run log writer's next flush. Run and step rows are full
 * snapshots and the tables' views keep only the highest `event_seq` per key (ties: the later `event_time`), so
 * a snapshot superseded while still waiting here is replaced in place instead of sent: a run that starts and
 * ends within one flush interval sends one run row and one row per step, not every intermediate snapshot.
 * Only waiting rows are compared; rows already sent (or in flight) are never touched.
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
    if (index === undefined) {
      if (key !== null) this.at.set(key, this.rows.length);
      this.rows.push(row);
      this.insertIds.push(insertId);
      return;
    }
    if (!supersedes(row, this.rows[index] as Row)) return; // the view would never show it
    this.rows[index] = row;
    this.insertIds[index] = insertId;
  }

  /** Empties the buffer, handing its rows to a flush. */
  take(): { rows: Row[]; insertIds: string[] } {
    const taken = { rows: this.rows, insertIds: this.insertIds };
    this.rows = [];
    this.insertIds = [];
    this.at.clear();
    return taken;
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

/** Whether `next` wins over `prev` in the latest-row view (ORDER BY event_seq DESC, event_time DESC). */
function supersedes(next: Row, prev: Row): boolean {
  const seq = Number(next['event_seq']) - Number(prev['event_seq']);
  if (seq !== 0) return seq > 0;
  return String(next['event_time']) >= String(prev['event_time']);
}
