import type { RedisClient } from '../redis/connection';
import type { RedisKeys } from '../redis/keys';
import { ScriptRunner } from '../redis/scripts';
import type { RunParameters } from '../queues/pipeline-runs';
import { isTerminalStatus } from '../shared/run-status';
import type { TerminalRunStatus } from '../shared/run-status';

/**
 * A fan-out's state in Redis: one hash in the fan-out's own slot (`{fo:<id>}`) with the request and one field per
 * tenant. A tenant is SCHEDULED until its delayed job runs, then ADMITTED (with its run id) or REFUSED (with the
 * code admission answered); CANCELLED when the operator cancelled the fan-out before its start. The delayed jobs of
 * the batch-dispatch queue are what drives it; no other index.
 */
export type FanoutTenantState = 'SCHEDULED' | 'ADMITTED' | 'REFUSED' | 'CANCELLED';

export interface FanoutTenant {
  state: FanoutTenantState;
  start_at: string;
  run_id: string | null;
  code: string | null;
  /** The admitted run's final status, once recorded (the run's end, or a read that found it ended). */
  run_status?: TerminalRunStatus;
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
  createdAt: string;
  tenants: Record<string, FanoutTenant>;
}

const TENANT_FIELD = 't:';
/** A field of its own, beside the tenant's: the run's end and the tenant's start are written by different processes. */
const RUN_END_FIELD = 'r:';
/** A fan-out stays readable this long; the warehouse view keeps it after. */
export const FANOUT_TTL_SECONDS = 30 * 24 * 3600;

function parseFanout(fanoutId: string, h: Record<string, string>): Fanout | null {
  if (!h.template_name) return null;
  const tenants: Record<string, FanoutTenant> = {};
  for (const [field, value] of Object.entries(h)) {
    if (field.startsWith(TENANT_FIELD)) tenants[field.slice(TENANT_FIELD.length)] = JSON.parse(value) as FanoutTenant;
  }
  for (const [field, value] of Object.entries(h)) {
    const t = field.startsWith(RUN_END_FIELD) ? tenants[field.slice(RUN_END_FIELD.length)] : undefined;
    if (t && t.state === 'ADMITTED' && isTerminalStatus(value)) t.run_status = value;
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
    createdAt: h.created_at ?? '',
    tenants,
  };
}

export class FanoutStore {
  private readonly scripts: ScriptRunner;

  constructor(private readonly redis: RedisClient, private readonly keys: RedisKeys) {
    this.scripts = new ScriptRunner(redis);
  }

  async get(fanoutId: string): Promise<Fanout | null> {
    return parseFanout(fanoutId, await this.redis.hgetall(this.keys.fanout(fanoutId)));
  }

  /**
   * Writes the fan-out unless it exists (src/redis/scripts/fanout-create.lua). Its id derives from its request, so
   * of two identical requests at once only one writes it, and only that one schedules its jobs.
   */
  async create(f: Fanout): Promise<boolean> {
    const fields: Record<string, string> = {
      provider: f.provider,
      domain: f.domain,
      template_name: f.templateName,
      parameters: JSON.stringify(f.parameters),
      selector: JSON.stringify(f.selector),
      window: f.window,
      spread_seconds: String(f.spreadSeconds),
      created_at: f.createdAt,
    };
    for (const [tenantId, t] of Object.entries(f.tenants)) fields[`${TENANT_FIELD}${tenantId}`] = JSON.stringify(t);
    return (await this.scripts.run('fanout-create', [this.keys.fanout(f.fanoutId)], [FANOUT_TTL_SECONDS, ...Object.entries(fields).flat()])) === 1;
  }

  /** Cancels every tenant still SCHEDULED (src/redis/scripts/fanout-cancel.lua); null when the fan-out does not exist. */
  async cancelScheduled(fanoutId: string, code: string): Promise<number | null> {
    const cancelled = await this.scripts.run('fanout-cancel', [this.keys.fanout(fanoutId)], [code]);
    return cancelled < 0 ? null : cancelled;
  }

  /** Records how tenants' runs ended (src/redis/scripts/fanout-run-ended.lua); a fan-out that expired is left alone. */
  async recordRunEnds(fanoutId: string, ends: Record<string, TerminalRunStatus>): Promise<void> {
    const args = Object.entries(ends).flatMap(([tenantId, status]) => [`${RUN_END_FIELD}${tenantId}`, status]);
    if (args.length > 0) await this.scripts.run('fanout-run-ended', [this.keys.fanout(fanoutId)], args);
  }

  async setTenant(fanoutId: string, tenantId: string, t: FanoutTenant): Promise<void> {
    await this.redis.hset(this.keys.fanout(fanoutId), `${TENANT_FIELD}${tenantId}`, JSON.stringify(t));
  }
}
