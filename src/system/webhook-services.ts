import type { Config } from '../config';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { KeyManager } from '../security/key-manager';
import type { Warehouse } from '../warehouse/types';
import type { PlanCatalog } from '../tenants/plans';
import type { Run } from '../pipelines/run';
import { createWebhookDeliveriesQueue, enqueueWebhookRedelivery } from '../queues/webhook-deliveries';
import type { WebhookDeliveriesQueue, WebhookRetryPolicy } from '../queues/webhook-deliveries';
import { createWebhookEmitter } from '../queues/webhook-events';
import type { WebhookEmitter } from '../queues/webhook-events';
import { DeliveryLog } from '../webhooks/delivery-log';
import { DeliverySlots, deliverySlotLimits } from '../webhooks/delivery-slots';
import { createDnsResolveAll } from '../webhooks/dns-resolve';
import type { ResolveAll, SsrfOptions } from '../webhooks/ssrf';
import { deleteTenantWebhookState, disableAllWebhooks } from '../webhooks/tenant-webhooks';
import { webhookOperations } from '../webhooks/webhook-operations';
import type { WebhookOperations } from '../webhooks/webhook-operations';
import { WebhookStore } from '../webhooks/webhook-store';
import { createWebhookWorker } from '../workers/webhook-worker';
import type { WebhookWorker } from '../workers/webhook-worker';
import type { AuditRecorder } from '../audit/actions';

export interface WebhookServicesDeps {
  config: Config;
  redis: RedisClient;
  bull: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
  keyManager: KeyManager;
  plans: PlanCatalog;
  clock: Clock;
  logger: Logger;
  version: string;
  /** The live run record, for the times and error of run.* events. */
  getRun(tenantId: string, runId: string): Promise<Run | null>;
  /** Test hook: resolves webhook hosts instead of DNS. */
  resolveAll?: ResolveAll;
  /** Endpoints disabled by the worker are recorded here (actor `system`). */
  audit?: AuditRecorder;
}

export interface WebhookServices {
  emitter: WebhookEmitter;
  operations: WebhookOperations;
  /** The delivery queue, made on first use (Bull Board, metrics, emitters). */
  queue(): WebhookDeliveriesQueue;
  startWorker(): WebhookWorker;
  /** For offboarding (issue 13.2): disables every endpoint of the tenant; returns the ids disabled. */
  disableAllWebhooks(tenantId: string, reason?: string): Promise<string[]>;
  /** For offboarding (issue 13.2): drops every webhook row and Redis key of the tenant. */
  deleteTenantWebhookState(tenantId: string): Promise<{ redisKeysDeleted: number }>;
  close(): Promise<void>;
}

/** Webhook endpoints, the delivery queue and its worker, and the emitter the run, quota and scheduler paths call. */
export function buildWebhookServices(deps: WebhookServicesDeps): WebhookServices {
  const { config, redis, keys, clock, logger } = deps;
  const store = new WebhookStore({ redis, keys, warehouse: deps.warehouse });
  const log = new DeliveryLog(redis, keys);
  const policy: WebhookRetryPolicy = { maxAttempts: config.webhooks.maxAttempts, retryBaseMs: config.webhooks.retryBaseMs, retryMaxMs: config.webhooks.retryMaxMs };
  const ssrf: SsrfOptions = { allowPrivate: config.webhooks.allowPrivate, resolveAll: deps.resolveAll ?? createDnsResolveAll({ timeoutMs: config.webhooks.timeoutMs }) };
  let deliveries: WebhookDeliveriesQueue | null = null;
  const queue = (): WebhookDeliveriesQueue => (deliveries ??= createWebhookDeliveriesQueue(deps.bull, keys));
  const workers: WebhookWorker[] = [];
  const tenantDeps = { redis, keys, store, log, clock };
  return {
    emitter: createWebhookEmitter({ redis, keys, store, log, queue, policy, clock, logger, getRun: deps.getRun }),
    operations: webhookOperations({
      store, log, redis, keys, keyManager: deps.keyManager, plans: deps.plans, warehouse: deps.warehouse, ssrf, clock, logger,
      redeliver: (job) => enqueueWebhookRedelivery(queue(), job),
    }),
    queue,
    startWorker: () => {
      const { endpointConcurrency, tenantConcurrency, timeoutMs } = config.webhooks;
      const slots = new DeliverySlots(redis, keys, deliverySlotLimits(endpointConcurrency, tenantConcurrency, timeoutMs));
      const worker = createWebhookWorker({
        connection: deps.bull, redis, queue, slots, keys, store, log, keyManager: deps.keyManager, ssrf, policy, clock, logger,
        timeoutMs: config.webhooks.timeoutMs, disableAfter: config.webhooks.disableAfter, concurrency: config.webhooks.concurrency,
        userAgent: `Convergence-Webhooks/${deps.version}`, ...(deps.audit ? { audit: deps.audit } : {}),
      });
      workers.push(worker);
      return worker;
    },
    disableAllWebhooks: (tenantId, reason) => disableAllWebhooks(tenantDeps, tenantId, reason),
    deleteTenantWebhookState: (tenantId) => deleteTenantWebhookState(tenantDeps, tenantId),
    async close() {
      await Promise.allSettled(workers.map((w) => w.close()));
      await deliveries?.close();
    },
  };
}
