import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import type { RunParameters } from '../queues/pipeline-runs';

/**
 * A fan-out's state in Redis: one hash in the fan-out's own slot (`{fo:<id>}`) with the request and one field per
 * tenant. A tenant is SCHEDULED until its delayed job runs, then ADMITTED (with its run id) or REFUSED (with the
 * code admission answered). The delayed jobs of the batch-dispatch queue are what drives it; no other index.
 */
export type FanoutTenantState = 'SCHEDULED' | 'ADMITTED' | 'REFUSED';

export interface FanoutTenant {
  state: FanoutTenantState;
  start_at: string;
  run_id: string | null;
  code: string | null;
}

export type FanoutSelector = { all_active: true } | { plans: string[] } | { tenant_ids: string[] };

export interface Fanout {
  fanoutId: string;
  provider: string;
  domain: string;
  templateName: string;
  parameters: Record<string, unknown>;
  selector: FanoutSelector;
  window: string;
  spreadSeconds: number;
  requestHash: string;
  createdAt: string;
  tenants: Record<string, FanoutTenant>;
}

const TENANT_FIELD = 't:';
/** A fan-out stays readable this long; the warehouse view keeps it after. */
export const FANOUT_TTL_SECONDS = 30 * 24 * 3600;

function parseFanout(fanoutId: string, h: Record<string, string>): Fanout | null {
  if (!h.template_name) return null;
  const tenants: Record<string, FanoutTenant> = {};
  for (const [field, value] of Object.entries(h)) {
    if (field.startsWith(TENANT_FIELD)) tenants[field.slice(TENANT_FIELD.length)] = JSON.parse(value) as FanoutTenant;
  }
  return {
    fanoutId,
    provider: h.provider ?? '',
    domain: h.domain ?? '',
    templateName: h.template_name,
    parameters: JSON.parse(h.parameters ?? '{}') as RunParameters,
    selector: JSON.parse(h.selector ?? '{}') as FanoutSelector,
    window: h.window ?? '',
    spreadSeconds: Number(h.spread_seconds ?? 0),
    requestHash: h.request_hash ?? '',
    createdAt: h.created_at ?? '',
    tenants,
  };
}

export class FanoutStore {
  constructor(private readonly redis: RedisClient, private readonly keys: RedisKeys) {}

  async get(fanoutId: string): Promise<Fanout | null> {
    return parseFanout(fanoutId, await this.redis.hgetall(this.keys.fanout(fanoutId)));
  }

  /** The id already holding this request, if its fan-out exists. */
  async existing(requestHash: string): Promise<string | null> {
    const id = await this.redis.get(this.keys.fanoutDedupe(requestHash));
    return id && (await this.redis.exists(this.keys.fanout(id))) === 1 ? id : null;
  }

  /**
   * Claims the request for `f` and writes it; when another fan-out holds the request, returns its id instead.
   * The fan-out's hash is written before any of its jobs is added, and the request key is taken first, so two
   * identical posts never both schedule runs.
   */
  async create(f: Fanout): Promise<{ created: boolean; fanoutId: string }> {
    const dedupe = this.keys.fanoutDedupe(f.requestHash);
    if ((await this.redis.set(dedupe, f.fanoutId, 'EX', FANOUT_TTL_SECONDS, 'NX')) !== 'OK') {
      const held = await this.existing(f.requestHash);
      if (held) return { created: false, fanoutId: held };
      // The holder was never written (its process stopped in between): take the request over.
      await this.redis.set(dedupe, f.fanoutId, 'EX', FANOUT_TTL_SECONDS);
    }
    const key = this.keys.fanout(f.fanoutId);
    const fields: Record<string, string> = {
      provider: f.provider,
      domain: f.domain,
      template_name: f.templateName,
      parameters: JSON.stringify(f.parameters),
      selector: JSON.stringify(f.selector),
      window: f.window,
      spread_seconds: String(f.spreadSeconds),
      request_hash: f.requestHash,
      created_at: f.createdAt,
    };
    for (const [tenantId, t] of Object.entries(f.tenants)) fields[`${TENANT_FIELD}${tenantId}`] = JSON.stringify(t);
    await this.redis.multi().hset(key, fields).expire(key, FANOUT_TTL_SECONDS).exec();
    return { created: true, fanoutId: f.fanoutId };
  }

  async setTenant(fanoutId: string, tenantId: string, t: FanoutTenant): Promise<void> {
    await this.redis.hset(this.keys.fanout(fanoutId), `${TENANT_FIELD}${tenantId}`, JSON.stringify(t));
  }
}
