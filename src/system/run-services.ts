import type { Queue } from 'bullmq';
import type { Config } from '../config';
import type { Clock } from '../shared/clock';
import { utcDay } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../observability/metrics';
import type { RedisKeys } from '../redis/keys';
import type { RedisClient } from '../redis/connection';
import type { Warehouse } from '../warehouse/types';
import { isAppError } from '../shared/errors';
import { executeRun } from '../pipelines/executor';
import { validateRun } from '../pipelines/validate-run';
import type { RunValidation } from '../pipelines/validate-run';
import { validateRunParameters } from '../pipelines/parameters';
import type { RunLogWriter } from '../pipelines/run-log-writer';
import type { TemplateRegistry } from '../pipelines/template-registry';
import type { Template } from '../pipelines/types';
import type { RenderOverrides } from '../pipelines/render';
import { createPipelineRunsQueue, enqueuePipelineRun } from '../queues/pipeline-runs';
import type { PipelineRunJob, RunStatus, TriggerRun } from '../queues/pipeline-runs';
import { RunFinaliser } from '../queues/run-finaliser';
import { writeRunFromLive } from '../queues/run-log-outbox';
import type { RunLogOutbox } from '../queues/run-log-outbox';
import { RunService } from '../queues/run-service';
import { RunStore } from '../queues/run-store';
import { createTriggerRun, retryInBackground } from '../queues/trigger-run';
import type { Admission } from '../tenants/admission';
import { reloadProfileCache } from '../tenants/profile-loader';
import { BillingTableCache } from '../tenants/billing-table-cache';
import type { PlanCatalog } from '../tenants/plans';
import type { TenantDeps } from '../tenants/tenant-deps';
import type { ExecutionOutcome, PipelineWorkerDeps } from '../workers/pipeline-worker';
import type { Seats } from '../tenants/seats';
import { admitWithSeats } from '../tenants/trigger-admission';
import type { WebhookEmitter } from '../queues/webhook-events';
import { buildCostGuard } from './cost-guard';
import { BytesBudget } from '../tenants/bytes-budget';

export interface RunServicesDeps {
  config: Config;
  redis: RedisClient;
  /** The run queue's connection: the process's BullMQ producer connection (auto-pipelined), never a Worker's. */
  producer: RedisClient;
  keys: RedisKeys;
  /** Every platform call: run reads, validate's dry runs, the tenant's settings at a run's start (deadlines.ts). */
  warehouse: Warehouse;
  /** Pipeline steps' calls: no platform deadline, the step and run timeouts and cancellation bound them. */
  stepWarehouse: Warehouse;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  templates: TemplateRegistry;
  plans: PlanCatalog;
  admission: Admission;
  seats: Seats;
  logWriter: RunLogWriter;
  outbox: RunLogOutbox;
  tenantDeps: TenantDeps;
  /** Test hooks on the trigger path. */
  faults?: RunFaults;
  /** Called after every run ends (scheduler stats, the tenant's deferred runs). */
  onRunFinished(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
  /** Webhook events of runs (run.*) and of quota refusals (quota.exhausted); both swallow their errors. */
  webhooks?: Pick<WebhookEmitter, 'notifyRunFinished' | 'notifyQuotaExhausted'>;
}

/** Test hooks: a rejection from `beforeEnqueue` is what a queue write failing after admission looks like. */
export interface RunFaults {
  beforeEnqueue?(job: PipelineRunJob): Promise<void>;
}

export interface RunServices {
  queue: Queue<PipelineRunJob>;
  runStore: RunStore;
  finaliser: RunFinaliser;
  trigger: TriggerRun;
  runService: RunService;
  execute: PipelineWorkerDeps['execute'];
  /** Renders and checks a run without executing it (BigQuery adds dry-run byte estimates). */
  validate(tenantId: string, provider: string, domain: string, name: string, raw: Record<string, unknown>): Promise<RunValidation>;
  /**
   * Waits (at most `timeoutMs`) for what cancelled BigQuery jobs billed: settled into the budget and written into
   * their runs' rows once BigQuery reports it, after the runs ended. Graceful stop, before the log writer closes.
   */
  drainLateBilling(timeoutMs: number): Promise<boolean>;
}

/** Finished runs stay readable from Redis for a day (log reconciliation reads them); the warehouse answers after. */
const FINISHED_RUN_TTL_SECONDS = 86_400;
const QUOTA_CODES = new Set<string>(['DAILY_QUOTA_EXCEEDED', 'MONTHLY_QUOTA_EXCEEDED', 'CONCURRENT_LIMIT_REACHED', 'TEAM_LIMIT_REACHED', 'PROVIDER_LIMIT_REACHED']);

/** Everything about runs: the queue, the live store, the trigger routine, finalisation, reads and the executor. */
export function buildRunServices(deps: RunServicesDeps): RunServices {
  const { config, clock, keys } = deps;
  const queue = createPipelineRunsQueue(deps.producer, keys);
  const runStore = new RunStore(deps.redis, keys, { terminalTtlSeconds: FINISHED_RUN_TTL_SECONDS, recentPerTenant: 1000 });
  const finaliser = new RunFinaliser({
    runStore,
    clock,
    logger: deps.logger,
    metrics: deps.metrics,
    recordTerminal: async (job) => {
      const live = await runStore.get(job.tenantId, job.pipelineLoggingId);
      if (live) writeRunFromLive(deps.logWriter, live);
    },
    release: async (job, status, fingerprint) => {
      await deps.admission.release(job.tenantId, job.pipelineLoggingId, status === 'PENDING' || status === 'RUNNING' ? 'FAILED' : status, fingerprint ?? undefined);
    },
    trackFinished: (job, at) => deps.outbox.track(job.tenantId, job.pipelineLoggingId, at),
    onRunFinished: deps.onRunFinished,
    ...(deps.webhooks ? { notifyRunFinished: deps.webhooks.notifyRunFinished } : {}),
  });
  const startRun = createTriggerRun<Template>({
    resolveTemplate: (provider, domain, name) => {
      const template = deps.templates.get(provider, domain, name);
      return template ? { template, timeoutMs: template.timeout_minutes * 60_000 } : undefined;
    },
    validateParameters: (template, raw, now) => validateRunParameters(template, raw, now),
    admit: (req) => admitWithSeats(deps.admission, deps.seats, req),
    refund: async (req) => {
      await deps.admission.refund(req.tenantId, req.runId, utcDay(req.admittedAt), req.fingerprint, req.idempotencyKey);
    },
    // A master failing over takes the refund down with the enqueue: tried again once a second while it may last.
    undoLater: (undo) => void retryInBackground(undo, Math.max(config.redis.failoverWaitMs, 5000), 1000, (err) => {
      deps.logger.warn({ err: err.message }, 'admission of a run that was never queued not refunded; the never-queued cleanup fails the run');
    }),
    reloadProfile: async (tenantId) => (await reloadProfileCache(deps.tenantDeps, tenantId)) !== null,
    runStore,
    enqueue: async (job, dispatchPriority) => {
      await deps.faults?.beforeEnqueue?.(job);
      const options = { retentionSeconds: config.worker.completedRetentionSeconds, retentionCount: config.worker.retainedJobCount, fairDispatch: config.fairDispatch };
      await enqueuePipelineRun(queue, job, options, dispatchPriority);
    },
    clock,
    leaseMarginMs: config.scheduler.orphanMarginMinutes * 60_000,
  });
  const trigger: TriggerRun = async (request) => {
    try {
      return await startRun(request);
    } catch (err) {
      if (isAppError(err) && QUOTA_CODES.has(err.code)) {
        deps.metrics.quotaRejections.inc({ reason: err.code });
        // Daily/monthly only (the emitter ignores the others); one SET NX per refusal, an event once per period.
        await deps.webhooks?.notifyQuotaExhausted(request.tenantId, err.code);
      }
      throw err;
    }
  };
  const runService = new RunService({ runStore, warehouse: deps.warehouse, queue, redis: deps.redis, keys, finaliser, clock });

  // The GCP billing export table comes from the tenant's provider settings, resolved for the tenant (never a
  // raw string: the renderer takes only resolved tables).
  const billingTables = new BillingTableCache(deps.tenantDeps);
  const overridesFor = async (tenantId: string, provider: string): Promise<RenderOverrides> => {
    if (provider !== 'gcp') return {};
    const table = await billingTables.get(tenantId);
    return table ? { source_table: table } : {};
  };
  const budget = new BytesBudget({ redis: deps.redis, keys, clock, reloadProfile: (tenantId) => reloadProfileCache(deps.tenantDeps, tenantId) });
  const costGuard = buildCostGuard(deps, budget);
  const execute: PipelineWorkerDeps['execute'] = async (job, options): Promise<ExecutionOutcome> => {
    const outcome = await executeRun(
      { warehouse: deps.stepWarehouse, logWriter: deps.logWriter, logger: deps.logger, clock, templates: deps.templates, ...(costGuard ? { costGuard } : {}) },
      job,
      { signal: options.signal, workerInstance: options.workerInstance, attempt: options.attempt, onProgress: options.onProgress, overrides: () => overridesFor(job.tenantId, job.provider) },
    );
    for (const step of outcome.steps) {
      if (step.durationMs !== undefined) deps.metrics.stepDuration.observe({ step_type: step.type, status: step.status }, step.durationMs / 1000);
    }
    return outcome;
  };
  const validate: RunServices['validate'] = (tenantId, provider, domain, name, raw) =>
    validateRun({ warehouse: deps.warehouse, templates: deps.templates, clock, overridesFor, bytesLimits: (tenantId) => budget.limits(tenantId) }, tenantId, provider, domain, name, raw);
  const drainLateBilling = async (timeoutMs: number): Promise<boolean> => (costGuard?.late ? costGuard.late.drain(timeoutMs) : true);
  return { queue, runStore, finaliser, trigger, runService, execute, validate, drainLateBilling };
}
