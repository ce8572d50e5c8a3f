import type { Clock } from '../shared/clock';
import { utcDay } from '../shared/clock';
import { AppError, isAppError } from '../shared/errors';
import { newId } from '../shared/ids';
import { templateNotFound } from '../pipelines/template-registry';
import type { TemplateRegistry } from '../pipelines/template-registry';
import { validateRunParameters } from '../pipelines/parameters';
import { isTerminalStatus } from '../queues/pipeline-runs';
import type { TriggerRun } from '../queues/pipeline-runs';
import type { Warehouse } from '../warehouse/types';
import { countsOf, listTenants } from './batch-rows';
import type { Fanout, FanoutSelector, FanoutStore, FanoutTenant } from './fanout-store';
import { batchRunId, requestHash } from './run-ids';
import { readProfile } from '../tenants/tenant-store';

export interface FanoutRequest {
  provider: string;
  domain: string;
  templateName: string;
  selector: FanoutSelector;
  parameters: Record<string, unknown>;
  spreadSeconds: number;
  /** The idempotency window; default the UTC day of the request. */
  window?: string;
}

export interface FanoutServiceDeps {
  store: FanoutStore;
  templates: TemplateRegistry;
  warehouse: Warehouse;
  clock: Clock;
  trigger: TriggerRun;
  /** Tenant id → its run's status, at a bounded cost (fanout-run-status.ts). */
  runStatuses(f: Fanout): Promise<Map<string, string | null>>;
  writeSnapshot(f: Fanout, now: Date): Promise<void>;
  /** Adds the tenant's delayed start job (idempotent per fan-out and tenant). */
  scheduleStart(fanoutId: string, tenantId: string, delayMs: number): Promise<void>;
  /** Removes it, when it has not started (a cancelled tenant's). */
  unscheduleStart(fanoutId: string, tenantId: string): Promise<void>;
  /** Jitter source in [0, 1); tests may pin it. */
  random?: () => number;
}

export interface FanoutCreated {
  created: boolean;
  fanout_id: string;
  window: string;
  tenants_total: number;
  counts: Record<string, number>;
}

export interface FanoutView {
  fanout_id: string;
  template: string;
  parameters: Record<string, unknown>;
  selector: FanoutSelector;
  window: string;
  spread_seconds: number;
  created_at: string;
  tenants_total: number;
  counts: Record<string, number>;
  tenants: Array<{ tenant_id: string; state: string; start_at: string; run_id: string | null; run_status: string | null; code: string | null }>;
}

const notFound = (fanoutId: string): AppError => new AppError(404, 'FANOUT_NOT_FOUND', `Fan-out ${fanoutId} not found`);

/** Codes worth another try of the same job (BullMQ backs off): the platform, not the tenant, said no. */
const PLATFORM_TROUBLE = new Set(['DEPENDENCY_UNAVAILABLE', 'WAREHOUSE_PERMISSION_DENIED', 'SHUTTING_DOWN', 'INTERNAL_ERROR']);

export function fanoutService(deps: FanoutServiceDeps) {
  const { store } = deps;
  const random = deps.random ?? Math.random;

  /** The tenants the selector names: ACTIVE ones for all_active and plans; a list as given (unknown ids are refused). */
  const select = async (selector: FanoutSelector): Promise<{ chosen: string[]; unknown: string[] }> => {
    const tenants = await listTenants(deps.warehouse);
    if ('all_active' in selector) return { chosen: tenants.filter((t) => t.status === 'ACTIVE').map((t) => t.tenantId), unknown: [] };
    if ('plans' in selector) {
      const plans = new Set(selector.plans.map((p) => p.toUpperCase()));
      return { chosen: tenants.filter((t) => t.status === 'ACTIVE' && plans.has(t.plan)).map((t) => t.tenantId), unknown: [] };
    }
    const known = new Set(tenants.map((t) => t.tenantId));
    const ids = [...new Set(selector.tenant_ids)];
    return { chosen: ids.filter((id) => known.has(id)), unknown: ids.filter((id) => !known.has(id)) };
  };

  const created = (f: Fanout, isNew: boolean): FanoutCreated => ({
    created: isNew,
    fanout_id: f.fanoutId,
    window: f.window,
    tenants_total: Object.keys(f.tenants).length,
    counts: countsOf(Object.values(f.tenants).map((t) => t.state)),
  });

  /** (Re)adds the start job of every tenant still SCHEDULED: a no-op for jobs that exist, a repair for a create cut short. */
  const schedule = async (f: Fanout, now: Date): Promise<void> => {
    for (const [tenantId, t] of Object.entries(f.tenants)) {
      if (t.state === 'SCHEDULED') await deps.scheduleStart(f.fanoutId, tenantId, Date.parse(t.start_at) - now.getTime());
    }
  };

  return {
    async create(req: FanoutRequest): Promise<FanoutCreated> {
      const provider = req.provider.toLowerCase();
      const domain = req.domain.toLowerCase();
      const template = deps.templates.get(provider, domain, req.templateName);
      if (!template) throw templateNotFound(provider, domain, req.templateName);
      const now = deps.clock.now();
      // Checked (422) and resolved once, so every tenant runs with the same values (e.g. one `@yesterday`).
      const parameters = validateRunParameters(template, req.parameters, now);
      const window = req.window ?? utcDay(now);
      // The request names the fan-out: the same request in the same window is the same id (and the same hash).
      const fanoutId = batchRunId('fanout', 'request', requestHash([req.selector, provider, domain, req.templateName, parameters, window]));
      const existing = await store.get(fanoutId);
      if (existing) {
        await schedule(existing, now);
        return created(existing, false);
      }
      const { chosen, unknown } = await select(req.selector);
      const tenants: Record<string, FanoutTenant> = {};
      const spreadMs = req.spreadSeconds * 1000;
      // Evenly spread with jitter: tenant i starts somewhere in the i-th slice of the window.
      chosen.forEach((tenantId, i) => {
        const offset = ((i + random()) / chosen.length) * spreadMs;
        tenants[tenantId] = { state: 'SCHEDULED', start_at: new Date(now.getTime() + Math.floor(offset)).toISOString(), run_id: null, code: null };
      });
      for (const tenantId of unknown) tenants[tenantId] = { state: 'REFUSED', start_at: now.toISOString(), run_id: null, code: 'TENANT_NOT_FOUND' };
      const f: Fanout = {
        fanoutId, provider, domain, templateName: req.templateName, parameters, selector: req.selector,
        window, spreadSeconds: req.spreadSeconds, createdAt: now.toISOString(), tenants,
      };
      if (!(await store.create(f))) {
        const other = await store.get(fanoutId);
        if (other) return created(other, false);
      }
      await deps.writeSnapshot(f, now);
      await schedule(f, now);
      return created(f, true);
    },

    /**
     * One tenant's start, run by its delayed job: one ask of that tenant's admission. A refusal is recorded with
     * its code and not retried; the run id is derived from (fan-out, tenant), so a re-delivered job admits nothing twice.
     */
    async start(fanoutId: string, tenantId: string): Promise<void> {
      const f = await store.get(fanoutId);
      const t = f?.tenants[tenantId];
      if (!f || !t || t.state !== 'SCHEDULED') return;
      let next: FanoutTenant;
      try {
        const run = await deps.trigger({
          tenantId, provider: f.provider, domain: f.domain, templateName: f.templateName, parameters: f.parameters,
          userId: null, triggerType: 'fanout', runId: batchRunId('fanout', fanoutId, tenantId), batchId: fanoutId,
        });
        next = { ...t, state: 'ADMITTED', run_id: run.pipelineLoggingId };
        // A re-delivered job may find the run already ended (its end's hook came before this tenant was ADMITTED).
        if (isTerminalStatus(run.status)) await store.recordRunEnds(fanoutId, { [tenantId]: run.status });
      } catch (err) {
        if (!isAppError(err) || PLATFORM_TROUBLE.has(err.code)) throw err;
        // Admission answers a suspended, offboarded or unknown tenant as an unknown key (the tenant learns nothing
        // more); the operator is told which.
        next = { ...t, state: 'REFUSED', code: err.status === 401 ? await unadmittableTenant(deps.warehouse, tenantId, err.code) : err.code };
      }
      await store.setTenant(fanoutId, tenantId, next);
      const now = deps.clock.now();
      await deps.writeSnapshot({ ...f, tenants: { ...f.tenants, [tenantId]: next } }, now);
    },

    /**
     * Cancels the tenants not started yet (CANCELLED, code CANCELLED_BY_OPERATOR); runs already admitted go on (cancel
     * them one by one with DELETE /api/v1/pipelines/runs/{id}). Idempotent: a second call cancels nothing more.
     */
    async cancel(fanoutId: string): Promise<FanoutView> {
      const cancelled = await store.cancelScheduled(fanoutId, 'CANCELLED_BY_OPERATOR');
      if (cancelled === null) throw notFound(fanoutId);
      const f = await store.get(fanoutId);
      if (f && cancelled > 0) {
        await deps.writeSnapshot(f, deps.clock.now());
        for (const [tenantId, t] of Object.entries(f.tenants)) if (t.state === 'CANCELLED') await deps.unscheduleStart(fanoutId, tenantId);
      }
      return this.get(fanoutId);
    },

    async get(fanoutId: string): Promise<FanoutView> {
      const f = await store.get(fanoutId);
      if (!f) throw notFound(fanoutId);
      const statuses = await deps.runStatuses(f);
      const tenants = Object.entries(f.tenants)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([tenantId, t]) => ({
          tenant_id: tenantId,
          state: t.state,
          start_at: t.start_at,
          run_id: t.run_id,
          run_status: statuses.get(tenantId) ?? null,
          code: t.code,
        }));
      return {
        fanout_id: f.fanoutId,
        template: `${f.provider}/${f.domain}/${f.templateName}`,
        parameters: f.parameters,
        selector: f.selector,
        window: f.window,
        spread_seconds: f.spreadSeconds,
        created_at: f.createdAt,
        tenants_total: tenants.length,
        counts: countsOf(tenants.map((t) => (t.state === 'ADMITTED' ? (t.run_status ?? 'ADMITTED') : t.state))),
        tenants,
      };
    },
  };
}

export type FanoutService = ReturnType<typeof fanoutService>;

/** Why admission refused a tenant as an unknown key: its profile says (the warehouse's, not Redis' cached copy). */
async function unadmittableTenant(warehouse: Warehouse, tenantId: string, code: string): Promise<string> {
  const profile = await readProfile(warehouse, tenantId);
  if (!profile) return 'TENANT_NOT_FOUND';
  return { SUSPENDED: 'TENANT_SUSPENDED', DELETED: 'TENANT_DELETED' }[profile.status as string] ?? code;
}
