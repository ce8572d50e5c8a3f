import { createHash } from 'node:crypto';

/**
 * The run id of one item of a batch: a hash of (kind, batch id, item) formatted as a UUID v4, as the
 * scheduler does for fires. Whoever asks admission for the same date of a backfill (or the same tenant of a
 * fan-out) again — a second dispatcher, a process restarted mid-way, a re-delivered job — asks for the same
 * run and gets the existing one back, so no date runs twice.
 */
export function batchRunId(kind: 'backfill' | 'fanout', batchId: string, item: string): string {
  const hex = createHash('sha256').update(`${kind}:${batchId}:${item}`).digest('hex');
  const variant = ((parseInt(hex.charAt(16), 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Same request, same hash: the key of "re-posting returns the existing batch". */
export function requestHash(parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(parts, canonicalKeys)).digest('hex').slice(0, 32);
}

/** JSON with object keys sorted, so `{a, b}` and `{b, a}` hash alike. */
function canonicalKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)));
}

/** Each UTC day from `start` to `end`, inclusive (both YYYY-MM-DD). */
export function daysBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let ms = Date.parse(`${start}T00:00:00Z`); ms <= Date.parse(`${end}T00:00:00Z`); ms += 86_400_000) out.push(new Date(ms).toISOString().slice(0, 10));
  return out;
}
