import { ScriptRunner } from '../redis/scripts';
import { decodeConfig } from './config-hash';
import { mapWithConcurrency } from './concurrency';
import { nextFireTime } from './cron';
import { addDeferred, queueRowOf } from './deferred-queue';
import { parseDueMember, parseLeaseMember } from './due-index';
import { handleFire } from './fire';
import type { Fire, FireDeps, FireOutcome } from './fire';
import { writeFireRows, writeQueueRows } from './rows';
import { settleConfigs } from './settle';
import type { ScheduleConfig, SchedulerBaseDeps } from './types';

export { scheduledRunId } from './run-id';

/**
 * The scheduler tick: what `POST /scheduler/trigger`, Cloud Scheduler and our repeatable job all
 * call. Cost is O(due), not O(defined): due configs come from the due index by score.
 *
 * Exactly once per (config, fire time): each fire is claimed by a compare-and-advance script
 * before anything is triggered, so concurrent ticks split the due fires between them; a claimed
 * fire is leased until settled, and a tick that dies mid-way leaves leases a later tick takes
 * over (the run id is derived from the fire, so a repeat trigger returns the existing run).
 */
export interface TickDeps extends SchedulerBaseDeps, FireDeps {
  /** Trigger calls in flight at once (default 50). */
  concurrency?: number;
  /** A fire older than this when handled is a misfire (default: one tick + 60 s = 120 s). */
  misfireGraceMs?: number;
  /** How long a claimed fire may stay unsettled before another tick takes it over (default 10 min). */
  leaseMs?: number;
  /** Upper bound of fires read per call; the rest stay due for the next call (default 50,000). */
  maxDuePerTick?: number;
  /** Called for each fire that came later than the grace allows (schedule.misfired webhooks); must not throw. */
  onMisfire?(tenantId: string, data: Record<string, unknown>): Promise<void>;
}

export interface TickSummary {
  /** Fires this call claimed; the other fields split them by outcome. */
  due: number;
  triggered: number;
  skipped: number;
  queued: number;
  skipped_quota: number;
  misfired: number;
  failed: number;
}

const CLAIM_CHUNK = 500;
const DEFAULT_GRACE_MS = 120_000;
const DEFAULT_LEASE_MS = 600_000;

export async function triggerDueSchedules(deps: TickDeps, now: Date): Promise<TickSummary> {
  const { redis, keys } = deps;
  const nowMs = now.getTime();
  const leaseUntil = nowMs + (deps.leaseMs ?? DEFAULT_LEASE_MS);
  const grace = deps.misfireGraceMs ?? DEFAULT_GRACE_MS;
  const scripts = new ScriptRunner(redis);

  const [dueRaw, abandonedRaw] = await Promise.all([
    redis.zrangebyscore(keys.scheduleDue(), '-inf', nowMs, 'WITHSCORES', 'LIMIT', 0, deps.maxDuePerTick ?? 50_000),
    redis.zrangebyscore(keys.scheduleInflight(), '-inf', nowMs, 'WITHSCORES', 'LIMIT', 0, 10_000),
  ]);
  const due = pairs(dueRaw).map(([member, score]) => ({ member, fireMs: Number(score) }));
  const abandoned = pairs(abandonedRaw).map(([member, lease]) => ({ member, lease, ...parseLeaseMember(member) }));
  const configs = await loadConfigs(deps, [...due.map((d) => d.member), ...abandoned.map((a) => a.dueMember)]);

  // Claim due fires: compare the score read, advance it to the next fire time. A member whose config
  // hash is gone (deleted meanwhile) is claimed with no next time, which drops it from the index.
  const claims = due.map(({ member, fireMs }) => {
    const config = configs.get(member);
    const misfired = nowMs - fireMs > grace;
    const next = config?.is_active ? safeNextFire(deps, config, misfired ? now : new Date(fireMs)) : null;
    return { member, fireMs, misfired, nextMs: next ? next.getTime() : null };
  });
  const fires: Fire[] = [];
  const releaseOnly: string[] = [];
  for (let i = 0; i < claims.length; i += CLAIM_CHUNK) {
    const chunk = claims.slice(i, i + CLAIM_CHUNK);
    const args = chunk.flatMap((c) => [c.member, c.fireMs, c.nextMs ?? '']);
    const won = await scripts.run('schedule-claim', [keys.scheduleDue(), keys.scheduleInflight()], [leaseUntil, ...args]);
    chunk.forEach((c, j) => {
      if (won[j] !== 1) return;
      const leaseMember = `${c.member}|${c.fireMs}`;
      const config = configs.get(c.member);
      // A deleted or paused config leaves the index without firing.
      if (!config?.is_active) releaseOnly.push(leaseMember);
      else fires.push({ config, fireMs: c.fireMs, misfired: c.misfired, nextMs: c.nextMs, leaseMember });
    });
  }

  // Take over fires whose tick died before settling them; they were claimed in time, so no misfire.
  if (abandoned.length > 0) {
    const args = abandoned.flatMap((a) => [a.member, a.lease]);
    const won = await scripts.run('schedule-reclaim', [keys.scheduleInflight()], [leaseUntil, ...args]);
    abandoned.forEach((a, j) => {
      if (won[j] !== 1) return;
      const config = a.ref ? configs.get(a.dueMember) : undefined;
      if (!config?.is_active || a.fireMs === null) releaseOnly.push(a.member);
      else fires.push({ config, fireMs: a.fireMs, misfired: false, nextMs: null, leaseMember: a.member });
    });
  }

  const outcomes = await mapWithConcurrency(fires, deps.concurrency ?? 50, (fire) => handleFire(deps, fire, now));
  await settle(deps, outcomes, releaseOnly, now);
  for (const o of outcomes) {
    if (!o.fire.misfired || !deps.onMisfire) continue;
    await deps.onMisfire(o.fire.config.tenant_id, {
      config_id: o.fire.config.config_id,
      scheduled_time: new Date(o.fire.fireMs).toISOString(),
      misfire_policy: o.fire.config.misfire_policy,
      outcome: o.state,
      pipeline_logging_id: o.runId,
    });
  }
  return summarise(outcomes);
}

/** Records every outcome: deferred entries, config last-run fields, leases released, warehouse rows. */
async function settle(deps: TickDeps, outcomes: FireOutcome[], releaseOnly: string[], now: Date): Promise<void> {
  const { redis, keys } = deps;
  const deferred = outcomes.filter((o) => o.deferred !== null);
  await addDeferred(redis, keys, deferred.flatMap((o) => (o.deferred ? [o.deferred] : [])));
  await settleConfigs(
    redis,
    keys,
    outcomes.map((o) => ({
      tenantId: o.fire.config.tenant_id,
      configId: o.fire.config.config_id,
      fields: {
        last_run_time: new Date(o.fire.fireMs).toISOString(),
        last_run_status: o.state,
        ...(o.runId ? { last_run_id: o.runId } : {}),
        ...(o.fire.nextMs !== null ? { next_run_time: new Date(o.fire.nextMs).toISOString() } : {}),
      },
    })),
  );
  // Warehouse rows are written before leases go: if the write fails, the leases expire and a later
  // tick settles these fires again (same run ids, same row keys), so no fire's row is lost.
  await writeFireRows(
    deps.warehouse,
    outcomes.map((o) => ({
      config_id: o.fire.config.config_id,
      tenant_id: o.fire.config.tenant_id,
      scheduled_time: new Date(o.fire.fireMs),
      state: o.state,
      pipeline_logging_id: o.runId,
      reason: o.reason,
    })),
    now,
  );
  await writeQueueRows(
    deps.warehouse,
    deferred.flatMap((o) => (o.deferred ? [queueRowOf(o.deferred, 'QUEUED', null)] : [])),
    now,
  );
  const members = [...outcomes.map((o) => o.fire.leaseMember), ...releaseOnly];
  for (let i = 0; i < members.length; i += 5_000) await redis.zrem(keys.scheduleInflight(), ...members.slice(i, i + 5_000));
}

/**
 * The configs of due members, keyed by member. Their hashes sit in many tenants' slots, so each is
 * its own HGETALL; a chunk issued at once shares one round trip per node through auto-pipelining.
 */
async function loadConfigs(deps: TickDeps, members: string[]): Promise<Map<string, ScheduleConfig>> {
  const refs = [...new Set(members)].flatMap((member) => {
    const ref = parseDueMember(member);
    return ref ? [{ member, ref }] : [];
  });
  const out = new Map<string, ScheduleConfig>();
  for (let i = 0; i < refs.length; i += 5_000) {
    const chunk = refs.slice(i, i + 5_000);
    const hashes = await Promise.all(chunk.map(({ ref }) => deps.redis.hgetall(deps.keys.schedule(ref.tenantId, ref.configId))));
    chunk.forEach(({ member, ref }, j) => {
      const config = decodeConfig(hashes[j]);
      if (config && config.tenant_id === ref.tenantId && config.config_id === ref.configId) out.set(member, config);
    });
  }
  return out;
}

/** One config whose cron or zone no longer evaluates (e.g. a zone dropped from ICU) must not stop the tick. */
function safeNextFire(deps: TickDeps, config: ScheduleConfig, after: Date): Date | null {
  try {
    return nextFireTime(config.schedule_cron, config.timezone, after);
  } catch (err) {
    deps.logger?.error({ err, configId: config.config_id }, 'schedule cannot be evaluated; it leaves the due index');
    return null;
  }
}

function summarise(outcomes: FireOutcome[]): TickSummary {
  const summary: TickSummary = { due: outcomes.length, triggered: 0, skipped: 0, queued: 0, skipped_quota: 0, misfired: 0, failed: 0 };
  for (const o of outcomes) {
    if (o.state === 'TRIGGERED') summary.triggered += 1;
    else if (o.state === 'SKIPPED') summary.skipped += 1;
    else if (o.state === 'QUEUED') summary.queued += 1;
    else if (o.state === 'SKIPPED_QUOTA') summary.skipped_quota += 1;
    else if (o.state === 'MISFIRED') summary.misfired += 1;
    else summary.failed += 1;
  }
  return summary;
}

const pairs = (flat: string[]): [string, string][] => {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string]);
  return out;
};
