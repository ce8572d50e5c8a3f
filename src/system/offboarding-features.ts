import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { OffboardBackfills, OffboardWebhooks } from '../offboarding/types';
import type { BatchServices } from './batch-services';
import type { WebhookServices } from './webhook-services';

/** What the offboarding's webhook steps use (src/offboarding/steps-features.ts). */
export function offboardWebhooksOf(webhooks: WebhookServices): OffboardWebhooks {
  return {
    activeIds: async (tenantId) => (await webhooks.operations.list(tenantId)).webhooks.filter((w) => w.is_active).map((w) => w.webhook_id),
    disableAll: (tenantId) => webhooks.disableAllWebhooks(tenantId, 'tenant offboarded'),
    deleteAll: (tenantId) => webhooks.deleteTenantWebhookState(tenantId),
  };
}

/** What cancel_backfills uses: the tenant's ACTIVE backfill set, and the normal DELETE of a backfill. */
export function offboardBackfillsOf(batches: BatchServices, redis: RedisClient, keys: RedisKeys): OffboardBackfills {
  return {
    activeIds: (tenantId) => redis.smembers(keys.tenantBackfills(tenantId)),
    cancel: async (tenantId, backfillId) => {
      await batches.backfills.cancel(tenantId, backfillId);
    },
  };
}
