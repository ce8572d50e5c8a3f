/** Time source injected everywhere a decision depends on "now", so tests never sleep. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date | string | number = Date.now()) {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  set(to: Date | string | number): void {
    this.current = new Date(to).getTime();
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

/** `YYYY-MM-DD` of the UTC day containing `date`. */
export const utcDay = (date: Date): string => date.toISOString().slice(0, 10);

/** `YYYY-MM` of the UTC month containing `date`. */
export const utcMonth = (date: Date): string => date.toISOString().slice(0, 7);

/** Start of the next UTC day after `date`. */
export const nextUtcMidnight = (date: Date): Date =>
  new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1));

/** True for a real calendar day written `YYYY-MM-DD` (2025-02-30 is not one). */
export const isUtcDay = (text: string): boolean => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isFinite(ms) && utcDay(new Date(ms)) === text;
};

const ISO_INSTANT = /^(\d{4}-\d{2}-\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3])(?::?[0-5]\d)?)?)?$/;

/**
 * True for `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM[:SS[.fff]][Z|±HH:MM]` naming a real day and time. Date.parse
 * rolls 2025-02-31 over to 2025-03-03 without a word; this refuses it.
 */
export const isIsoInstant = (text: string): boolean => {
  const m = ISO_INSTANT.exec(text);
  if (!m || !isUtcDay(m[1] ?? '')) return false;
  const [hours, minutes, seconds] = [m[2], m[3], m[4]].map((part) => Number(part ?? 0));
  return (hours ?? 0) <= 23 && (minutes ?? 0) <= 59 && (seconds ?? 0) <= 59 && Number.isFinite(Date.parse(text));
};
