import { randomBytes } from 'node:crypto';
import type Joi from 'joi';
import type { KeyManager } from '../security/key-manager';
import type { Clock } from '../shared/clock';
import { AppError, notFound, validationError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { PlanCatalog } from '../tenants/plans';
import { readProfile } from '../tenants/tenant-store';
import type { Warehouse } from '../warehouse/types';
import type { DeliveryLog } from './delivery-log';
import { newSigningSecret } from './signature';
import { checkTarget } from './ssrf';
import type { SsrfOptions } from './ssrf';
import type { DeliveryAttempt, WebhookEvent, WebhookRecord } from './types';
import { createWebhookSchema, patchWebhookSchema } from './webhook-schemas';
import type { CreateWebhookBody, PatchWebhookBody } from './webhook-schemas';
import type { WebhookStore } from './webhook-store';
import { withTenantWebhookLock } from './webhook-lock';
import type { WebhookLockDeps } from './webhook-lock';

/**
 * A tenant's webhook endpoints as the API changes them. The signing secret is generated here, shown
 * once in the creation (or rotation) answer, and stored only as key-manager ciphertext.
 */

export interface WebhookView {
  webhook_id: string;
  tenant_id: string;
  url: string;
  events: WebhookEvent[];
  is_active: boolean;
  disabled_reason: string | null;
  /** While a rotated secret still signs: when it stops. */
  previous_secret_expires_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface WebhookServiceDeps extends WebhookLockDeps {
  store: WebhookStore;
  log: DeliveryLog;
  keyManager: KeyManager;
  plans: PlanCatalog;
  warehouse: Warehouse;
  ssrf: SsrfOptions;
  clock: Clock;
  logger: Logger;
  /** Enqueues one fresh attempt of a stored delivery; false when an attempt of it is still queued or in flight. */
  redeliver(job: { tenantId: string; webhookId: string; deliveryId: string; eventType: string; body: string }): Promise<boolean>;
}

export const toWebhookView = (w: WebhookRecord, now: Date): WebhookView => ({
  webhook_id: w.webhookId,
  tenant_id: w.tenantId,
  url: w.url,
  events: w.events,
  is_active: w.isActive,
  disabled_reason: w.disabledReason,
  previous_secret_expires_at: w.previousSecretExpiresAt && new Date(w.previousSecretExpiresAt) > now ? w.previousSecretExpiresAt : null,
  created_at: w.createdAt,
  updated_at: w.updatedAt,
});

function validated<T>(schema: Joi.ObjectSchema, body: unknown): T {
  const { value, error } = schema.validate(body, { abortEarly: false, stripUnknown: true });
  if (error) throw validationError(error.details.map((d) => ({ field: d.path.join('.') || 'body', message: d.message })));
  return value as T;
}

async function checkUrl(deps: WebhookServiceDeps, url: string): Promise<void> {
  const check = await checkTarget(url, deps.ssrf);
  if (!check.ok) {
    throw new AppError(422, 'WEBHOOK_URL_NOT_ALLOWED', `Webhook URL not allowed: ${check.reason}`, { errors: [{ field: 'url', message: check.reason }] });
  }
}

const webhookNotFound = (tenantId: string, webhookId: string): AppError =>
  notFound('WEBHOOK_NOT_FOUND', `Webhook '${webhookId}' not found for tenant '${tenantId}'`);

async function encryptSecret(deps: WebhookServiceDeps, secret: string): Promise<string> {
  return (await deps.keyManager.encrypt(Buffer.from(secret, 'utf8'))).toString('base64');
}

export async function createWebhook(
  deps: WebhookServiceDeps, tenantId: string, body: unknown, takeSeat?: () => Promise<void>,
): Promise<WebhookView & { secret: string }> {
  const req = validated<CreateWebhookBody>(createWebhookSchema, body);
  await checkUrl(deps, req.url);
  await takeSeat?.();
  const profile = await readProfile(deps.warehouse, tenantId);
  if (!profile) throw notFound('TENANT_NOT_FOUND', `Tenant '${tenantId}' not found`);
  const plan = deps.plans.get(profile.subscriptionPlan) ?? deps.plans.defaultPlan;
  const secret = newSigningSecret();
  const encryptedSecret = await encryptSecret(deps, secret);
  // Count and insert under the tenant's lock, so concurrent creations cannot pass the plan's limit together.
  const record = await withTenantWebhookLock(deps, tenantId, async () => {
    const existing = await deps.store.list(tenantId);
    if (existing.length >= plan.webhookEndpoints) {
      throw new AppError(403, 'WEBHOOK_LIMIT_REACHED', `Plan ${plan.name} allows ${plan.webhookEndpoints} webhook endpoints; delete one first`);
    }
    const now = deps.clock.now();
    const created: WebhookRecord = {
      webhookId: `wh_${randomBytes(10).toString('hex')}`,
      tenantId,
      url: req.url,
      events: req.events as WebhookEvent[],
      isActive: req.is_active,
      disabledReason: null,
      encryptedSecret,
      previousEncryptedSecret: null,
      previousSecretExpiresAt: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    await deps.store.save(created, now);
    return created;
  });
  deps.logger.info({ tenant_id: tenantId, webhook_id: record.webhookId, events: record.events }, 'webhook created');
  return { ...toWebhookView(record, deps.clock.now()), secret };
}

export async function getWebhook(deps: WebhookServiceDeps, tenantId: string, webhookId: string): Promise<WebhookRecord> {
  const record = await deps.store.get(tenantId, webhookId);
  if (!record) throw webhookNotFound(tenantId, webhookId);
  return record;
}

export async function patchWebhook(deps: WebhookServiceDeps, tenantId: string, webhookId: string, body: unknown, takeSeat?: () => Promise<void>): Promise<WebhookView> {
  const req = validated<PatchWebhookBody>(patchWebhookSchema, body);
  await getWebhook(deps, tenantId, webhookId);
  if (req.url !== undefined) await checkUrl(deps, req.url);
  await takeSeat?.();
  // The change applies to the endpoint as it is under the lock: a rotation or a disable made meanwhile is kept.
  const next = await withTenantWebhookLock(deps, tenantId, async () => {
    const current = await getWebhook(deps, tenantId, webhookId);
    const now = deps.clock.now();
    const changed: WebhookRecord = {
      ...current,
      ...(req.url !== undefined ? { url: req.url } : {}),
      ...(req.events !== undefined ? { events: req.events as WebhookEvent[] } : {}),
      ...(req.is_active !== undefined ? { isActive: req.is_active, disabledReason: null } : {}),
      updatedAt: now.toISOString(),
    };
    await deps.store.save(changed, now);
    // Re-enabled: its run of failures starts over.
    if (req.is_active === true) await deps.log.resetFailures(tenantId, webhookId);
    return changed;
  });
  deps.logger.info({ tenant_id: tenantId, webhook_id: webhookId, fields: Object.keys(req) }, 'webhook changed');
  return toWebhookView(next, deps.clock.now());
}

export async function deleteWebhook(deps: WebhookServiceDeps, tenantId: string, webhookId: string, takeSeat?: () => Promise<void>): Promise<void> {
  await getWebhook(deps, tenantId, webhookId);
  await takeSeat?.();
  await withTenantWebhookLock(deps, tenantId, async () => {
    const current = await getWebhook(deps, tenantId, webhookId);
    const now = deps.clock.now();
    await deps.store.remove({ ...current, isActive: false, updatedAt: now.toISOString() }, now);
  });
  deps.logger.info({ tenant_id: tenantId, webhook_id: webhookId }, 'webhook deleted');
}

/** A new secret (shown once); the previous one keeps signing for `graceSeconds` (0: stops at once). */
export async function rotateWebhookSecret(
  deps: WebhookServiceDeps, tenantId: string, webhookId: string, graceSeconds: number, takeSeat?: () => Promise<void>,
): Promise<WebhookView & { secret: string }> {
  await getWebhook(deps, tenantId, webhookId);
  await takeSeat?.();
  const secret = newSigningSecret();
  const encryptedSecret = await encryptSecret(deps, secret);
  // The new secret goes onto the endpoint as it is under the lock: a PATCH made meanwhile is kept.
  const next = await withTenantWebhookLock(deps, tenantId, async () => {
    const current = await getWebhook(deps, tenantId, webhookId);
    const now = deps.clock.now();
    const rotated: WebhookRecord = {
      ...current,
      encryptedSecret,
      previousEncryptedSecret: graceSeconds > 0 ? current.encryptedSecret : null,
      previousSecretExpiresAt: graceSeconds > 0 ? new Date(now.getTime() + graceSeconds * 1000).toISOString() : null,
      updatedAt: now.toISOString(),
    };
    await deps.store.save(rotated, now);
    return rotated;
  });
  deps.logger.info({ tenant_id: tenantId, webhook_id: webhookId, grace_seconds: graceSeconds }, 'webhook secret rotated');
  return { ...toWebhookView(next, deps.clock.now()), secret };
}

export async function listDeliveries(deps: WebhookServiceDeps, tenantId: string, webhookId: string, limit: number, cursor?: string): Promise<{ deliveries: DeliveryAttempt[]; next_cursor: string | null }> {
  await getWebhook(deps, tenantId, webhookId);
  const page = await deps.log.attempts(tenantId, webhookId, cursor ? Number(cursor) : 0, limit);
  return { deliveries: page.attempts, next_cursor: page.nextCursor };
}

export async function redeliver(
  deps: WebhookServiceDeps, tenantId: string, webhookId: string, deliveryId: string, takeSeat?: () => Promise<void>,
): Promise<{ delivery_id: string; webhook_id: string; event_type: string; queued: boolean }> {
  const endpoint = await getWebhook(deps, tenantId, webhookId);
  const delivery = await deps.log.get(tenantId, deliveryId);
  if (!delivery || delivery.webhookId !== webhookId) {
    throw notFound('WEBHOOK_DELIVERY_NOT_FOUND', `Delivery '${deliveryId}' not found for webhook '${webhookId}' (deliveries are kept 30 days)`);
  }
  if (!endpoint.isActive) throw new AppError(409, 'WEBHOOK_INACTIVE', `Webhook '${webhookId}' is not active; re-enable it with PATCH is_active=true first`);
  await takeSeat?.();
  const queued = await deps.redeliver({ tenantId, webhookId, deliveryId, eventType: delivery.eventType, body: delivery.body });
  if (!queued) {
    throw new AppError(409, 'WEBHOOK_DELIVERY_IN_PROGRESS', `Delivery '${deliveryId}' is still queued or being sent; redeliver it once that attempt is over`);
  }
  return { delivery_id: deliveryId, webhook_id: webhookId, event_type: delivery.eventType, queued: true };
}
