import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';

/**
 * Delivery slots per endpoint and per tenant (webhook-slot-take.lua, webhook-slot-give.lua). The worker's
 * concurrency is shared by every tenant; an endpoint that accepts a connection and never answers holds a slot for
 * WEBHOOK_TIMEOUT_MS per attempt, so without these caps one tenant's deliveries to it would occupy them all.
 */

export interface DeliverySlotLimits {
  perEndpoint: number;
  perTenant: number;
  /** How long a slot outlives a holder that died; above the longest attempt (address check, time-out, logging). */
  leaseMs: number;
  /** When a parked delivery looks again by itself, should the wake-up of a slot given back be lost (a race, a crash). */
  parkMs: number;
}

/** The limits for an attempt time-out: a parked delivery looks again after about one attempt's time. */
export const deliverySlotLimits = (perEndpoint: number, perTenant: number, timeoutMs: number): DeliverySlotLimits => ({
  perEndpoint, perTenant, leaseMs: 2 * timeoutMs + 30_000, parkMs: timeoutMs + 1_000,
});

export interface SlotHolder {
  tenantId: string;
  webhookId: string;
  jobId: string;
  /** When the delivery was created (ms): parked deliveries wake oldest first. */
  createdAtMs: number;
}

export class DeliverySlots {
  private readonly scripts: ScriptRunner;

  constructor(redis: RedisClient, private readonly keys: RedisKeys, readonly limits: DeliverySlotLimits) {
    this.scripts = new ScriptRunner(redis);
  }

  /** True when the slot is taken; false when the delivery is parked (the caller delays its job). */
  async take(h: SlotHolder, nowMs: number): Promise<boolean> {
    const { perEndpoint, perTenant, leaseMs } = this.limits;
    const taken = await this.scripts.run('webhook-slot-take', this.keysOf(h), [h.jobId, nowMs, leaseMs, perEndpoint, perTenant, h.createdAtMs]);
    return taken === 1;
  }

  /** Gives the slot back; returns the parked job ids to wake, oldest first. */
  give(h: SlotHolder): Promise<string[]> {
    return this.scripts.run('webhook-slot-give', this.keysOf(h), [h.jobId, this.limits.perTenant]);
  }

  private keysOf(h: SlotHolder): string[] {
    return [this.keys.webhookInFlight(h.tenantId, h.webhookId), this.keys.webhookTenantInFlight(h.tenantId), this.keys.webhookParked(h.tenantId)];
  }
}
