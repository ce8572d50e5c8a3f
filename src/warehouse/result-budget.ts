import type { Row } from './types';

/**
 * The byte budget of an operator query's rows (ADMIN_QUERY_MAX_RESULT_BYTES). The row cap alone let 10,000 wide
 * rows grow past what one JSON answer (or the process's heap) can hold, so both adapters count the size of every
 * row they convert and stop before the one that would pass the budget, answering `truncated: true` like the row
 * cap does.
 */

/** Used when a caller names no budget (32 MiB, the setting's default). */
export const DEFAULT_MAX_RESULT_BYTES = 32 * 1024 ** 2;

/** About the bytes a value takes in the JSON answer: strings in UTF-8, escapes aside; close enough for a budget. */
export function jsonBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8') + 2;
  if (typeof value === 'number' || typeof value === 'bigint') return 24;
  if (typeof value === 'boolean') return 5;
  // JSON writes a Buffer as {"type":"Buffer","data":[…]}: up to four characters a byte.
  if (Buffer.isBuffer(value)) return value.length * 4 + 30;
  if (value instanceof Date) return 26;
  if (Array.isArray(value)) return value.reduce((sum: number, item) => sum + jsonBytes(item) + 1, 2);
  if (typeof value === 'object') {
    return Object.entries(value).reduce((sum: number, [key, item]) => sum + Buffer.byteLength(key, 'utf8') + 4 + jsonBytes(item), 2);
  }
  return 16;
}

export class ResultBudget {
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  /** Counts the row when it fits; false (nothing counted) when it would pass the budget. */
  fits(row: Row): boolean {
    const size = jsonBytes(row) + 1;
    if (this.used + size > this.maxBytes) return false;
    this.used += size;
    return true;
  }

  /** Bytes still free; a page of rows need not be asked for beyond them. */
  get remaining(): number {
    return this.maxBytes - this.used;
  }

  /** Mean size of the rows counted so far, at least 1 (0 rows: null). */
  meanRowBytes(rows: number): number | null {
    return rows === 0 ? null : Math.max(1, Math.ceil(this.used / rows));
  }
}
