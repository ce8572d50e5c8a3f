import { CronExpressionParser } from 'cron-parser';
import { IANAZone } from 'luxon';

/**
 * Cron evaluation for schedule configs: 5-field expressions in an IANA time zone.
 *
 * cron-parser validates and expands the fields; matching wall-clock times to instants is done
 * here with luxon's zone offsets, because cron-parser's DST handling does not match SPEC §8
 * (it fires a skipped 02:30 at 03:30, an hour late). Our rules, on every day in every zone:
 *  - a local time that does not exist (spring-forward gap) fires at the next valid minute, i.e.
 *    the instant the gap ends (America/New_York 2025-03-09 02:30 → 03:00 EDT = 07:00Z); several
 *    gap times collapse into that one fire;
 *  - a local time that exists twice (fall-back) fires once, at its first occurrence
 *    (America/New_York 2025-11-02 01:30 → 01:30 EDT = 05:30Z, never again at 06:30Z). This holds
 *    for hourly and minutely expressions too: the repeated hour is not fired a second time.
 */
export interface CronSpec {
  minutes: number[];
  hours: number[];
  daysOfMonth: Set<number>;
  months: Set<number>;
  /** 0–6, Sunday = 0. */
  daysOfWeek: Set<number>;
  /** Vixie cron: when both day fields are restricted a day matches either of them. */
  dayMatchIsOr: boolean;
}

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** No DST rule moves clocks by more than this; bounds the search around a wall-clock time. */
const MAX_SHIFT_MS = 3 * 3_600_000;
const SEARCH_MARGIN_MS = 18 * 3_600_000;
/** Days searched for the next fire: covers a 29 February that falls on a given weekday. */
const MAX_SEARCH_DAYS = 366 * 30;

const specCache = new Map<string, CronSpec>();

export class CronError extends Error {}

/** Parses and validates a 5-field expression; throws CronError with a readable reason. */
export function parseCron(expression: string): CronSpec {
  const cached = specCache.get(expression);
  if (cached) return cached;
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5) {
    throw new CronError(`must have 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`);
  }
  if (/[LW#]/i.test(parts[2] ?? '') || /[LW#]/i.test(parts[4] ?? '')) {
    throw new CronError('L, W and # are not supported');
  }
  let fields;
  try {
    fields = CronExpressionParser.parse(expression.trim(), { tz: 'UTC' }).fields;
  } catch (err) {
    throw new CronError(err instanceof Error ? err.message : String(err));
  }
  const restricted = (raw: string | undefined): boolean => raw !== undefined && !raw.startsWith('*') && !raw.startsWith('?');
  const spec: CronSpec = {
    minutes: numbers(fields.minute.values),
    hours: numbers(fields.hour.values),
    daysOfMonth: new Set(numbers(fields.dayOfMonth.values)),
    months: new Set(numbers(fields.month.values)),
    daysOfWeek: new Set(numbers(fields.dayOfWeek.values).map((d) => d % 7)),
    dayMatchIsOr: restricted(parts[2]) && restricted(parts[4]),
  };
  if (specCache.size > 10_000) specCache.clear();
  specCache.set(expression, spec);
  return spec;
}

const numbers = (values: readonly (number | string)[]): number[] =>
  values.filter((v): v is number => typeof v === 'number').sort((a, b) => a - b);

export const isValidCron = (expression: string): boolean => {
  try {
    parseCron(expression);
    return true;
  } catch {
    return false;
  }
};

const validZones = new Map<string, boolean>();

/** Memoised: luxon builds an Intl.DateTimeFormat per check, which would dominate a large tick. */
export const isValidTimezone = (tz: string): boolean => {
  let valid = validZones.get(tz);
  if (valid === undefined) {
    valid = IANAZone.isValidZone(tz);
    if (validZones.size > 1_000) validZones.clear();
    validZones.set(tz, valid);
  }
  return valid;
};

/**
 * The next `count` fire instants strictly after `after`, in ascending order.
 * Returns fewer when the expression cannot fire within the search horizon.
 */
export function nextFireTimes(cron: string, timezone: string, after: Date, count: number): Date[] {
  if (!isValidTimezone(timezone)) throw new CronError(`unknown time zone ${timezone}`);
  const spec = parseCron(cron);
  const offsetMs = zoneOffsets(timezone);
  const afterMs = after.getTime();
  const out: number[] = [];
  // Local calendar date of `after`, as a UTC-midnight number so day arithmetic ignores DST.
  const startWall = afterMs + offsetMs(afterMs);
  let dayWall = Math.floor(startWall / DAY_MS) * DAY_MS;
  for (let i = 0; i < MAX_SEARCH_DAYS && out.length < count; i += 1, dayWall += DAY_MS) {
    const day = new Date(dayWall);
    if (!matchesDay(spec, day.getUTCDate(), day.getUTCMonth() + 1, day.getUTCDay())) continue;
    // When the offset is the same well before and after the day, the day has no transition.
    const before = offsetMs(dayWall - DAY_MS);
    const constant = before === offsetMs(dayWall + 2 * DAY_MS) ? before : null;
    for (const hour of spec.hours) {
      for (const minute of spec.minutes) {
        const wall = dayWall + hour * 3_600_000 + minute * MINUTE_MS;
        if (wall < startWall - MAX_SHIFT_MS) continue;
        const instant = constant === null ? instantOfWallTime(wall, offsetMs) : wall - constant;
        // Gap times collapse onto the same instant; the mapping never goes backwards.
        if (instant > afterMs && instant !== out[out.length - 1]) {
          out.push(instant);
          if (out.length === count) break;
        }
      }
      if (out.length === count) break;
    }
  }
  return out.map((ms) => new Date(ms));
}

const offsetCaches = new Map<string, Map<number, number>>();

/**
 * Offset lookup (ms) for a zone, memoised per minute: luxon asks Intl for every lookup, which
 * dominates a tick over thousands of schedules, and the same days are looked up again and again.
 * Transitions happen on whole minutes, so a per-minute memo is exact.
 */
function zoneOffsets(timezone: string): (instant: number) => number {
  const zone = IANAZone.create(timezone);
  let cache = offsetCaches.get(timezone);
  if (!cache) {
    cache = new Map();
    offsetCaches.set(timezone, cache);
  }
  const memo = cache;
  return (instant) => {
    const minute = Math.floor(instant / MINUTE_MS);
    const hit = memo.get(minute);
    if (hit !== undefined) return hit;
    if (memo.size > 50_000) memo.clear();
    const offset = zone.offset(minute * MINUTE_MS) * MINUTE_MS;
    memo.set(minute, offset);
    return offset;
  };
}

/** The next fire instant after `after`, or null when there is none. */
export function nextFireTime(cron: string, timezone: string, after: Date): Date | null {
  return nextFireTimes(cron, timezone, after, 1)[0] ?? null;
}

function matchesDay(spec: CronSpec, dayOfMonth: number, month: number, dayOfWeek: number): boolean {
  if (!spec.months.has(month)) return false;
  const dom = spec.daysOfMonth.has(dayOfMonth);
  const dow = spec.daysOfWeek.has(dayOfWeek);
  return spec.dayMatchIsOr ? dom || dow : dom && dow;
}

/**
 * The instant of a local wall-clock time (given as "wall time read as UTC" ms): its first
 * occurrence when it exists twice, the end of the gap when it does not exist.
 */
function instantOfWallTime(wall: number, offsetMs: (instant: number) => number): number {
  // The offsets in force before and after any transition near this wall time (offsets reach ±14 h).
  const early = wall - offsetMs(wall - SEARCH_MARGIN_MS);
  const late = wall - offsetMs(wall + SEARCH_MARGIN_MS);
  const exact = [early, late].filter((t) => t + offsetMs(t) === wall).sort((a, b) => a - b);
  if (exact[0] !== undefined) return exact[0];
  // Inside a gap: the first minute whose local time is at or past the wanted one.
  let lo = Math.floor(Math.min(early, late) / MINUTE_MS);
  let hi = Math.ceil(Math.max(early, late) / MINUTE_MS);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const t = mid * MINUTE_MS;
    if (t + offsetMs(t) >= wall) hi = mid;
    else lo = mid + 1;
  }
  return lo * MINUTE_MS;
}
