import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { CENTRAL_DATASET, eventsTableName, tenantWebhooks } from '../warehouse/tables';
import type { Warehouse } from '../warehouse/types';
import { bytes, iso, str } from '../tenants/row-values';
import { write } from '../tenants/tenant-store';
import { WEBHOOK_EVENTS } from './types';
import type { WebhookEvent, WebhookRecord } from './types';

/**
 * Where endpoints live: the warehouse state table `tenants.tenant_webhooks` is the durable copy, a
 * Redis hash per tenant (`{t:<tenant>}` tag) the hot one every emitter and delivery reads. Writes go to
 * the warehouse first, then to Redis. The hash carries a `~loaded` marker: a hash without it (lost, or
 * never read) is rebuilt from the warehouse on first use, so a tenant without endpoints costs one HGETALL.
 */

const LOADED = '~loaded';
const EMPTY_MARKER_TTL_SECONDS = 3600;

export interface WebhookStoreDeps {
  redis: RedisClient;
  keys: RedisKeys;
  warehouse: Warehouse;
}

const isEvent = (v: unknown): v is WebhookEvent => (WEBHOOK_EVENTS as readonly unknown[]).includes(v);

function parseRecord(text: string): WebhookRecord | null {
  try {
    return JSON.parse(text) as WebhookRecord;
  } catch {
    return null;
  }
}

export class WebhookStore {
  /** Rebuilds under way, per tenant: concurrent misses (a worker finishing 100 runs at once) share one warehouse query. */
  private readonly reloading = new Map<string, Promise<Record<string, string>>>();

  constructor(private readonly deps: WebhookStoreDeps) {}

  /** Every endpoint of the tenant (active or not), oldest first. */
  async list(tenantId: string): Promise<WebhookRecord[]> {
    const key = this.deps.keys.webhooks(tenantId);
    let hash = await this.deps.redis.hgetall(key);
    if (hash[LOADED] === undefined) hash = await this.reload(tenantId);
    return Object.entries(hash)
      .filter(([field]) => field !== LOADED)
      .flatMap(([, text]) => parseRecord(text) ?? [])
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.webhookId.localeCompare(b.webhookId));
  }

  async get(tenantId: string, webhookId: string): Promise<WebhookRecord | null> {
    const key = this.deps.keys.webhooks(tenantId);
    const [loaded, text] = await this.deps.redis.hmget(key, LOADED, webhookId);
    if (loaded === null) return (await this.list(tenantId)).find((w) => w.webhookId === webhookId) ?? null;
    return text ? parseRecord(text) : null;
  }

  /**
   * The endpoint as the hot copy holds it now, without rebuilding a missing hash: null when it is deleted or
   * the tenant's hash is gone (offboarded). For changes made under the tenant's webhook lock by the worker,
   * which must neither revive an endpoint nor leave a rebuilt hash behind an offboarding.
   */
  async hot(tenantId: string, webhookId: string): Promise<WebhookRecord | null> {
    const text = await this.deps.redis.hget(this.deps.keys.webhooks(tenantId), webhookId);
    return text ? parseRecord(text) : null;
  }

  /** The active endpoints subscribed to `event`: the hot lookup of every emitted event. */
  async subscribers(tenantId: string, event: WebhookEvent): Promise<WebhookRecord[]> {
    return (await this.list(tenantId)).filter((w) => w.isActive && w.events.includes(event));
  }

  /** Stores a snapshot (create or change): warehouse first, then the hot copy. */
  async save(record: WebhookRecord, now: Date): Promise<void> {
    await this.writeRow(record, false, now);
    await this.list(record.tenantId); // the hash is loaded before a field is added, so it never looks complete while partial
    const key = this.deps.keys.webhooks(record.tenantId);
    await this.deps.redis.multi().hset(key, record.webhookId, JSON.stringify(record)).persist(key).exec();
  }

  /** Deletes one endpoint (tombstone row) and its Redis state. */
  async remove(record: WebhookRecord, now: Date): Promise<void> {
    await this.writeRow(record, true, now);
    const { keys } = this.deps;
    await this.deps.redis.hdel(keys.webhooks(record.tenantId), record.webhookId);
    await this.deps.redis.del(keys.webhookFailures(record.tenantId, record.webhookId), keys.webhookAttempts(record.tenantId, record.webhookId));
  }

  /** Drops every warehouse row of the tenant's endpoints (offboarding); Redis is the caller's (deleteTenantWebhookState). */
  async deleteRows(tenantId: string): Promise<void> {
    await this.deps.warehouse.query(`DELETE FROM \`${CENTRAL_DATASET}.${eventsTableName(tenantWebhooks)}\` WHERE tenant_id = @tenant_id`, {
      params: { tenant_id: tenantId },
    });
  }

  /** Every endpoint id the warehouse knows for the tenant, deleted ones included (their Redis keys may linger). */
  async allIdsEver(tenantId: string): Promise<string[]> {
    const { rows } = await this.deps.warehouse.query(
      `SELECT DISTINCT webhook_id FROM \`${CENTRAL_DATASET}.${eventsTableName(tenantWebhooks)}\` WHERE tenant_id = @tenant_id`,
      { params: { tenant_id: tenantId } },
    );
    return rows.map((r) => str(r.webhook_id));
  }

  private reload(tenantId: string): Promise<Record<string, string>> {
    const inFlight = this.reloading.get(tenantId);
    if (inFlight) return inFlight;
    const loading = this.load(tenantId).finally(() => this.reloading.delete(tenantId));
    this.reloading.set(tenantId, loading);
    return loading;
  }

  private async load(tenantId: string): Promise<Record<string, string>> {
    const { rows } = await this.deps.warehouse.query(
      `SELECT webhook_id, url, events, is_active, disabled_reason, encrypted_secret, previous_encrypted_secret, previous_secret_expires_at, created_at, updated_at
       FROM \`${CENTRAL_DATASET}.${tenantWebhooks.name}\` WHERE tenant_id = @tenant_id`,
      { params: { tenant_id: tenantId } },
    );
    const hash: Record<string, string> = { [LOADED]: '1' };
    for (const r of rows) {
      const events = (typeof r.events === 'string' ? (JSON.parse(r.events) as unknown) : r.events) as unknown;
      const record: WebhookRecord = {
        webhookId: str(r.webhook_id),
        tenantId,
        url: str(r.url),
        events: Array.isArray(events) ? events.filter(isEvent) : [],
        isActive: r.is_active === true,
        disabledReason: r.disabled_reason === null || r.disabled_reason === undefined ? null : str(r.disabled_reason),
        encryptedSecret: bytes(r.encrypted_secret)?.toString('base64') ?? '',
        previousEncryptedSecret: bytes(r.previous_encrypted_secret)?.toString('base64') ?? null,
        previousSecretExpiresAt: iso(r.previous_secret_expires_at),
        createdAt: iso(r.created_at) ?? '',
        updatedAt: iso(r.updated_at) ?? '',
      };
      hash[record.webhookId] = JSON.stringify(record);
    }
    const key = this.deps.keys.webhooks(tenantId);
    // A tenant without endpoints keeps its empty marker for an hour only: the warehouse is asked again
    // then, and an offboarded tenant's marker does not outlive it.
    if (rows.length === 0) await this.deps.redis.multi().hset(key, hash).expire(key, EMPTY_MARKER_TTL_SECONDS).exec();
    else await this.deps.redis.hset(key, hash);
    return hash;
  }

  private writeRow(w: WebhookRecord, isDeleted: boolean, now: Date): Promise<void> {
    return write(this.deps.warehouse, tenantWebhooks, [{
      tenant_id: w.tenantId,
      webhook_id: w.webhookId,
      url: w.url,
      events: JSON.stringify(w.events),
      is_active: w.isActive,
      disabled_reason: w.disabledReason,
      encrypted_secret: Buffer.from(w.encryptedSecret, 'base64'),
      previous_encrypted_secret: w.previousEncryptedSecret === null ? null : Buffer.from(w.previousEncryptedSecret, 'base64'),
      previous_secret_expires_at: w.previousSecretExpiresAt === null ? null : new Date(w.previousSecretExpiresAt),
      is_deleted: isDeleted,
      created_at: new Date(w.createdAt),
      updated_at: new Date(w.updatedAt),
    }], now, 'stream');
  }
}
