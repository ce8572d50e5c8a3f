import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';

/**
 * The webhook-deliveries queue: one job per (event, endpoint). The body is built once when the event
 * is emitted and travels in the job, so every retry sends the same bytes under the same delivery id;
 * only the signature's timestamp is fresh per attempt. A redelivery is a new job (one attempt) of the
 * same delivery id, one at a time per delivery.
 */
export const WEBHOOK_DELIVERIES_QUEUE = 'webhook-deliveries';
/** The BullMQ custom backoff type the webhook worker answers (webhookBackoffMs). */
export const WEBHOOK_BACKOFF = 'webhook';

export interface WebhookDeliveryJob {
  tenantId: string;
  webhookId: string;
  deliveryId: string;
  eventType: string;
  /** The JSON body `{id, type, created, data}`, byte for byte what every attempt sends. */
  body: string;
}

export interface WebhookRetryPolicy {
  maxAttempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
}

/**
 * Delay before retry number `attemptsMade` (1 after the first failure): base × 2^(n-1), capped. With
 * the defaults (30 s, 4 h cap, 15 attempts): 30 s, 1 m, 2 m … 4 h, ≈ 24 h from first to last attempt.
 */
export const webhookBackoffMs = (policy: WebhookRetryPolicy, attemptsMade: number): number =>
  Math.min(policy.retryMaxMs, policy.retryBaseMs * 2 ** Math.max(0, attemptsMade - 1));

/** Bounded history: a day of finished jobs for Bull Board; the attempt log keeps the rest. */
const RETENTION = { age: 24 * 3600, count: 5000 };

export function webhookJobOptions(jobId: string, attempts: number): JobsOptions {
  return {
    jobId,
    attempts,
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: RETENTION,
    removeOnFail: RETENTION,
  };
}

export type WebhookDeliveriesQueue = Queue<WebhookDeliveryJob>;

export function createWebhookDeliveriesQueue(connection: RedisClient, keys: RedisKeys): WebhookDeliveriesQueue {
  return new Queue<WebhookDeliveryJob>(WEBHOOK_DELIVERIES_QUEUE, { connection, prefix: keys.bullPrefix });
}

/** A first delivery: the full retry schedule, job id = delivery id. */
export async function enqueueWebhookDelivery(queue: WebhookDeliveriesQueue, job: WebhookDeliveryJob, policy: WebhookRetryPolicy): Promise<void> {
  await queue.add(job.eventType, job, webhookJobOptions(job.deliveryId, policy.maxAttempts));
}

/** States in which a job of a delivery is still to be sent, or being sent. */
const PENDING_STATES = new Set(['waiting', 'active', 'prioritized', 'waiting-children']);

/**
 * A redelivery asked for through the API: one fresh attempt of the same delivery id. Refused (false) while an
 * attempt of the delivery is waiting to be sent or being sent: its first delivery not yet attempted (queued, or
 * parked for a slot) or in flight, or an earlier redelivery not finished. BullMQ's deduplication id makes the
 * last check atomic: it holds while the redelivery job is waiting, delayed or active and is dropped when it
 * completes or fails. A first delivery waiting for its next retry may be redelivered (once at a time).
 */
export async function enqueueWebhookRedelivery(queue: WebhookDeliveriesQueue, job: WebhookDeliveryJob): Promise<boolean> {
  const first = await queue.getJob(job.deliveryId);
  if (first) {
    const state = await first.getState();
    if (PENDING_STATES.has(state) || (state === 'delayed' && first.attemptsMade === 0)) return false;
  }
  const jobId = `${job.deliveryId}-r${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const added = await queue.add(job.eventType, job, { ...webhookJobOptions(jobId, 1), deduplication: { id: `redeliver:${job.deliveryId}` } });
  return added.id === jobId;
}
