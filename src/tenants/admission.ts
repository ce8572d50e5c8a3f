import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { Clock } from '../shared/clock';
import { ScriptRunner } from '../redis/scripts';
import { utcDay, utcMonth } from '../shared/clock';
import { scriptError } from '../redis/scripts/errors';
import { TEAM_TTL_SECONDS, TEAM_WINDOW_MS } from './team-and-providers';

/**
 * Admission of runs against the tenant's plan, exact under any concurrency: every decision is one
 * Lua script (src/redis/scripts/admit.lua) over the tenant's hash-tagged keys, so any number of API
 * processes can admit at once. The limits are read from the profile hash inside the script, so a
 * plan change applies to the next trigger.
 */
export interface AdmissionDeps {
  redis: RedisClient;
  keys: RedisKeys;
  clock: Clock;
}

export interface AdmitRequest {
  tenantId: string;
  runId: string;
  /** How long the run may hold its concurrency slot before orphan cleanup may reclaim it. */
  leaseMs: number;
  /** Pipeline + parameters fingerprint: an identical trigger while this run is in flight returns it. */
  fingerprint?: string;
  idempotencyKey?: string;
  /** An X-User-ID taking a team seat in the same script, before the quotas (403 TEAM_LIMIT_REACHED beyond the plan). */
  userId?: string;
  /** A provider taking a provider seat in the same script, after the team seat (403 PROVIDER_LIMIT_REACHED). */
  provider?: string;
  /** The run's PENDING record, written by the same script only when the run is admitted. */
  record?: PendingRecord;
}

/** A run hash's fields and its place in the tenant's recent-runs index (see RunStore.pendingRecord). */
export interface PendingRecord {
  fields: Record<string, string>;
  createdMs: number;
  /** How many recent run ids the tenant's index keeps. */
  keepRecent: number;
}

export type AdmitResult =
  /** `dispatchPriority`: 1 = the tenant's first queued run, k ≥ 2 its k-th or later (README "Fair dispatch"). */
  | { outcome: 'admitted'; runId: string; admittedAt: Date; admittedAtDay: string; dispatchPriority: number }
  | { outcome: 'existing'; runId: string; reason: 'idempotency_key' | 'in_flight' }
  | { outcome: 'already_admitted'; runId: string }
  /** The profile hash is not in Redis: reload it (profile cache) and call admit again. */
  | { outcome: 'profile_missing' };

export type ReleaseStatus = 'COMPLETED' | 'FAILED' | 'CANCELLED';

export interface RunningRun {
  runId: string;
  leaseDeadlineMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;
/** Day and month counters outlive their period so the day close and late readers still see them. */
export const DAILY_USAGE_TTL_SECONDS = 40 * 24 * 3600;
export const MONTHLY_USAGE_TTL_SECONDS = 400 * 24 * 3600;
/** Admitted-run sets only serve "same run id twice" (today + yesterday) and same-day refunds. */
const ADMITTED_TTL_SECONDS = 3 * 24 * 3600;
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;
/**
 * The in-flight pointer is only believed while its run is still in the running set, so outliving
 * the run is harmless; outliving a lease that a worker extended is what matters.
 */
const IN_FLIGHT_MIN_TTL_SECONDS = 24 * 3600;
/** Stands in for an absent optional key: Cluster needs declared keys in the tenant's slot. */
const UNUSED = '_';

export class Admission {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  private readonly clock: Clock;
  private readonly scripts: ScriptRunner;
  private readonly dirty: DirtyMarks;

  constructor(deps: AdmissionDeps) {
    this.redis = deps.redis;
    this.keys = deps.keys;
    this.clock = deps.clock;
    this.scripts = new ScriptRunner(deps.redis);
    this.dirty = new DirtyMarks(deps.redis, deps.keys);
  }

  /**
   * Admits a run (writing its record, when given) or throws AppError 429 (quota, concurrency), 403 (team or
   * provider seat) or 401 (suspended tenant). One script call: see src/redis/scripts/admit.lua.
   */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    const { tenantId, runId } = req;
    const now = this.clock.now();
    const today = utcDay(now);
    const k = this.keys;
    const leaseMs = Math.max(1, Math.ceil(req.leaseMs));
    const [code, returnedRunId, dispatchPriority] = await this.scripts.run(
      'admit',
      [
        k.tenantProfile(tenantId),
        k.dailyUsage(tenantId, today),
        k.monthlyUsage(tenantId, utcMonth(now)),
        k.running(tenantId),
        k.admittedRuns(tenantId, today),
        k.admittedRuns(tenantId, utcDay(new Date(now.getTime() - DAY_MS))),
        k.inflight(tenantId, req.fingerprint ?? UNUSED),
        k.idempotency(tenantId, req.idempotencyKey ?? UNUSED),
        k.run(tenantId, runId),
        k.tenantRuns(tenantId),
        k.teamMembers(tenantId),
        k.providers(tenantId),
        k.dispatchBacklog(tenantId),
      ],
      [
        runId,
        now.getTime() + leaseMs,
        req.fingerprint === undefined ? 0 : Math.max(Math.ceil(leaseMs / 1000), IN_FLIGHT_MIN_TTL_SECONDS),
        req.idempotencyKey === undefined ? 0 : IDEMPOTENCY_TTL_SECONDS,
        DAILY_USAGE_TTL_SECONDS,
        MONTHLY_USAGE_TTL_SECONDS,
        ADMITTED_TTL_SECONDS,
        now.getTime(),
        req.userId ?? '',
        TEAM_WINDOW_MS,
        TEAM_TTL_SECONDS,
        req.provider?.toLowerCase() ?? '',
        req.record?.keepRecent ?? 0,
        req.record?.createdMs ?? 0,
        ...(req.record ? Object.entries(req.record.fields).flat() : []),
      ],
    );
    switch (code) {
      case 1:
        // Not awaited: the mark goes out with those of the other admissions answered in the same read.
        void this.dirty.mark(tenantId);
        return { outcome: 'admitted', runId, admittedAt: now, admittedAtDay: today, dispatchPriority: dispatchPriority ?? 1 };
      case 2:
        return { outcome: 'existing', runId: returnedRunId, reason: 'idempotency_key' };
      case 3:
        return { outcome: 'existing', runId: returnedRunId, reason: 'in_flight' };
      case 4:
        return { outcome: 'already_admitted', runId };
      case -1:
        return { outcome: 'profile_missing' };
      default:
        throw scriptError(code, { now });
    }
  }

  /** Frees the run's slot and counts its outcome for today, once. Returns whether it was running. */
  async release(tenantId: string, runId: string, status: ReleaseStatus, fingerprint?: string): Promise<boolean> {
    const today = utcDay(this.clock.now());
    const removed = await this.scripts.run(
      'release',
      [this.keys.running(tenantId), this.keys.dailyUsage(tenantId, today), this.keys.inflight(tenantId, fingerprint ?? UNUSED), this.keys.dispatchBacklog(tenantId)],
      [runId, status, fingerprint === undefined ? 0 : 1, DAILY_USAGE_TTL_SECONDS],
    );
    // Not awaited, as after an admission (markDirty never throws).
    if (removed === 1) void this.dirty.mark(tenantId);
    return removed === 1;
  }

  /** Undoes an admission whose enqueue failed. Returns whether anything was refunded (at most once). */
  async refund(
    tenantId: string,
    runId: string,
    admittedAtDay: string,
    fingerprint?: string,
    idempotencyKey?: string,
  ): Promise<boolean> {
    const k = this.keys;
    const refunded = await this.scripts.run(
      'refund',
      [
        k.running(tenantId),
        k.dailyUsage(tenantId, admittedAtDay),
        k.monthlyUsage(tenantId, admittedAtDay.slice(0, 7)),
        k.admittedRuns(tenantId, admittedAtDay),
        k.inflight(tenantId, fingerprint ?? UNUSED),
        k.idempotency(tenantId, idempotencyKey ?? UNUSED),
        k.dispatchBacklog(tenantId),
      ],
      [runId, fingerprint === undefined ? 0 : 1, idempotencyKey === undefined ? 0 : 1],
    );
    if (refunded === 1) await this.dirty.mark(tenantId);
    return refunded === 1;
  }

  /** The tenant's dispatch backlog: admitted runs no worker has picked up yet, with the priority each was enqueued with. */
  async dispatchBacklog(tenantId: string): Promise<Map<string, number>> {
    const flat = await this.redis.zrange(this.keys.dispatchBacklog(tenantId), 0, -1, 'WITHSCORES');
    const backlog = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) backlog.set(flat[i] as string, Number(flat[i + 1]));
    return backlog;
  }

  /** Runs holding a slot, soonest lease deadline first. */
  async runningRuns(tenantId: string): Promise<RunningRun[]> {
    return toRunningRuns(await this.redis.zrange(this.keys.running(tenantId), 0, -1, 'WITHSCORES'));
  }

  /** Runs whose lease deadline is at or before `nowMs`: candidates for orphan cleanup. */
  async expiredRuns(tenantId: string, nowMs: number): Promise<RunningRun[]> {
    return toRunningRuns(await this.redis.zrangebyscore(this.keys.running(tenantId), '-inf', nowMs, 'WITHSCORES'));
  }

  /** Moves a running run's lease deadline (e.g. when a worker starts it). Returns false, changing nothing, once released. */
  async setLeaseDeadline(tenantId: string, runId: string, leaseDeadlineMs: number): Promise<boolean> {
    const key = this.keys.running(tenantId);
    // XX: only update; a released run must never come back into the running set.
    const replies = await this.redis.multi().zadd(key, 'XX', leaseDeadlineMs, runId).zscore(key, runId).exec();
    const score = replies?.[1]?.[1];
    return score !== null && score !== undefined;
  }
}

/**
 * The usage-dirty set, written after the admission, release or refund script: it is global (another cluster
 * slot than the tenant's keys). A failed write only delays the warehouse usage row, never the counting, so
 * `mark` never rejects, and admission and release do not wait for it. Marks asked for by the continuations of
 * one I/O event (e.g. the admission replies of one Redis read) go out as one SADD, queued as a microtask
 * behind those continuations: at saturation a tenant's triggers answered together cost one command between
 * them, and the write still goes out before the caller's next command (a usage refresh right after an
 * admission sees the mark).
 */
export class DirtyMarks {
  /** The marks gathered for the SADD about to go out, and its promise. */
  private batch: { tenants: Set<string>; written: Promise<void> } | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  mark(tenantId: string): Promise<void> {
    if (this.batch) {
      this.batch.tenants.add(tenantId);
      return this.batch.written;
    }
    const tenants = new Set([tenantId]);
    const written = new Promise<void>((resolve) => {
      queueMicrotask(() => {
        this.batch = null;
        // On failure the next change or the day close writes the row.
        this.redis.sadd(this.keys.usageDirty(), ...tenants).then(() => resolve(), () => resolve());
      });
    });
    this.batch = { tenants, written };
    return written;
  }
}

function toRunningRuns(flat: string[]): RunningRun[] {
  const runs: RunningRun[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    runs.push({ runId: flat[i] as string, leaseDeadlineMs: Number(flat[i + 1]) });
  }
  return runs;
}
