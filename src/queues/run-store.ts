import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';
import { SCRIPT_CODES } from '../redis/scripts/errors';
import { isTerminalStatus, TERMINAL_STATUSES } from '../shared/run-status';
import type { Run } from '../pipelines/run';
import type { PendingRecord } from '../tenants/admission';
import type { RunProgress, StepState } from '../pipelines/types';
import type { PipelineRunJob, RunParameters, RunStatus, TriggerType } from './pipeline-runs';

/** Live view of one run as kept in Redis while it is recent (the warehouse keeps the history), plus its bookkeeping. */
export interface LiveRun extends Run {
  provider: string;
  domain: string;
  templateName: string;
  workerInstance: string | null;
  fingerprint: string | null;
  idempotencyKey: string | null;
  configId: string | null;
  scheduledTime: string | null;
  cancelRequested: boolean;
}

/** What run-start.lua did: started the run, or why not (with the status the run had). */
export type StartResult =
  | { outcome: 'started'; previous: RunStatus }
  | { outcome: 'cancel_requested'; previous: RunStatus }
  | { outcome: 'finished'; previous: RunStatus }
  | { outcome: 'missing' };

/** What run-cancel.lua found: the cancel was requested now, or the run is already terminal or unknown. */
export type CancelRequest = { outcome: 'requested'; previous: RunStatus } | { outcome: 'finished'; previous: RunStatus } | { outcome: 'missing' };

/** How a run ended, as RunStore.markTerminal writes it (an executed run also brings its start time and steps). */
export interface TerminalOutcome {
  status: RunStatus;
  at: Date;
  startedAt?: Date;
  durationMs: number | null;
  errorMessage?: string | null;
  steps?: StepState[];
  stepsDone?: number;
  stepsTotal?: number;
}

const TERMINAL_ARG = TERMINAL_STATUSES.join(',');

export interface RunStoreOptions {
  /** How long a finished run stays readable from Redis (the warehouse answers after that). */
  terminalTtlSeconds: number;
  /** How many recent run ids each tenant's index keeps for listing. */
  recentPerTenant: number;
}

const str = (v: string | undefined): string | null => (v === undefined || v === '' ? null : v);
const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v));

export class RunStore {
  private readonly scripts: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly options: RunStoreOptions = { terminalTtlSeconds: 7 * 86400, recentPerTenant: 1000 },
  ) {
    this.scripts = new ScriptRunner(redis);
  }

  /**
   * The PENDING record of a run about to be admitted, with the job payload it will run with: the admission
   * script (src/redis/scripts/admit.lua) writes it in the same call that admits the run, so an admitted run
   * always has its record and a refused one has none. run-start.lua expects these fields.
   */
  pendingRecord(job: PipelineRunJob, extra: { fingerprint?: string; idempotencyKey?: string; leaseMs?: number }): PendingRecord {
    const fields: Record<string, string> = {
      pipeline_logging_id: job.pipelineLoggingId,
      pipeline_id: job.pipelineId,
      tenant_id: job.tenantId,
      provider: job.provider,
      domain: job.domain,
      template_name: job.templateName,
      trigger_type: job.triggerType,
      status: 'PENDING',
      parameters: JSON.stringify(job.parameters),
      created_at: job.admittedAt,
    };
    // Written only when set, and no steps yet: every reader takes a missing field as unset (`get`, `getJob`,
    // run-terminal.lua's fingerprint). The job is the fields above (`getJob`), not a copy of them: a PENDING
    // record takes 504 bytes of Redis memory instead of 1,806 (MEMORY USAGE), and admission sends less.
    if (job.userId) fields['user_id'] = job.userId;
    if (extra.fingerprint) fields['fingerprint'] = extra.fingerprint;
    if (extra.idempotencyKey) fields['idempotency_key'] = extra.idempotencyKey;
    if (job.configId) fields['config_id'] = job.configId;
    if (job.scheduledTime) fields['scheduled_time'] = job.scheduledTime;
    if (job.batchId) fields['batch_id'] = job.batchId;
    // The slot's lease counts again from the start (run-start.lua): a run that waited for a worker is not late.
    if (extra.leaseMs) fields['lease_ms'] = String(Math.ceil(extra.leaseMs));
    return { fields, createdMs: new Date(job.admittedAt).getTime(), keepRecent: this.options.recentPerTenant };
  }

  /**
   * Writes a PENDING record outside admission (tools and tests; the trigger path has admit.lua write it).
   * The run hash and the tenant's run index share the tenant's hash tag (and slot): one MULTI on a cluster.
   */
  async createPending(job: PipelineRunJob, extra: Parameters<RunStore['pendingRecord']>[1] = {}): Promise<void> {
    const record = this.pendingRecord(job, extra);
    const index = this.keys.tenantRuns(job.tenantId);
    await this.redis
      .multi()
      .hset(this.keys.run(job.tenantId, job.pipelineLoggingId), record.fields)
      .zadd(index, record.createdMs, job.pipelineLoggingId)
      .zremrangebyrank(index, 0, -(record.keepRecent + 1))
      .exec();
  }

  /** A run of this tenant; another tenant's run id is simply not found (its hash lives under that tenant's tag). */
  async get(tenantId: string, runId: string): Promise<LiveRun | null> {
    const h = await this.redis.hgetall(this.keys.run(tenantId, runId));
    if (!h.pipeline_logging_id) return null;
    return {
      pipelineLoggingId: h.pipeline_logging_id,
      pipelineId: h.pipeline_id ?? '',
      tenantId: h.tenant_id ?? '',
      provider: h.provider ?? '',
      domain: h.domain ?? '',
      templateName: h.template_name ?? '',
      userId: str(h.user_id),
      triggerType: (h.trigger_type ?? 'api') as TriggerType,
      status: (h.status ?? 'PENDING') as RunStatus,
      parameters: JSON.parse(h.parameters ?? '{}') as RunParameters,
      createdAt: h.created_at ?? '',
      startTime: str(h.started_at),
      endTime: str(h.ended_at),
      durationMs: num(h.duration_ms),
      stepsTotal: num(h.steps_total) ?? 0,
      stepsDone: num(h.steps_done) ?? 0,
      steps: JSON.parse(h.steps ?? '[]') as StepState[],
      errorMessage: str(h.error_message),
      workerInstance: str(h.worker_instance),
      fingerprint: str(h.fingerprint),
      idempotencyKey: str(h.idempotency_key),
      configId: str(h.config_id),
      scheduledTime: str(h.scheduled_time),
      cancelRequested: h.cancel_requested === '1',
    };
  }

  /** The run's job as it was queued, rebuilt from the record (a record written before 2026-12-04 also holds it as `job`). */
  async getJob(tenantId: string, runId: string): Promise<PipelineRunJob | null> {
    const [id, pipelineId, tenant, provider, domain, templateName, triggerType, parameters, createdAt, userId, configId, scheduledTime, batchId] = await this.redis.hmget(
      this.keys.run(tenantId, runId), 'pipeline_logging_id', 'pipeline_id', 'tenant_id', 'provider', 'domain', 'template_name', 'trigger_type', 'parameters', 'created_at',
      'user_id', 'config_id', 'scheduled_time', 'batch_id',
    );
    if (!id || !pipelineId || !tenant || !provider || !domain || !templateName || !createdAt) return null;
    return {
      pipelineLoggingId: id,
      pipelineId,
      tenantId: tenant,
      provider,
      domain,
      templateName,
      parameters: JSON.parse(parameters ?? '{}') as RunParameters,
      userId: userId || null,
      triggerType: (triggerType ?? 'api') as TriggerType,
      ...(configId ? { configId } : {}),
      ...(scheduledTime ? { scheduledTime } : {}),
      ...(batchId ? { batchId } : {}),
      admittedAt: createdAt,
    };
  }

  async status(tenantId: string, runId: string): Promise<RunStatus | null> {
    return (await this.redis.hget(this.keys.run(tenantId, runId), 'status')) as RunStatus | null;
  }

  /**
   * PENDING → RUNNING in one script, only while no cancel was requested and the run is not terminal; the run's
   * concurrency lease (template timeout + margin, `lease_ms`) then counts from `at`, not from its admission.
   */
  async start(tenantId: string, runId: string, at: Date, workerInstance: string): Promise<StartResult> {
    const [code, previous] = await this.scripts.run(
      'run-start',
      [this.keys.run(tenantId, runId), this.keys.dispatchBacklog(tenantId), this.keys.running(tenantId)],
      [TERMINAL_ARG, at.toISOString(), workerInstance, runId, at.getTime()],
    );
    const status = previous as RunStatus;
    if (code === 1) return { outcome: 'started', previous: status };
    if (code === SCRIPT_CODES.runCancelRequested) return { outcome: 'cancel_requested', previous: status };
    if (code === SCRIPT_CODES.runFinished) return { outcome: 'finished', previous: status };
    return { outcome: 'missing' };
  }

  /** A running run's steps so far; nothing is written once the run ended (run-progress.lua). */
  async recordProgress(tenantId: string, runId: string, progress: RunProgress): Promise<void> {
    await this.scripts.run('run-progress', [this.keys.run(tenantId, runId)], [TERMINAL_ARG, progress.stepsDone, progress.stepsTotal, JSON.stringify(progress.steps)]);
  }

  /**
   * A run ended without its executor's end (cancelled before a worker ran it, failed by orphan cleanup) keeps the
   * steps its last progress write recorded: those still PENDING or RUNNING are closed as the run ended (see
   * closeOpenSteps). Call after the terminal mark; progress writes stop at it, so nothing reopens them.
   */
  async closeOpenSteps(tenantId: string, runId: string, end: { status: RunStatus; errorMessage: string | null; at: Date }): Promise<void> {
    const live = await this.get(tenantId, runId);
    if (!live || !live.steps.some((s) => s.status === 'PENDING' || s.status === 'RUNNING')) return;
    await this.recordLateSteps(tenantId, runId, closeOpenSteps(live.steps, end));
  }

  /**
   * Writes an ended run's steps again with figures known only after it ended (a cancelled BigQuery job's bytes).
   * Call after the run ended: only a terminal record is written, and a record that is gone is not recreated.
   */
  async recordLateSteps(tenantId: string, runId: string, steps: StepState[]): Promise<boolean> {
    return (await this.scripts.run('run-late-steps', [this.keys.run(tenantId, runId)], [TERMINAL_ARG, JSON.stringify(steps)])) === 1;
  }

  /**
   * Moves the run to a terminal status once: returns false when it already was terminal
   * (so the caller does not release or count it twice).
   */
  async markTerminal(tenantId: string, runId: string, outcome: TerminalOutcome): Promise<boolean> {
    return (await this.terminate(tenantId, runId, outcome)).fresh;
  }

  /**
   * markTerminal, also returning the run's fingerprint (read by the same script) for the slot release, and the status
   * it found: a terminal one when the run had already ended (`fresh` false), 'MISSING' when there is no record.
   */
  async terminate(tenantId: string, runId: string, outcome: TerminalOutcome): Promise<{ fresh: boolean; fingerprint: string | null; previous: string }> {
    const key = this.keys.run(tenantId, runId);
    const fields: Record<string, string> = {
      status: outcome.status,
      ended_at: outcome.at.toISOString(),
      duration_ms: outcome.durationMs === null ? '' : String(outcome.durationMs),
      error_message: outcome.errorMessage ?? '',
    };
    // An executed run keeps the executor's own start time, as its warehouse row does.
    if (outcome.startedAt) fields.started_at = outcome.startedAt.toISOString();
    if (outcome.steps) fields.steps = JSON.stringify(outcome.steps);
    if (outcome.stepsDone !== undefined) fields.steps_done = String(outcome.stepsDone);
    if (outcome.stepsTotal !== undefined) fields.steps_total = String(outcome.stepsTotal);
    const [previous, fingerprint] = await this.scripts.run('run-terminal', [key], [this.options.terminalTtlSeconds, TERMINAL_ARG, ...Object.entries(fields).flat()]);
    return { fresh: previous !== 'MISSING' && !isTerminalStatus(previous), fingerprint: str(fingerprint), previous };
  }

  /** Sets the run's cancel flag in one script, only while it is not terminal; reports the status it found. */
  async requestCancel(tenantId: string, runId: string): Promise<CancelRequest> {
    const [code, previous] = await this.scripts.run('run-cancel', [this.keys.run(tenantId, runId)], [TERMINAL_ARG]);
    if (code === 1) return { outcome: 'requested', previous: previous as RunStatus };
    if (code === SCRIPT_CODES.runFinished) return { outcome: 'finished', previous: previous as RunStatus };
    return { outcome: 'missing' };
  }

  /** Removes a run that never got enqueued (admission refunded). One slot: both keys carry the tenant's tag. */
  async discard(tenantId: string, runId: string): Promise<void> {
    await this.redis.multi().del(this.keys.run(tenantId, runId)).zrem(this.keys.tenantRuns(tenantId), runId).exec();
  }

  /** Recent run ids of a tenant, newest first, created within [sinceMs, untilMs]. */
  async recentIds(tenantId: string, sinceMs: number, untilMs: number, limit: number, offset = 0): Promise<string[]> {
    return this.redis.zrevrangebyscore(this.keys.tenantRuns(tenantId), untilMs, sinceMs, 'LIMIT', offset, limit);
  }

  /** What a run list filters on, for each of these runs of the tenant (null: no live record). */
  async listFields(tenantId: string, runIds: string[]): Promise<Array<{ runId: string; status: string; pipelineId: string; createdAt: string } | null>> {
    const found = await Promise.all(runIds.map((runId) => this.redis.hmget(this.keys.run(tenantId, runId), 'status', 'pipeline_id', 'created_at', 'tenant_id')));
    return found.map(([status, pipelineId, createdAt, owner], i) =>
      status && owner === tenantId ? { runId: runIds[i] as string, status, pipelineId: pipelineId ?? '', createdAt: createdAt ?? '' } : null,
    );
  }
}

/**
 * The steps of a run that ended while they were open: a RUNNING step ends as the run did (FAILED with the run's
 * error, or CANCELLED) at the run's end; a step never started is CANCELLED with a cancelled run, SKIPPED with a
 * failed one — as the executor closes them when it ends a run itself.
 */
export function closeOpenSteps(steps: StepState[], end: { status: RunStatus; errorMessage: string | null; at: Date }): StepState[] {
  const cancelled = end.status === 'CANCELLED';
  const endTime = end.at.toISOString();
  return steps.map((step) => {
    if (step.status === 'RUNNING') {
      const started = step.startTime ? Date.parse(step.startTime) : NaN;
      return {
        ...step,
        status: cancelled ? 'CANCELLED' : 'FAILED',
        endTime,
        ...(Number.isNaN(started) ? {} : { durationMs: Math.max(0, end.at.getTime() - started) }),
        ...(end.errorMessage ? { errorMessage: end.errorMessage } : {}),
      };
    }
    if (step.status !== 'PENDING') return step;
    return cancelled ? { ...step, status: 'CANCELLED' } : { ...step, status: 'SKIPPED', errorMessage: `run ended: ${end.errorMessage ?? end.status}` };
  });
}
