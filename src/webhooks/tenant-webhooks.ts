import type { Clock } from '../shared/clock';
import { utcDay, utcMonth } from '../shared/clock';
import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { DeliveryLog } from './delivery-log';
import type { WebhookStore } from './webhook-store';
import { withTenantWebhookLock } from './webhook-lock';

/** Tenant-wide webhook operations for offboarding (issue 13.2), which wires them in. */

export interface TenantWebhooksDeps {
  redis: RedisClient;
  keys: RedisKeys;
  store: WebhookStore;
  log: DeliveryLog;
  clock: Clock;
}

/** Disables every active endpoint of the tenant (deliveries already queued are then skipped); returns the ids disabled. */
export async function disableAllWebhooks(deps: TenantWebhooksDeps, tenantId: string, reason = 'tenant offboarded'): Promise<string[]> {
  return withTenantWebhookLock(deps, tenantId, async () => {
    const now = deps.clock.now();
    const active = (await deps.store.list(tenantId)).filter((w) => w.isActive);
    for (const w of active) await deps.store.save({ ...w, isActive: false, disabledReason: reason, updatedAt: now.toISOString() }, now);
    return active.map((w) => w.webhookId);
  });
}

/**
 * Deletes every webhook row of the tenant in the warehouse and every webhook key of the tenant in Redis
 * (endpoints, failure counters, attempt logs, deliveries, quota markers). Idempotent.
 * Returns how many Redis keys were removed.
 */
export async function deleteTenantWebhookState(deps: TenantWebhooksDeps, tenantId: string): Promise<{ redisKeysDeleted: number }> {
  const { keys } = deps;
  // Under the tenant's webhook lock: a change that read an endpoint before (the worker disabling it after a failed
  // attempt, a PATCH) cannot write its row or hash field back after they are gone.
  return withTenantWebhookLock(deps, tenantId, async () => {
    const ids = new Set([...(await deps.store.list(tenantId)).map((w) => w.webhookId), ...(await deps.store.allIdsEver(tenantId))]);
    const deliveryIds = await deps.log.deliveryIds(tenantId);
    await deps.store.deleteRows(tenantId);
    const now = deps.clock.now();
    const yesterday = new Date(now.getTime() - 86_400_000);
    const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1));
    const all = [
      // First: the attempt log is written only while the endpoint is in this hash (webhook-attempt.lua), so an
      // attempt that ends while the chunks below are deleted writes nothing. The rows are gone already, so a
      // reader rebuilding the hash finds no endpoint.
      keys.webhooks(tenantId),
      ...[...ids].flatMap((id) => [keys.webhookFailures(tenantId, id), keys.webhookAttempts(tenantId, id), keys.webhookInFlight(tenantId, id)]),
      ...deliveryIds.map((id) => keys.webhookDelivery(tenantId, id)),
      ...[now, yesterday].map((d) => keys.webhookQuotaNotified(tenantId, `d:${utcDay(d)}`)),
      ...[now, lastMonth].map((d) => keys.webhookQuotaNotified(tenantId, `m:${utcMonth(d)}`)),
      keys.webhookDeliveryIndex(tenantId),
      keys.webhookTenantInFlight(tenantId),
      keys.webhookParked(tenantId),
      // The lock itself is freed by withTenantWebhookLock on the way out.
    ];
    let removed = 0;
    // One tenant's keys share a slot; chunks keep each DEL small.
    for (let i = 0; i < all.length; i += 500) removed += await deps.redis.del(...all.slice(i, i + 500));
    return { redisKeysDeleted: removed };
  });
}
