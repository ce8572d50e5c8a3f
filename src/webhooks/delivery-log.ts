import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { SCRIPT_CODES } from '../redis/scripts/errors';
import { ScriptRunner } from '../redis/scripts';
import type { DeliveryAttempt } from './types';

/**
 * Deliveries and their attempts, in the tenant's Redis slot. A delivery (one event to one endpoint) is
 * a hash kept for DELIVERY_TTL_SECONDS so it can be redelivered with the same id and body; its id is in
 * the tenant's delivery index so offboarding finds every key. Attempts are a capped list per endpoint,
 * newest first. Every key of one call shares the tenant tag, so each MULTI is single-slot. An attempt is logged
 * only while its endpoint exists (webhook-attempt.lua), so a delete or an offboarding during the attempt stays final.
 */

export const DELIVERY_TTL_SECONDS = 30 * 24 * 3600;
/** Attempts kept per endpoint (the list GET …/deliveries pages through). */
export const ATTEMPTS_KEPT = 1000;

export interface StoredDelivery {
  deliveryId: string;
  webhookId: string;
  eventType: string;
  body: string;
  attempts: number;
}

export const newDeliveryId = (): string => `whd_${randomBytes(12).toString('hex')}`;
export const newEventId = (): string => `evt_${randomBytes(12).toString('hex')}`;

/** What a finished attempt does to the endpoint's run of failed deliveries. */
export type FailureRun = 'fail' | 'ok' | 'keep';

export class DeliveryLog {
  private readonly scripts: ScriptRunner;

  constructor(private readonly redis: RedisClient, private readonly keys: RedisKeys) {
    this.scripts = new ScriptRunner(redis);
  }

  async create(tenantId: string, d: Omit<StoredDelivery, 'attempts'>, now: Date): Promise<void> {
    const key = this.keys.webhookDelivery(tenantId, d.deliveryId);
    const index = this.keys.webhookDeliveryIndex(tenantId);
    await this.redis
      .multi()
      .hset(key, { webhook_id: d.webhookId, event_type: d.eventType, body: d.body, attempts: '0' })
      .expire(key, DELIVERY_TTL_SECONDS)
      .zadd(index, now.getTime(), d.deliveryId)
      .zremrangebyscore(index, '-inf', now.getTime() - DELIVERY_TTL_SECONDS * 1000)
      .exec();
  }

  async get(tenantId: string, deliveryId: string): Promise<StoredDelivery | null> {
    const h = await this.redis.hgetall(this.keys.webhookDelivery(tenantId, deliveryId));
    if (h.webhook_id === undefined || h.body === undefined) return null;
    return { deliveryId, webhookId: h.webhook_id, eventType: h.event_type ?? '', body: h.body, attempts: Number(h.attempts ?? 0) };
  }

  /** Counts an attempt of the delivery and returns its number (1-based), stable across retries and redeliveries. */
  async nextAttempt(tenantId: string, deliveryId: string): Promise<number> {
    return this.redis.hincrby(this.keys.webhookDelivery(tenantId, deliveryId), 'attempts', 1);
  }

  /**
   * Logs a finished attempt and counts (`fail`) or clears (`ok`) the endpoint's run of failed deliveries.
   * Returns the failed deliveries in a row after it, or null when the endpoint is gone (nothing was written).
   */
  async recordAttempt(tenantId: string, webhookId: string, attempt: DeliveryAttempt, run: FailureRun): Promise<number | null> {
    const { keys } = this;
    const result = await this.scripts.run(
      'webhook-attempt',
      [keys.webhooks(tenantId), keys.webhookAttempts(tenantId, webhookId), keys.webhookFailures(tenantId, webhookId)],
      [webhookId, JSON.stringify(attempt), ATTEMPTS_KEPT, run, DELIVERY_TTL_SECONDS],
    );
    return result === SCRIPT_CODES.webhookGone ? null : result;
  }

  /** A page of attempts, newest first; `offset` is the cursor the previous page returned. */
  async attempts(tenantId: string, webhookId: string, offset: number, limit: number): Promise<{ attempts: DeliveryAttempt[]; nextCursor: string | null }> {
    const raw = await this.redis.lrange(this.keys.webhookAttempts(tenantId, webhookId), offset, offset + limit);
    const page = raw.slice(0, limit).map((text) => JSON.parse(text) as DeliveryAttempt);
    return { attempts: page, nextCursor: raw.length > limit ? String(offset + limit) : null };
  }

  async resetFailures(tenantId: string, webhookId: string): Promise<void> {
    await this.redis.del(this.keys.webhookFailures(tenantId, webhookId));
  }

  /** Every delivery id of the tenant still indexed (offboarding drops their keys). */
  async deliveryIds(tenantId: string): Promise<string[]> {
    return this.redis.zrange(this.keys.webhookDeliveryIndex(tenantId), 0, -1);
  }
}
