import { createHash } from 'node:crypto';
import { AppError, dependencyUnavailable, isAppError } from '../shared/errors';
import type { Clock } from '../shared/clock';
import { templateNotFound } from '../pipelines/template-registry';
import { newRunId, pipelineIdOf } from '../shared/ids';
import type { PipelineRunJob, RunParameters, TriggerRequest, TriggerResult, TriggerRun } from './pipeline-runs';
import type { AdmitRequest } from '../tenants/admission';
import type { RunStore } from './run-store';

/** What the trigger asks the admission script to decide and write: always the provider seat and the run's record. */
export type TriggerAdmission = AdmitRequest & Required<Pick<AdmitRequest, 'provider' | 'record'>>;

/** The outcome of the atomic admission script (see src/tenants/admission.ts). */
export type AdmitOutcome =
  | { outcome: 'admitted'; dispatchPriority?: number }
  | { outcome: 'existing'; runId: string; reason: 'idempotency_key' | 'in_flight' }
  | { outcome: 'already_admitted' }
  | { outcome: 'profile_missing' };

export interface TriggerDeps<T> {
  /** The template and how long a run of it may take (its lease is that plus a margin). */
  resolveTemplate(provider: string, domain: string, name: string): { template: T; timeoutMs: number } | undefined;
  validateParameters(template: T, raw: Record<string, unknown>, now: Date): RunParameters;
  /**
   * One atomic script (src/redis/scripts/admit.lua): the team seat of `userId` (403 TEAM_LIMIT_REACHED), the
   * provider seat (403 PROVIDER_LIMIT_REACHED), the quotas (429), and the run's PENDING `record` written
   * only when the run is admitted.
   */
  admit(request: TriggerAdmission): Promise<AdmitOutcome>;
  refund(request: { tenantId: string; runId: string; admittedAt: Date; fingerprint?: string; idempotencyKey?: string }): Promise<void>;
  /**
   * Tries `undo` (the refund and discard of an admitted run that could not be queued, both idempotent) again in the
   * background, after the trigger answered: its own try failed too, as while the tenant's master fails over.
   */
  undoLater?(undo: () => Promise<void>): void;
  /** Reloads a tenant's Redis profile from the warehouse (only when Redis lost it); false if the tenant is unknown. */
  reloadProfile(tenantId: string): Promise<boolean>;
  runStore: RunStore;
  /** `dispatchPriority`: the run's place in its tenant's backlog, from the admission script (README "Fair dispatch"). */
  enqueue(job: PipelineRunJob, dispatchPriority: number): Promise<void>;
  clock: Clock;
  leaseMarginMs: number;
}

/**
 * Runs `work` again every `everyMs` until it succeeds or `waitMs` passed, without keeping the process alive for it;
 * `onGiveUp` gets the last error. For an idempotent undo that failed while Redis was failing over.
 */
export async function retryInBackground(work: () => Promise<void>, waitMs: number, everyMs: number, onGiveUp: (err: Error) => void): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, everyMs).unref());
    try {
      await work();
      return;
    } catch (err) {
      if (Date.now() + everyMs > deadline) return onGiveUp(err as Error);
    }
  }
}

/** Same pipeline + same parameters = same fingerprint: a second identical trigger returns the run in flight. */
export function runFingerprint(pipelineId: string, parameters: RunParameters): string {
  const canonical = JSON.stringify(Object.keys(parameters).sort().map((k) => [k, parameters[k]]));
  return createHash('sha256').update(`${pipelineId}\n${canonical}`).digest('hex').slice(0, 32);
}

/**
 * Builds the one routine that starts runs, for the API and the scheduler alike. It touches only Redis:
 * admission (seats, quotas, running set, de-duplication and the PENDING run record) is one Lua script; the
 * job is added with the run id as its BullMQ job id; a run that cannot be enqueued after admission is
 * refunded and its record discarded.
 */
export function createTriggerRun<T>(deps: TriggerDeps<T>): TriggerRun {
  return async (req: TriggerRequest): Promise<TriggerResult> => {
    const provider = req.provider.toLowerCase();
    const domain = req.domain.toLowerCase();
    const resolved = deps.resolveTemplate(provider, domain, req.templateName);
    if (!resolved) throw templateNotFound(provider, domain, req.templateName);
    const now = deps.clock.now();
    const parameters = deps.validateParameters(resolved.template, req.parameters, now);
    const pipelineId = pipelineIdOf(req.tenantId, provider, domain, req.templateName);
    const runId = req.runId ?? newRunId();
    // Scheduled fires are de-duplicated by their deterministic run id, API triggers by fingerprint.
    const fingerprint = req.triggerType === 'api' ? runFingerprint(pipelineId, parameters) : undefined;
    const job: PipelineRunJob = {
      pipelineLoggingId: runId,
      pipelineId,
      tenantId: req.tenantId,
      provider,
      domain,
      templateName: req.templateName,
      parameters,
      userId: req.userId,
      triggerType: req.triggerType,
      ...(req.configId ? { configId: req.configId } : {}),
      ...(req.scheduledTime ? { scheduledTime: req.scheduledTime } : {}),
      ...(req.batchId ? { batchId: req.batchId } : {}),
      admittedAt: now.toISOString(),
    };
    const dedupe = { ...(fingerprint ? { fingerprint } : {}), ...(req.idempotencyKey ? { idempotencyKey: req.idempotencyKey } : {}) };
    const leaseMs = resolved.timeoutMs + deps.leaseMarginMs;
    const admission: TriggerAdmission = {
      tenantId: req.tenantId,
      runId,
      leaseMs,
      ...dedupe,
      // Only now, with the template found and the parameters valid, does the caller's X-User-ID take a seat.
      ...(req.triggerType === 'api' && req.userId ? { userId: req.userId } : {}),
      provider,
      record: deps.runStore.pendingRecord(job, { ...dedupe, leaseMs }),
    };
    let outcome = await deps.admit(admission);
    if (outcome.outcome === 'profile_missing') {
      if (!(await deps.reloadProfile(req.tenantId))) throw new AppError(401, 'INVALID_API_KEY', 'Invalid or missing API key');
      outcome = await deps.admit(admission);
    }
    if (outcome.outcome === 'profile_missing') throw new AppError(503, 'DEPENDENCY_UNAVAILABLE', 'Tenant profile unavailable, retry shortly');
    // The run "in flight" is this trigger's own: on a Redis Cluster ioredis sent the admission again after the old
    // master's connection closed with the reply lost, and the first one had run. It is admitted: queue it.
    if (outcome.outcome === 'existing' && outcome.runId === runId) outcome = { outcome: 'admitted' };
    if (outcome.outcome !== 'admitted') {
      const existingId = outcome.outcome === 'existing' ? outcome.runId : runId;
      const existing = await deps.runStore.get(req.tenantId, existingId);
      // The same Idempotency-Key with another pipeline or other parameters is a client bug, not a replay.
      if (outcome.outcome === 'existing' && outcome.reason === 'idempotency_key' && existing && existing.fingerprint !== (fingerprint ?? null)) {
        throw new AppError(409, 'IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was used for a different pipeline or different parameters');
      }
      return { kind: 'existing', pipelineLoggingId: existingId, pipelineId: existing?.pipelineId ?? pipelineId, tenantId: req.tenantId, status: existing?.status ?? 'PENDING' };
    }
    try {
      // Fair dispatch: admission placed the run in its tenant's backlog in the same script (no extra round trip).
      await deps.enqueue(job, outcome.dispatchPriority ?? 1);
    } catch (err) {
      const undo = async (): Promise<void> => {
        await deps.refund({ tenantId: req.tenantId, runId, admittedAt: now, ...dedupe });
        await deps.runStore.discard(req.tenantId, runId).catch(() => undefined);
      };
      await undo().catch((undoErr: unknown) => {
        deps.undoLater?.(undo);
        throw undoErr;
      });
      throw isAppError(err) ? err : dependencyUnavailable('The run queue', err);
    }
    return { kind: 'created', pipelineLoggingId: runId, pipelineId, tenantId: req.tenantId, status: 'PENDING' };
  };
}
