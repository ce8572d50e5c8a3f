import type { Queue } from 'bullmq';
import type { Config } from '../config';
import type { Clock } from '../shared/clock';
import { utcDay } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../observability/metrics';
import type { RedisKeys } from '../redis/keys';
import type { RedisClient } from '../redis/connection';
import type { Warehouse } from '../warehouse/types';
import { AppError, isAppError } from '../shared/errors';
import { pipelineIdOf } from '../shared/ids';
import { executeRun } from '../pipelines/executor';
import { validatePipeline } from '../pipelines/validate';
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
import { createTriggerRun } from '../queues/trigger-run';
import type { Admission } from '../tenants/admission';
import { reloadProfileCache } from '../tenants/profile-loader';
import { billingExportTable } from '../tenants/provider-settings';
import type { PlanCatalog } from '../tenants/plans';
import type { TenantDeps } from '../tenants/tenant-deps';
import type { ExecutionOutcome, PipelineWorkerDeps } from '../workers/pipeline-worker';
import type { Seats } from './seats';

export interface RunServicesDeps {
  config: Config;
  redis: RedisClient;
  bull: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
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
  /** Called after every run ends (scheduler stats, the tenant's deferred runs). */
  onRunFinished(job: PipelineRunJob, status: RunStatus, durationMs: number | null): Promise<void>;
}

export interface RunServices {
  queue: Queue<PipelineRunJob>;
  runStore: RunStore;
  finaliser: RunFinaliser;
  trigger: TriggerRun;
  runService: RunService;
  execute: PipelineWorkerDeps['execute'];
  /** Renders and checks a run without executing it (BigQuery adds dry-run byte estimates). */
  validate(tenantId: string, provider: string, domain: string, name: string, raw: Record<string, unknown>): Promise<Record<string, unknown>>;
}

const SOURCE_CACHE_MS = 30_000;
/** Finished runs stay readable from Redis for a day (log reconciliation reads them); the warehouse answers after. */
const FINISHED_RUN_TTL_SECONDS = 86_400;
const QUOTA_CODES = new Set<string>(['DAILY_QUOTA_EXCEEDED', 'MONTHLY_QUOTA_EXCEEDED', 'CONCURRENT_LIMIT_REACHED', 'TEAM_LIMIT_REACHED', 'PROVIDER_LIMIT_REACHED']);

/** Everything about runs: the queue, the live store, the trigger routine, finalisation, reads and the executor. */
export function buildRunServices(deps: RunServicesDeps): RunServices {
  const { config, clock, keys } = deps;
  const queue = createPipelineRunsQueue(deps.bull, keys);
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
  });
  const startRun = createTriggerRun<Template>({
    resolveTemplate: (provider, domain, name) => {
      const template = deps.templates.get(provider, domain, name);
      return template ? { template, timeoutMs: template.timeout_minutes * 60_000 } : undefined;
    },
    validateParameters: (template, raw, now) => validateRunParameters(template, raw, now),
    admit: (req) => deps.admission.admit(req),
    refund: async (req) => {
      await deps.admission.refund(req.tenantId, req.runId, utcDay(req.admittedAt), req.fingerprint, req.idempotencyKey);
    },
    touchProvider: (tenantId, provider) => deps.seats.provider(tenantId, provider),
    reloadProfile: async (tenantId) => (await reloadProfileCache(deps.tenantDeps, tenantId)) !== null,
    runStore,
    enqueue: (job) => enqueuePipelineRun(queue, job, { retentionSeconds: config.worker.completedRetentionSeconds, retentionCount: config.worker.retainedJobCount }),
    clock,
    leaseMarginMs: config.scheduler.orphanMarginMinutes * 60_000,
  });
  const trigger: TriggerRun = async (request) => {
    try {
      return await startRun(request);
    } catch (err) {
      if (isAppError(err) && QUOTA_CODES.has(err.code)) deps.metrics.quotaRejections.inc({ reason: err.code });
      throw err;
    }
  };
  const runService = new RunService({ runStore, warehouse: deps.warehouse, queue, redis: deps.redis, keys, finaliser, clock });

  // The GCP billing export table comes from the tenant's provider settings, resolved for the tenant (never a
  // raw string: the renderer takes only resolved tables); cached briefly per process, a refusal is not cached.
  // The lookup itself is shared: a hundred runs of one tenant starting together make one warehouse query, not
  // a hundred (on BigQuery each is a query job of its own).
  const sourceCache = new Map<string, { value: Promise<RenderOverrides>; until: number }>();
  const overridesFor = (job: Pick<PipelineRunJob, 'provider' | 'tenantId'>): Promise<RenderOverrides> => {
    if (job.provider !== 'gcp') return Promise.resolve({});
    const hit = sourceCache.get(job.tenantId);
    if (hit && hit.until > Date.now()) return hit.value;
    const value = billingExportTable(deps.tenantDeps, job.tenantId).then((table): RenderOverrides => (table ? { source_table: table } : {}));
    const entry = { value, until: Date.now() + SOURCE_CACHE_MS };
    sourceCache.set(job.tenantId, entry);
    value.catch(() => {
      if (sourceCache.get(job.tenantId) === entry) sourceCache.delete(job.tenantId);
    });
    return value;
  };
  const execute: PipelineWorkerDeps['execute'] = async (job, options): Promise<ExecutionOutcome> => {
    const outcome = await executeRun(
      { warehouse: deps.warehouse, logWriter: deps.logWriter, logger: deps.logger, clock, templates: deps.templates },
      job,
      { signal: options.signal, workerInstance: options.workerInstance, attempt: options.attempt, onProgress: options.onProgress, overrides: () => overridesFor(job) },
    );
    for (const step of outcome.steps) {
      if (step.durationMs !== undefined) deps.metrics.stepDuration.observe({ step_type: step.type, status: step.status }, step.durationMs / 1000);
    }
    return outcome;
  };
  const validate: RunServices['validate'] = async (tenantId, provider, domain, name, raw) => {
    const template = deps.templates.get(provider, domain, name);
    if (!template) throw new AppError(404, 'TEMPLATE_NOT_FOUND', `Template not found: configs/${provider}/${domain}/${name}.yml`);
    const params = validateRunParameters(template, raw, clock.now());
    const report = await validatePipeline({ warehouse: deps.warehouse }, template, params, { tenantId, ...(await overridesFor({ provider, tenantId })) });
    return { pipeline_id: pipelineIdOf(tenantId, provider, domain, name), parameters: params, ...report };
  };
  return { queue, runStore, finaliser, trigger, runService, execute, validate };
}
