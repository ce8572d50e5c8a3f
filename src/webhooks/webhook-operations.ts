import type { DeliveryAttempt } from './types';
import {
  createWebhook, deleteWebhook, getWebhook, listDeliveries, patchWebhook, redeliver, rotateWebhookSecret, toWebhookView,
} from './webhook-service';
import type { WebhookServiceDeps, WebhookView } from './webhook-service';

/** What the HTTP layer does with webhook endpoints; bodies are validated again by each operation. */
export interface WebhookOperations {
  create(tenantId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<WebhookView & { secret: string }>;
  list(tenantId: string): Promise<{ webhooks: WebhookView[] }>;
  get(tenantId: string, webhookId: string): Promise<WebhookView>;
  /** `takeSeat` (the caller's team seat) runs only once the webhook (and delivery) is found to be the tenant's. */
  patch(tenantId: string, webhookId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<WebhookView>;
  remove(tenantId: string, webhookId: string, takeSeat?: () => Promise<void>): Promise<void>;
  rotateSecret(tenantId: string, webhookId: string, graceSeconds: number, takeSeat?: () => Promise<void>): Promise<WebhookView & { secret: string }>;
  deliveries(tenantId: string, webhookId: string, limit: number, cursor?: string): Promise<{ deliveries: DeliveryAttempt[]; next_cursor: string | null }>;
  redeliver(tenantId: string, webhookId: string, deliveryId: string, takeSeat?: () => Promise<void>): Promise<{ delivery_id: string; webhook_id: string; event_type: string; queued: boolean }>;
}

export function webhookOperations(deps: WebhookServiceDeps): WebhookOperations {
  return {
    create: (tenantId, body, takeSeat) => createWebhook(deps, tenantId, body, takeSeat),
    list: async (tenantId) => ({ webhooks: (await deps.store.list(tenantId)).map((w) => toWebhookView(w, deps.clock.now())) }),
    get: async (tenantId, webhookId) => toWebhookView(await getWebhook(deps, tenantId, webhookId), deps.clock.now()),
    patch: (tenantId, webhookId, body, takeSeat) => patchWebhook(deps, tenantId, webhookId, body, takeSeat),
    remove: (tenantId, webhookId, takeSeat) => deleteWebhook(deps, tenantId, webhookId, takeSeat),
    rotateSecret: (tenantId, webhookId, graceSeconds, takeSeat) => rotateWebhookSecret(deps, tenantId, webhookId, graceSeconds, takeSeat),
    deliveries: (tenantId, webhookId, limit, cursor) => listDeliveries(deps, tenantId, webhookId, limit, cursor),
    redeliver: (tenantId, webhookId, deliveryId, takeSeat) => redeliver(deps, tenantId, webhookId, deliveryId, takeSeat),
  };
}
