import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { isAppError } from '../shared/errors';
import { WarehouseError } from '../warehouse/types';
import type { Logger } from '../shared/logger';
import type { RunStatus, TriggerRun } from '../queues/pipeline-runs';
import { unfinishedStatus } from './deferred-queue';
import type { DeferredEntry } from './deferred-queue';
import { scheduledRunId } from './run-id';
import type { FireState, ScheduleConfig } from './types';

/** One claimed (config, fire time). `misfired`: it fired later than the grace allows (downtime). */
export interface Fire {
  config: ScheduleConfig;
  fireMs: number;
  misfired: boolean;
  /** Next fire time the claim advanced the config to (ms), or null when it left the due index. */
  nextMs: number | null;
  /** In-flight member to remove once settled. */
  leaseMember: string;
}

export interface FireOutcome {
  fire: Fire;
  state: FireState;
  runId: string | null;
  reason: string | null;
  /** Set when the fire waits in the execution queue. */
  deferred: DeferredEntry | null;
}

export interface FireDeps {
  redis: RedisClient;
  keys: RedisKeys;
  trigger: TriggerRun;
  /** The live status of one of the tenant's runs (null when Redis no longer holds it). */
  getRunStatus(tenantId: string, runId: string): Promise<RunStatus | null>;
  logger?: Logger;
}

/**
 * Decides and does what one claimed fire should do: misfire policy, then overlap policy, then the
 * trigger, whose quota refusals become SKIPPED_QUOTA (daily/monthly) or a deferred run (concurrent), as does a
 * dependency that is unavailable.
 */
export async function handleFire(deps: FireDeps, fire: Fire, now: Date): Promise<FireOutcome> {
  const { config } = fire;
  const runId = scheduledRunId(config.config_id, fire.fireMs);
  const scheduledTime = new Date(fire.fireMs).toISOString();
  const outcome = (state: FireState, reason: string | null, extra: Partial<FireOutcome> = {}): FireOutcome => ({
    fire,
    state,
    runId: null,
    reason,
    deferred: null,
    ...extra,
  });
  const defer = (afterRunId: string | null, reason: string): FireOutcome => {
    const entry: DeferredEntry = {
      run_id: runId,
      tenant_id: config.tenant_id,
      config_id: config.config_id,
      provider: config.provider,
      domain: config.domain,
      template_name: config.pipeline_template,
      parameters: config.parameters,
      scheduled_time: scheduledTime,
      enqueued_at: now.toISOString(),
      after_run_id: afterRunId,
    };
    return outcome('QUEUED', reason, { runId, deferred: entry });
  };

  if (fire.misfired && config.misfire_policy === 'skip') {
    const lateSeconds = Math.round((now.getTime() - fire.fireMs) / 1000);
    return outcome('MISFIRED', `missed by ${lateSeconds}s; misfire_policy skip`);
  }

  if (config.overlap_policy !== 'allow' && config.last_run_id && config.last_run_id !== runId) {
    const previous = await unfinishedStatus(deps, config.tenant_id, config.last_run_id);
    if (previous) {
      const why = `previous run ${config.last_run_id} is ${previous}`;
      if (config.overlap_policy === 'skip') return outcome('SKIPPED', `${why}; overlap_policy skip`);
      return defer(config.last_run_id, `${why}; overlap_policy queue`);
    }
  }

  try {
    const result = await deps.trigger({
      tenantId: config.tenant_id,
      provider: config.provider,
      domain: config.domain,
      templateName: config.pipeline_template,
      parameters: config.parameters,
      userId: null,
      triggerType: 'scheduler',
      runId,
      configId: config.config_id,
      scheduledTime,
    });
    const reason = fire.misfired ? 'catch-up run after missed fires; misfire_policy run_once' : result.kind === 'existing' ? 'run already started' : null;
    return outcome('TRIGGERED', reason, { runId: result.pipelineLoggingId });
  } catch (err) {
    // A dependency that cannot serve now (the warehouse past PLATFORM_WAREHOUSE_TIMEOUT_MS or down while the tenant's
    // profile is reloaded, Redis trouble): the fire waits in the execution queue, which starts it once it can.
    if (isUnavailable(err)) {
      deps.logger?.warn({ err, configId: config.config_id, scheduledTime }, 'scheduled fire waits in the execution queue: a dependency is unavailable');
      return defer(null, 'DEPENDENCY_UNAVAILABLE; waits in the execution queue');
    }
    if (!isAppError(err)) {
      deps.logger?.error({ err, configId: config.config_id, scheduledTime }, 'scheduled fire failed');
      return outcome('FAILED', 'internal error while triggering');
    }
    if (err.code === 'DAILY_QUOTA_EXCEEDED' || err.code === 'MONTHLY_QUOTA_EXCEEDED') return outcome('SKIPPED_QUOTA', err.code);
    if (err.code === 'CONCURRENT_LIMIT_REACHED') return defer(null, 'CONCURRENT_LIMIT_REACHED; waits for a free slot');
    return outcome('FAILED', `${err.code}: ${err.message}`);
  }
}


const isUnavailable = (err: unknown): boolean =>
  (err instanceof WarehouseError && err.reason === 'unavailable') || (isAppError(err) && err.code === 'DEPENDENCY_UNAVAILABLE');
