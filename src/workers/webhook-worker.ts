import { DelayedError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { KeyManager } from '../security/key-manager';
import type { Clock } from '../shared/clock';
import type { Logger } from '../shared/logger';
import { WEBHOOK_DELIVERIES_QUEUE, webhookBackoffMs } from '../queues/webhook-deliveries';
import type { WebhookDeliveriesQueue, WebhookDeliveryJob, WebhookRetryPolicy } from '../queues/webhook-deliveries';
import type { DeliveryLog, FailureRun } from '../webhooks/delivery-log';
import type { DeliverySlots, SlotHolder } from '../webhooks/delivery-slots';
import { postWebhook } from '../webhooks/deliver';
import type { PostResult } from '../webhooks/deliver';
import { signatureHeader, SIGNATURE_HEADER } from '../webhooks/signature';
import { checkTarget } from '../webhooks/ssrf';
import type { SsrfOptions } from '../webhooks/ssrf';
import type { WebhookRecord } from '../webhooks/types';
import type { WebhookStore } from '../webhooks/webhook-store';
import { withTenantWebhookLock } from '../webhooks/webhook-lock';
import type { AuditRecorder } from '../audit/actions';
import { closeWorker } from './close-worker';

export interface WebhookWorkerDeps {
  /** A connection made for BullMQ (`maxRetriesPerRequest: null`). */
  connection: RedisClient;
  /** A plain connection, for the tenant's webhook lock. */
  redis: RedisClient;
  keys: RedisKeys;
  /** The delivery queue, to wake deliveries parked for a slot. */
  queue(): WebhookDeliveriesQueue;
  slots: DeliverySlots;
  store: WebhookStore;
  log: DeliveryLog;
  keyManager: KeyManager;
  ssrf: SsrfOptions;
  policy: WebhookRetryPolicy;
  timeoutMs: number;
  /** Consecutive deliveries whose final attempt failed before the endpoint is disabled. */
  disableAfter: number;
  userAgent: string;
  concurrency: number;
  clock: Clock;
  logger: Logger;
  /** The audit log: an endpoint the platform disables is recorded with actor `system`. */
  audit?: AuditRecorder;
}

export interface WebhookWorker {
  worker: Worker<WebhookDeliveryJob>;
  close(): Promise<void>;
}

/** Thrown to make BullMQ retry; its message is the attempt's error (`http_500`, `timeout`, …). */
class AttemptFailed extends Error {}

/**
 * Sends one attempt of a delivery: the endpoint is read fresh (a deleted or inactive one is skipped), a slot
 * taken for it (at most WEBHOOK_ENDPOINT_CONCURRENCY per endpoint and WEBHOOK_TENANT_CONCURRENCY per tenant;
 * otherwise the delivery is parked), its URL checked again by the SSRF guard (the host may resolve elsewhere
 * since it was stored), the body signed with every live secret. Each attempt is logged; a failure throws so
 * BullMQ retries it with the webhook backoff, and a delivery whose last attempt failed counts toward disabling
 * the endpoint.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps): WebhookWorker {
  const secretsOf = async (endpoint: WebhookRecord, now: Date): Promise<string[]> => {
    const encrypted = [endpoint.encryptedSecret];
    if (endpoint.previousEncryptedSecret && endpoint.previousSecretExpiresAt && new Date(endpoint.previousSecretExpiresAt) > now) {
      encrypted.push(endpoint.previousEncryptedSecret);
    }
    return Promise.all(encrypted.map(async (b64) => (await deps.keyManager.decrypt(Buffer.from(b64, 'base64'))).toString('utf8')));
  };

  const attemptOnce = async (data: WebhookDeliveryJob, endpoint: WebhookRecord, now: Date): Promise<PostResult> => {
    const checkStarted = Date.now();
    const target = await checkTarget(endpoint.url, deps.ssrf);
    if (!target.ok) {
      // A lookup that got no answer took up to WEBHOOK_TIMEOUT_MS of the attempt: logged as dns_error with its time.
      if (target.kind === 'dns') return { ok: false, statusCode: null, error: 'dns_error', durationMs: Date.now() - checkStarted };
      return { ok: false, statusCode: null, error: 'blocked_address', durationMs: 0 };
    }
    const timestamp = Math.floor(now.getTime() / 1000);
    return postWebhook({
      url: target.url,
      addresses: target.addresses,
      body: data.body,
      timeoutMs: deps.timeoutMs,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': deps.userAgent,
        [SIGNATURE_HEADER]: signatureHeader(await secretsOf(endpoint, now), timestamp, data.body),
        'Convergence-Delivery-Id': data.deliveryId,
        'Convergence-Event': data.eventType,
      },
    });
  };

  /**
   * Disables the endpoint as it is now, under the tenant's webhook lock: only is_active and disabled_reason change,
   * and nothing is written when it was deleted, disabled or given another URL during the attempt.
   */
  const disable = async (data: WebhookDeliveryJob, url: string, failures: number): Promise<void> => {
    const reason = `disabled after ${failures} consecutive failed deliveries`;
    const disabled = await withTenantWebhookLock(deps, data.tenantId, async () => {
      const current = await deps.store.hot(data.tenantId, data.webhookId);
      if (!current?.isActive || current.url !== url) return false;
      const now = deps.clock.now();
      await deps.store.save({ ...current, isActive: false, disabledReason: reason, updatedAt: now.toISOString() }, now);
      return true;
    });
    if (!disabled) return;
    deps.logger.warn({ event: 'endpoint.disabled', tenant_id: data.tenantId, webhook_id: data.webhookId, failures }, 'webhook endpoint disabled');
    await deps.audit?.record({
      action: 'webhook.update', actor: 'system', outcome: 'success', tenantId: data.tenantId, target: `webhook:${data.webhookId}`,
      details: { is_active: false, reason: 'disabled_after_failures', failures },
    });
  };

  const attempt = async (job: Job<WebhookDeliveryJob>, endpoint: WebhookRecord): Promise<unknown> => {
    const data = job.data;
    const now = deps.clock.now();
    const attemptNo = await deps.log.nextAttempt(data.tenantId, data.deliveryId);
    const result = await attemptOnce(data, endpoint, now);
    const attemptsAllowed = job.opts.attempts ?? 1;
    const isFinal = !result.ok && job.attemptsMade + 1 >= attemptsAllowed;
    const retryInMs = result.ok || isFinal ? null : webhookBackoffMs(deps.policy, job.attemptsMade + 1);
    // An attempt to a URL the endpoint no longer has says nothing about the new one.
    const sameUrl = (await deps.store.hot(data.tenantId, data.webhookId))?.url === endpoint.url;
    const run: FailureRun = !sameUrl ? 'keep' : result.ok ? 'ok' : isFinal ? 'fail' : 'keep';
    const failures = await deps.log.recordAttempt(data.tenantId, data.webhookId, {
      delivery_id: data.deliveryId,
      event_type: data.eventType,
      attempt: attemptNo,
      attempted_at: now.toISOString(),
      status_code: result.statusCode,
      error: result.error,
      success: result.ok,
      duration_ms: result.durationMs,
      next_retry_at: retryInMs === null ? null : new Date(now.getTime() + retryInMs).toISOString(),
    }, run);
    // Deleted (or offboarded) during the attempt: nothing is logged, retried or disabled.
    if (failures === null) return { skipped: 'endpoint deleted during the attempt', attempt: attemptNo };
    if (result.ok) return { status_code: result.statusCode, attempt: attemptNo };
    if (run === 'fail' && failures >= deps.disableAfter) await disable(data, endpoint.url, failures);
    throw new AttemptFailed(result.error ?? 'failed');
  };

  /** Parked deliveries whose turn may have come: back to the waiting list (one that came back already is left alone). */
  const wake = async (jobIds: string[]): Promise<void> => {
    await Promise.allSettled(jobIds.map(async (id) => (await deps.queue().getJob(id))?.promote()));
  };

  const processor = async (job: Job<WebhookDeliveryJob>, token?: string): Promise<unknown> => {
    const data = job.data;
    const endpoint = await deps.store.get(data.tenantId, data.webhookId);
    if (!endpoint?.isActive) return { skipped: endpoint ? 'endpoint inactive' : 'endpoint deleted' };
    const holder: SlotHolder = { tenantId: data.tenantId, webhookId: data.webhookId, jobId: job.id ?? data.deliveryId, createdAtMs: job.timestamp };
    if (!(await deps.slots.take(holder, Date.now()))) {
      // No free slot for this endpoint or tenant: parked among the delayed jobs, no attempt counted. A slot given
      // back wakes it; parkMs is only the fallback should that wake-up be lost.
      await job.moveToDelayed(Date.now() + deps.slots.limits.parkMs, token);
      throw new DelayedError();
    }
    try {
      return await attempt(job, endpoint);
    } finally {
      await wake(await deps.slots.give(holder));
    }
  };

  const worker = new Worker<WebhookDeliveryJob>(WEBHOOK_DELIVERIES_QUEUE, processor, {
    connection: deps.connection,
    prefix: deps.keys.bullPrefix,
    concurrency: deps.concurrency,
    settings: { backoffStrategy: (attemptsMade: number) => webhookBackoffMs(deps.policy, attemptsMade) },
  });
  worker.on('failed', (job, err) => {
    if (!(err instanceof AttemptFailed)) deps.logger.error({ err, delivery_id: job?.data.deliveryId }, 'webhook delivery job failed');
  });
  worker.on('error', (err) => deps.logger.error({ err }, 'webhook worker error'));
  return { worker, close: () => closeWorker(worker) };
}
