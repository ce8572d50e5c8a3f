import http from 'node:http';
import { listen } from '../shared/listen';
import type { AddressInfo } from 'node:net';
import type { Config, Role } from '../config';
import type { Clock } from '../shared/clock';
import { systemClock } from '../shared/clock';
import { PendingWork } from '../shared/pending-work';
import type { Logger } from '../shared/logger';
import { createMetrics } from '../observability/metrics';
import type { Metrics } from '../observability/metrics';
import type { ReadinessChecks } from '../observability/readiness';
import { RedisKeys } from '../redis/keys';
import { createApp } from '../api/app';
import type { ApiDeps } from '../api/deps';
import { localUrl, removeServerState, writeServerState } from '../api/server-state';
import { resolveAdminKey } from '../security/admin-key';
import { loadTemplateRegistry } from '../pipelines/template-registry';
import { createRunLogWriter } from '../pipelines/run-log-writer';
import type { RunLogWriter } from '../pipelines/run-log-writer';
import { createMaintenanceQueue, syncMaintenanceSchedulers } from '../queues/maintenance';
import type { MaintenanceQueue } from '../queues/maintenance';
import { RunLogOutbox } from '../queues/run-log-outbox';
import { AuditLog } from '../audit/audit-log';
import type { PipelineRunJob, RunStatus } from '../queues/pipeline-runs';
import { Admission } from '../tenants/admission';
import { AuthCache } from '../tenants/auth-cache';
import { createAuthChanges, subscribeAuthChanges } from '../tenants/auth-invalidation';
import type { AuthChangesSubscription } from '../tenants/auth-invalidation';
import { bootstrapCentral } from '../tenants/bootstrap';
import { upgradeTenantTables } from '../tenants/upgrade-tenant-tables';
import type { OnboardingFaults } from '../tenants/onboarding';
import { loadPlans } from '../tenants/plans';
import { createSeats } from '../tenants/seats';
import type { TenantDeps } from '../tenants/tenant-deps';
import { createMaintenanceWorker } from '../workers/maintenance-worker';
import type { MaintenanceWorker } from '../workers/maintenance-worker';
import { PipelineWorker } from '../workers/pipeline-worker';
import { buildApiDeps } from './api-deps';
import { createClients } from './clients';
import type { ClientOverrides, Clients } from './clients';
import { buildRunServices } from './run-services';
import type { RunFaults, RunServices } from './run-services';
import { migrateLegacyRedisKeys } from './migrate-redis-keys';
import { buildSchedulerServices } from './scheduler-services';
import { buildOffboardDeps, offboardingOf } from './offboarding-services';
import { offboardBackfillsOf, offboardWebhooksOf } from './offboarding-features';
import type { OffboardingFaults } from '../offboarding/types';
import { buildBatchServices } from './batch-services';
import type { BatchServices } from './batch-services';
import { syncBatchTick } from '../queues/batch-dispatch';
import { createBatchDispatchWorker } from '../workers/batch-dispatch-worker';
import type { BatchDispatchWorker } from '../workers/batch-dispatch-worker';
import type { SchedulerServices } from './scheduler-services';
import { buildWebhookServices } from './webhook-services';
import type { WebhookServices } from './webhook-services';
import type { ResolveAll } from '../webhooks/ssrf';
import type { WebhookWorker } from '../workers/webhook-worker';

/** Logged at WARN by every API start with DISABLE_AUTH=true (config refuses it in production). */
export const DISABLE_AUTH_WARNING =
  'DISABLE_AUTH=true: admin routes answer without X-Admin-Key, so EVERY TENANT\'S DATA IS OPEN to anyone who reaches this port ' +
  '(onboarding, API keys, plans, the warehouse query endpoint). Development only: never expose this server.';

export interface SystemOptions extends ClientOverrides {
  logger: Logger;
  clock?: Clock;
  version?: string;
  /** Test hooks for onboarding steps. */
  onboardingFaults?: OnboardingFaults;
  /** Test hooks on the run trigger path. */
  runFaults?: RunFaults;
  /** Flush interval of the warehouse log writer. */
  logFlushIntervalMs?: number;
  /** Flush interval of the audit log's outbox (default 1 s). */
  auditFlushIntervalMs?: number;
  /** Test hooks between offboarding steps. */
  offboardingFaults?: OffboardingFaults;
  /** Test hook: how webhook hosts resolve (the SSRF guard's dns.lookup). */
  webhookResolveAll?: ResolveAll;
}

/** What a role builds on top of the shared services; a process builds only the parts of the roles it runs. */
export type SystemPart =
  | 'api-deps' | 'bull-board' | 'http-server' | 'maintenance-queue' | 'pipeline-worker' | 'maintenance-worker' | 'batch-dispatch-worker' | 'webhook-worker';

/** One process's graph of clients and services; roles are started on it. */
export interface System {
  config: Config;
  clients: Clients;
  keys: RedisKeys;
  metrics: Metrics;
  adminApiKey: string;
  runs: RunServices;
  scheduler: SchedulerServices;
  /** Backfills and admin fan-outs (issue 15). */
  batches: BatchServices;
  logWriter: RunLogWriter;
  outbox: RunLogOutbox;
  tenantDeps: TenantDeps;
  /** The audit log's writer (flushed by API processes). */
  auditLog: AuditLog;
  /** Webhook endpoints, deliveries and the tenant-wide calls offboarding uses (disableAllWebhooks, deleteTenantWebhookState). */
  webhooks: WebhookServices;
  /** The HTTP layer's dependencies, built on first use (the api role; tests that read the route table). */
  apiDeps(): ApiDeps;
  /** Redis and the warehouse answer now (readiness probes of every role). */
  readiness(): Promise<ReadinessChecks>;
  isShuttingDown(): boolean;
  /** The role parts this process has built so far. */
  built(): SystemPart[];
  /** Starts the given role(s) in this process. */
  start(role: Role): Promise<void>;
  /** The HTTP server once the api role runs. */
  server(): http.Server | null;
  /** Graceful stop: stop accepting, finish or hand back in-flight runs, flush logs, close connections. */
  close(): Promise<void>;
}

export async function createSystem(config: Config, options: SystemOptions): Promise<System> {
  const { logger } = options;
  const clock = options.clock ?? systemClock;
  const keys = new RedisKeys(config.redis.keyPrefix);
  const metrics = createMetrics({ defaultMetrics: true });
  const admin = resolveAdminKey(config.auth.adminApiKey, config.auth.adminKeyPath);
  if (admin.generatedAt) logger.warn({ path: admin.generatedAt }, 'generated an admin key (ADMIN_API_KEY unset); read it from this file');
  const plans = loadPlans(config.configsDir);
  const templates = loadTemplateRegistry(config.configsDir);
  const clients = await createClients(config, logger, options);
  const { redis, warehouse } = clients;
  await migrateLegacyRedisKeys(redis, keys, logger);
  const tableScope = { kind: warehouse.kind, platformProjectId: config.warehouse.gcpProjectId };
  // The API's memory of recently authenticated keys, live only while the changes channel is subscribed (api role).
  const authCache = new AuthCache({ ttlMs: config.auth.cacheTtlMs });
  const authChanges = createAuthChanges({ redis, keys, cache: authCache, logger });
  const background = new PendingWork();
  const tenantDeps: TenantDeps = { warehouse, tableScope, redis, keys, keyManager: clients.keyManager, plans, clock, logger, authChanges, background };
  const admission = new Admission({ redis, keys, clock });
  const seats = createSeats({ redis, keys, clock });
  const outbox = new RunLogOutbox(redis, keys, logger);
  const auditLog = new AuditLog({ redis, keys, warehouse, clock, logger, flushIntervalMs: options.auditFlushIntervalMs ?? 1000 });
  const logWriter = createRunLogWriter({
    warehouse,
    logger,
    clock,
    flushIntervalMs: options.logFlushIntervalMs ?? 500,
    // The interval grows with a flush's cost on the embedded warehouse, where a flush is CPU the runs wait for. On
    // BigQuery a flush is an insertAll the worker awaits without spending CPU: its wall time is the service's
    // latency, not our cost, so rows keep the base interval and show in the views within about a second.
    // The embedded warehouse's ≈ 2 ms per table touched (bench/append-mix.ts) paces even the first flush.
    ...(config.warehouse.kind === 'bigquery' ? { maxFlushIntervalMs: options.logFlushIntervalMs ?? 500 } : { flushCostPerTableMs: 2 }),
    onTerminalRunsWritten: (finished) => outbox.confirm(finished),
  });

  // The scheduler needs the trigger routine; the runs need the scheduler's after-run hook. Tie the knot lazily.
  let scheduler: SchedulerServices | undefined;
  let batches: BatchServices | undefined;
  let runServices: RunServices | undefined;
  const webhooks = buildWebhookServices({
    config, redis, bull: clients.bull, keys, warehouse, keyManager: clients.keyManager, plans, clock, logger, version: options.version ?? '0.1.0',
    getRun: async (tenantId, runId) => (runServices ? runServices.runStore.get(tenantId, runId) : null),
    ...(options.webhookResolveAll ? { resolveAll: options.webhookResolveAll } : {}),
    audit: auditLog,
  });
  const runs = buildRunServices({
    config, redis, producer: clients.producer, keys, warehouse, stepWarehouse: clients.stepWarehouse, clock, logger, metrics, templates, plans, admission, seats, logWriter, outbox, tenantDeps,
    ...(options.runFaults ? { faults: options.runFaults } : {}),
    onRunFinished: async (job: PipelineRunJob, status: RunStatus, durationMs: number | null) => {
      await Promise.all([scheduler?.onRunFinished(job, status, durationMs), batches?.onRunFinished(job, status)]);
    },
    webhooks: webhooks.emitter,
  });
  runServices = runs;
  const schedulerServices = buildSchedulerServices({
    redis, keys, warehouse, clock, logger, templates, seats, admission,
    runStore: runs.runStore, finaliser: runs.finaliser, queue: runs.queue, trigger: runs.trigger,
    reconcileLogs: (now) => outbox.reconcile({ runStore: runs.runStore, logWriter }, now),
    notifyScheduleMisfired: webhooks.emitter.notifyScheduleMisfired,
  });
  scheduler = schedulerServices;
  const batchServices = buildBatchServices({ redis, bull: clients.bull, keys, warehouse, clock, logger, templates, plans, tenantDeps, runs });
  batches = batchServices;

  const parts = new Set<SystemPart>();
  let shuttingDown = false;
  const readiness = async (): Promise<ReadinessChecks> => {
    const [redisOk, warehouseOk] = await Promise.all([
      redis.ping().then(() => true, () => false),
      warehouse.ping().then(() => true, () => false),
    ]);
    return { redis: redisOk, warehouse: warehouseOk };
  };
  const isShuttingDown = (): boolean => shuttingDown;
  // Not fatal: a process still starts while the warehouse is out; the next start tries again (no marker was set).
  const upgradeTables = (): Promise<void> =>
    upgradeTenantTables({ warehouse, redis, keys, logger }).then(
      () => undefined,
      (err: unknown) => logger.error({ err }, 'tenant meta tables: adding new columns failed; retried at the next start'),
    );

  let maintenanceQueue: MaintenanceQueue | null = null;
  const maintenance = (): MaintenanceQueue => {
    if (!maintenanceQueue) parts.add('maintenance-queue');
    return (maintenanceQueue ??= createMaintenanceQueue(clients.bull, keys));
  };
  let apiDeps: ApiDeps | null = null;
  const api = (): ApiDeps => {
    if (apiDeps) return apiDeps;
    parts.add('api-deps').add('bull-board');
    apiDeps = buildApiDeps({
      config, version: options.version ?? '0.1.0', logger, metrics, clock, redis, keys, warehouse, adminApiKey: admin.key, templates, tenantDeps, authCache, seats,
      runs, scheduler: schedulerServices, batches: batchServices, maintenanceQueue: maintenance(), webhooks, readiness, isShuttingDown, auditLog,
      ...(options.onboardingFaults ? { onboardingFaults: options.onboardingFaults } : {}),
      offboard: offboardingOf(buildOffboardDeps({
        config, tenantDeps, runs, schedules: schedulerServices.api, logWriter, ...(options.offboardingFaults ? { faults: options.offboardingFaults } : {}),
        webhooks: offboardWebhooksOf(webhooks), backfills: offboardBackfillsOf(batchServices, redis, keys),
        otherQueues: () => [webhooks.queue(), batchServices.queue],
      })),
    });
    return apiDeps;
  };

  let server: http.Server | null = null;
  let pipelineWorker: PipelineWorker | null = null;
  let maintenanceWorker: MaintenanceWorker | null = null;
  let batchWorker: BatchDispatchWorker | null = null;
  let webhookWorker: WebhookWorker | null = null;
  let authSubscription: AuthChangesSubscription | null = null;

  return {
    config, clients, keys, metrics, adminApiKey: admin.key, runs, scheduler: schedulerServices, batches: batchServices, logWriter, outbox, tenantDeps, auditLog, webhooks,
    apiDeps: api,
    readiness,
    isShuttingDown,
    built: () => [...parts],
    server: () => server,
    async start(role) {
      if (role === 'all' || role === 'api') {
        await bootstrapCentral({ warehouse });
        auditLog.start();
        await upgradeTables();
        authSubscription = await subscribeAuthChanges({ subscriber: clients.subscriber, keys, cache: authCache, logger });
        const app = createApp(api());
        server = http.createServer(app.callback());
        server.keepAliveTimeout = 65_000;
        parts.add('http-server');
        await listen(server, config.port, config.host, 'PORT');
        const port = (server.address() as AddressInfo).port;
        // The CLIs (npm run sql / sample-data) read this to find the server whatever PORT it got.
        writeServerState(config.dataDir, { pid: process.pid, url: localUrl(config.host, port), startedAt: clock.now().toISOString() });
        logger.info({ port }, 'api listening');
        if (config.auth.disableAuth) logger.warn({ disable_auth: true, port }, DISABLE_AUTH_WARNING);
      }
      if (role === 'all' || role === 'worker') {
        // The worker writes the meta rows: their tables must have every column first (a no-op once done).
        if (role === 'worker') await upgradeTables();
        pipelineWorker = new PipelineWorker({
          connection: clients.bull, subscriber: clients.subscriber, keys, runStore: runs.runStore, logger, clock,
          concurrency: config.worker.concurrency, lockDurationMs: config.worker.lockDurationMs, finaliser: runs.finaliser, execute: runs.execute,
          onIdle: () => logWriter.flushIdle(),
        });
        parts.add('pipeline-worker');
        await pipelineWorker.waitUntilReady();
        logger.info({ concurrency: config.worker.concurrency }, 'pipeline worker started');
        webhookWorker = webhooks.startWorker();
        parts.add('webhook-worker');
      }
      if (role === 'all' || role === 'scheduler') {
        await syncMaintenanceSchedulers(maintenance(), config.scheduler.mode);
        maintenanceWorker = createMaintenanceWorker({ connection: clients.bull, keys, routines: schedulerServices.routines, clock, logger });
        parts.add('maintenance-worker');
        // Backfills and fan-outs are dispatched where the scheduler runs; the tick runs in both scheduler modes.
        await syncBatchTick(batchServices.queue);
        batchWorker = createBatchDispatchWorker({ connection: clients.bull, keys, routines: batchServices.routines, clock, logger });
        parts.add('batch-dispatch-worker');
        logger.info({ mode: config.scheduler.mode }, 'scheduler started');
      }
    },
    async close() {
      shuttingDown = true;
      // In-flight runs and the work after runs' ends share one SHUTDOWN_TIMEOUT_MS (the process exits 1 at 15 s
      // past it); the latter gets at least 5 s of those 15.
      const stopBy = Date.now() + config.shutdownTimeoutMs;
      if (server) {
        const s = server;
        await new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeIdleConnections();
        });
        removeServerState(config.dataDir, process.pid);
      }
      await pipelineWorker?.close(config.shutdownTimeoutMs);
      await maintenanceWorker?.close();
      await batchWorker?.close();
      // Runs these ended (worker, orphan cleanup, cancellations) may still be announcing to webhooks, cancelled
      // BigQuery jobs may not have reported what they billed yet (at most 30 s after the cancel), and a request that
      // missed the API-key cache may still be caching its tenant's keys.
      const drainBy = Math.max(Date.now() + 5_000, stopBy);
      const left = (): number => Math.max(0, drainBy - Date.now());
      const billed = await runs.drainLateBilling(left());
      const ended = await runs.finaliser.drain(left());
      const loaded = await background.drain(left());
      if (!billed || !ended || !loaded) logger.warn({ late_billing: !billed, run_ends: !ended, api_key_loads: !loaded }, 'stopped before the work after some requests and runs was done (reservations count as spent, their whole grant, when their lease passes)');
      await webhookWorker?.close();
      await logWriter.close();
      if (parts.has('http-server')) await auditLog.close();
      authSubscription?.close();
      await Promise.allSettled([runs.queue.close(), maintenanceQueue?.close(), batchServices.queue.close(), webhooks.close()]);
      await clients.close();
    },
  };
}
