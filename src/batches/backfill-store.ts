import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';
import type { RunParameters } from '../queues/pipeline-runs';
import { tryLock } from '../redis/lock';
import { scriptError } from '../redis/scripts/errors';

/**
 * A backfill's state in Redis, all in the tenant's slot: one hash with the request, the status and one field
 * per date. A date is `WAITING` until dispatched, `ADMITTED` while its run is live (its status is the run's),
 * then the run's terminal status; or `SKIPPED` (already COMPLETED before), `CANCELLED` (cancelled before it
 * started) or `REFUSED` (admission refused the date itself, e.g. a 422 for its parameters).
 */
export type BackfillStatus = 'ACTIVE' | 'COMPLETED' | 'CANCELLED';
export type DateState = 'WAITING' | 'ADMITTED' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'SKIPPED' | 'REFUSED';

export interface DateEntry {
  date: string;
  state: DateState;
  /** The run's id once dispatched; the refusal code for REFUSED. */
  ref: string | null;
}

export interface Backfill {
  backfillId: string;
  tenantId: string;
  provider: string;
  domain: string;
  templateName: string;
  /** The template's other parameters (without `date`), as validated. */
  parameters: RunParameters;
  startDate: string;
  endDate: string;
  maxParallel: number;
  skipCompleted: boolean;
  status: BackfillStatus;
  requestHash: string;
  /** The X-User-ID that asked for it: its runs carry it as user_id (it takes no seat per run). */
  userId: string | null;
  createdAt: string;
  updatedAt: string;
  /** Not before this time (ms) does the dispatcher ask admission again (after DAILY_QUOTA_EXCEEDED). */
  waitUntilMs: number;
  /** The last refusal that stopped a dispatch pass (a 429 or 403 code), for the status answer. */
  lastRefusal: string | null;
  /** Set once finish() ran: a later pass changes nothing. */
  finishedAt: string | null;
  dates: DateEntry[];
}

const DATE_FIELD = 'd:';
export const LIVE_STATES: ReadonlySet<DateState> = new Set(['ADMITTED']);

export const dateField = (date: string): string => `${DATE_FIELD}${date}`;
export const dateValue = (state: DateState, ref: string | null): string => `${state}|${ref ?? ''}`;

export function parseBackfill(backfillId: string, h: Record<string, string>): Backfill | null {
  if (!h.tenant_id || !h.status) return null;
  const dates: DateEntry[] = [];
  for (const [field, value] of Object.entries(h)) {
    if (!field.startsWith(DATE_FIELD)) continue;
    const bar = value.indexOf('|');
    dates.push({ date: field.slice(DATE_FIELD.length), state: value.slice(0, bar) as DateState, ref: value.slice(bar + 1) || null });
  }
  dates.sort((a, b) => a.date.localeCompare(b.date));
  return {
    backfillId,
    tenantId: h.tenant_id,
    provider: h.provider ?? '',
    domain: h.domain ?? '',
    templateName: h.template_name ?? '',
    parameters: JSON.parse(h.parameters ?? '{}') as RunParameters,
    startDate: h.start_date ?? '',
    endDate: h.end_date ?? '',
    maxParallel: Number(h.max_parallel ?? 1),
    skipCompleted: h.skip_completed === '1',
    status: h.status as BackfillStatus,
    requestHash: h.request_hash ?? '',
    userId: h.user_id || null,
    createdAt: h.created_at ?? '',
    updatedAt: h.updated_at ?? '',
    waitUntilMs: Number(h.wait_until_ms ?? 0),
    lastRefusal: h.last_refusal || null,
    finishedAt: h.finished_at || null,
    dates,
  };
}

/** The hash fields of a new backfill. */
export function backfillFields(b: Backfill): Record<string, string> {
  const fields: Record<string, string> = {
    tenant_id: b.tenantId,
    provider: b.provider,
    domain: b.domain,
    template_name: b.templateName,
    parameters: JSON.stringify(b.parameters),
    start_date: b.startDate,
    end_date: b.endDate,
    max_parallel: String(b.maxParallel),
    skip_completed: b.skipCompleted ? '1' : '0',
    status: b.status,
    request_hash: b.requestHash,
    user_id: b.userId ?? '',
    created_at: b.createdAt,
    updated_at: b.updatedAt,
    wait_until_ms: String(b.waitUntilMs),
    last_refusal: b.lastRefusal ?? '',
  };
  for (const d of b.dates) fields[dateField(d.date)] = dateValue(d.state, d.ref);
  return fields;
}

/** The member of the global index (`batchDue`) naming one backfill. */
export const dueMember = (tenantId: string, backfillId: string): string => `b|${tenantId}|${backfillId}`;
export function parseDueMember(member: string): { tenantId: string; backfillId: string } | null {
  const [kind, tenantId, backfillId] = member.split('|');
  return kind === 'b' && tenantId && backfillId ? { tenantId, backfillId } : null;
}

/** Finished backfills stay readable from Redis this long; the warehouse view keeps them after. */
export const FINISHED_BACKFILL_TTL_SECONDS = 30 * 24 * 3600;

export class BackfillStore {
  private readonly scripts: ScriptRunner;

  constructor(private readonly redis: RedisClient, private readonly keys: RedisKeys) {
    this.scripts = new ScriptRunner(redis);
  }

  async get(tenantId: string, backfillId: string): Promise<Backfill | null> {
    return parseBackfill(backfillId, await this.redis.hgetall(this.keys.backfill(tenantId, backfillId)));
  }

  /**
   * Writes a new ACTIVE backfill unless one with the same request hash is active, or the tenant already holds
   * `maxActive` ACTIVE backfills (one script over the tenant's keys, src/redis/scripts/backfill-create.lua; 429
   * BACKFILL_LIMIT_REACHED); returns the id that holds the request. The global index entry is written after, so a
   * reader never finds an index entry without its backfill.
   */
  async create(b: Backfill, wakeAtMs: number, maxActive: number): Promise<{ created: boolean; backfillId: string }> {
    const k = this.keys;
    const holder = await this.scripts.run(
      'backfill-create',
      [k.backfillDedupe(b.tenantId, b.requestHash), k.backfill(b.tenantId, b.backfillId), k.tenantBackfills(b.tenantId)],
      [b.backfillId, maxActive, ...Object.entries(backfillFields(b)).flat()],
    );
    if (typeof holder === 'number') throw scriptError(holder, { now: new Date() });
    if (holder !== b.backfillId) return { created: false, backfillId: holder };
    await this.redis.zadd(k.batchDue(), wakeAtMs, dueMember(b.tenantId, b.backfillId));
    return { created: true, backfillId: b.backfillId };
  }

  /**
   * Whether create() would take the request: an ACTIVE backfill holds it already, or the tenant has room. Asked
   * before the caller's team seat is taken; create() decides again atomically.
   */
  async hasRoomFor(tenantId: string, requestHash: string, maxActive: number): Promise<boolean> {
    const [holder, active] = await Promise.all([this.redis.exists(this.keys.backfillDedupe(tenantId, requestHash)), this.redis.scard(this.keys.tenantBackfills(tenantId))]);
    return holder === 1 || active < maxActive;
  }

  async statusOf(tenantId: string, backfillId: string): Promise<BackfillStatus | null> {
    return (await this.redis.hget(this.keys.backfill(tenantId, backfillId), 'status')) as BackfillStatus | null;
  }

  async setFields(tenantId: string, backfillId: string, fields: Record<string, string>): Promise<void> {
    if (Object.keys(fields).length > 0) await this.redis.hset(this.keys.backfill(tenantId, backfillId), fields);
  }

  /** When the dispatcher should look at this backfill again (the periodic tick reads the index). */
  async wakeAt(tenantId: string, backfillId: string, atMs: number): Promise<void> {
    await this.redis.zadd(this.keys.batchDue(), atMs, dueMember(tenantId, backfillId));
  }

  /** Backfills whose wake time passed. */
  async due(nowMs: number, limit = 500): Promise<{ tenantId: string; backfillId: string }[]> {
    const members = await this.redis.zrangebyscore(this.keys.batchDue(), '-inf', nowMs, 'LIMIT', 0, limit);
    return members.map(parseDueMember).filter((m): m is { tenantId: string; backfillId: string } => m !== null);
  }

  async activeOf(tenantId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.tenantBackfills(tenantId));
  }

  async activeCount(tenantId: string): Promise<number> {
    return this.redis.scard(this.keys.tenantBackfills(tenantId));
  }

  /** The tenant's ACTIVE backfills, oldest first (by creation, then id): the order a run's end serves them in. */
  async activeOldestFirst(tenantId: string): Promise<string[]> {
    const ids = await this.activeOf(tenantId);
    const created = await Promise.all(ids.map((id) => this.redis.hget(this.keys.backfill(tenantId, id), 'created_at')));
    return ids
      .map((id, i) => ({ id, at: created[i] ?? '' }))
      .sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id))
      .map((x) => x.id);
  }

  /**
   * Ends a backfill: the global index entry goes first (a reader that still finds the tenant's keys treats
   * the backfill by its status), then the tenant's keys in one MULTI.
   */
  async finish(b: Backfill, status: BackfillStatus, fields: Record<string, string>): Promise<void> {
    const k = this.keys;
    await this.redis.zrem(k.batchDue(), dueMember(b.tenantId, b.backfillId));
    const key = k.backfill(b.tenantId, b.backfillId);
    const dedupe = k.backfillDedupe(b.tenantId, b.requestHash);
    const tx = this.redis.multi().hset(key, { ...fields, status, finished_at: fields.updated_at ?? new Date().toISOString() }).expire(key, FINISHED_BACKFILL_TTL_SECONDS).srem(k.tenantBackfills(b.tenantId), b.backfillId);
    if ((await this.redis.get(dedupe)) === b.backfillId) tx.del(dedupe);
    await tx.exec();
  }

  /**
   * Runs `pass` as the only dispatcher of this backfill. An ask while another process holds the lock leaves a
   * flag; the holder makes one more pass when it finds the flag, so no finished run goes unnoticed.
   */
  async exclusively(tenantId: string, backfillId: string, lockMs: number, pass: () => Promise<void>): Promise<boolean> {
    const lockKey = this.keys.backfillLock(tenantId, backfillId);
    const again = this.keys.backfillAgain(tenantId, backfillId);
    await this.redis.set(again, '1', 'PX', lockMs);
    let ran = false;
    for (let lock = await tryLock(this.redis, lockKey, lockMs); lock; lock = await tryLock(this.redis, lockKey, lockMs)) {
      ran = true;
      try {
        while ((await this.redis.del(again)) === 1) await pass();
      } finally {
        await lock.release();
      }
      // An ask that arrived between the last check and the release: take the lock again for it.
      if ((await this.redis.exists(again)) === 0) break;
    }
    return ran;
  }
}
