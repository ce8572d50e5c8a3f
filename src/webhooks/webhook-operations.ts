import type { DeliveryAttempt } from './types';
import {
  createWebhook, deleteWebhook, getWebhook, listDeliveries, patchWebhook, redeliver, rotateWebhookSecret, toWebhookView,
} from './webhook-service';
import type { WebhookServiceDeps, WebhookView } from './webhook-service';

/** What the HTTP layer does with webhook endpoints; bodies are validated again by each operation. */
export interface WebhookOperations {
  create(tenantId: string, body: unknown): Promise<WebhookView & { secret: string }>;
  list(tenantId: string): Promise<{ webhooks: WebhookView[] }>;
  get(tenantId: string, webhookId: string): Promise<WebhookView>;
  patch(tenantId: string, webhookId: string, body: unknown): Promise<WebhookView>;
  remove(tenantId: string, webhookId: string): Promise<void>;
  rotateSecret(tenantId: string, webhookId: string, graceSeconds: number): Promise<WebhookView & { secret: string }>;
  deliveries(tenantId: string, webhookId: string, limit: number, cursor?: string): Promise<{ deliveries: DeliveryAttempt[]; next_cursor: string | null }>;
  redeliver(tenantId: string, webhookId: string, deliveryId: string): Promise<{ delivery_id: string; webhook_id: string; event_type: string; queued: boolean }>;
}

export function webhookOperations(deps: WebhookServiceDeps): WebhookOperations {
  return {
    create: (tenantId, body) => createWebhook(deps, tenantId, body),
    list: async (tenantId) => ({ webhooks: (await deps.store.list(tenantId)).map((w) => toWebhookView(w, deps.clock.now())) }),
    get: async (tenantId, webhookId) => toWebhookView(await getWebhook(deps, tenantId, webhookId), deps.clock.now()),
    patch: (tenantId, webhookId, body) => patchWebhook(deps, tenantId, webhookId, body),
    remove: (tenantId, webhookId) => deleteWebhook(deps, tenantId, webhookId),
    rotateSecret: (tenantId, webhookId, graceSeconds) => rotateWebhookSecret(deps, tenantId, webhookId, graceSeconds),
    deliveries: (tenantId, webhookId, limit, cursor) => listDeliveries(deps, tenantId, webhookId, limit, cursor),
    redeliver: (tenantId, webhookId, deliveryId) => redeliver(deps, tenantId, webhookId, deliveryId),
  };
}
