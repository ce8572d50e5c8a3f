import type { OffboardStep } from './types';

/**
 * Offboarding steps of features built on top of tenants: each does nothing when its feature is not wired (a test
 * system without webhooks), so the step list and its recorded names stay the same everywhere.
 */

/** Before cancel_runs: no backfill of the tenant admits another date once its runs are being cancelled. */
export const cancelBackfillsStep: OffboardStep = {
  name: 'cancel_backfills',
  async run({ tenantId, deps }) {
    const ids = deps.backfills ? await deps.backfills.activeIds(tenantId) : [];
    for (const id of ids) await deps.backfills?.cancel(tenantId, id);
    return { detail: `${ids.length} active backfills cancelled` };
  },
  async plan({ tenantId, deps }) {
    return `${deps.backfills ? (await deps.backfills.activeIds(tenantId)).length : 0} active backfills would be cancelled`;
  },
};

/** After disable_schedules: no event of the tenant is delivered any more. */
export const disableWebhooksStep: OffboardStep = {
  name: 'disable_webhooks',
  async run({ tenantId, deps }) {
    const disabled = deps.webhooks ? await deps.webhooks.disableAll(tenantId) : [];
    return { detail: `${disabled.length} webhook endpoints disabled` };
  },
  async plan({ tenantId, deps }) {
    return `${deps.webhooks ? (await deps.webhooks.activeIds(tenantId)).length : 0} active webhook endpoints would be disabled`;
  },
};

/** After delete_data: the endpoints (with their encrypted secrets) and their delivery log are gone. */
export const deleteWebhooksStep: OffboardStep = {
  name: 'delete_webhooks',
  async run({ tenantId, deps, record }) {
    if (!deps.webhooks) return { detail: 'no webhooks wired' };
    const { redisKeysDeleted } = await deps.webhooks.deleteAll(tenantId);
    await record({ webhook_redis_keys: redisKeysDeleted });
    return { detail: 'webhook endpoints, secrets and delivery log deleted' };
  },
  async plan() {
    return 'webhook endpoints, their encrypted secrets and delivery log would be deleted';
  },
};
