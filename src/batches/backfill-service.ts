import type { Clock } from '../shared/clock';
import { AppError } from '../shared/errors';
import { SCRIPT_CODES, scriptError } from '../redis/scripts/errors';
import { newId, pipelineIdOf } from '../shared/ids';
import { templateNotFound } from '../pipelines/template-registry';
import type { TemplateRegistry } from '../pipelines/template-registry';
import { validateRunParameters } from '../pipelines/parameters';
import type { RunParameters, RunStatus } from '../queues/pipeline-runs';
import type { PlanCatalog } from '../tenants/plans';
import type { QuotaView } from '../tenants/quota-view';
import type { Warehouse } from '../warehouse/types';
import type { Backfill, BackfillStore, DateEntry } from './backfill-store';
import { completedDates, countsOf, readBackfillSnapshot } from './batch-rows';
import { daysBetween, requestHash } from './run-ids';

export interface BackfillRequest {
  tenantId: string;
  provider: string;
  domain: string;
  templateName: string;
  startDate: string;
  endDate: string;
  parameters: Record<string, unknown>;
  maxParallel?: number;
  skipCompleted: boolean;
  userId: string | null;
  /** The caller's team seat, taken only once the template, range and plan limits are accepted. */
  takeSeat?: () => Promise<void>;
}

export interface BackfillServiceDeps {
  store: BackfillStore;
  templates: TemplateRegistry;
  plans: PlanCatalog;
  warehouse: Warehouse;
  clock: Clock;
  /** The tenant's quota view (reloading its profile if Redis lost it). */
  quota(tenantId: string): Promise<QuotaView>;
  runStatus(tenantId: string, runId: string): Promise<RunStatus | null>;
  writeSnapshot(b: Backfill, now: Date): Promise<void>;
  /** Asks for a dispatch pass (a batch-dispatch job). */
  requestDispatch(tenantId: string, backfillId: string): Promise<void>;
  /** Runs a dispatch pass now, in this process (cancel uses it so its answer is final). */
  dispatchNow(tenantId: string, backfillId: string): Promise<void>;
}

/** A date as the API shows it: WAITING dates of a cancelled backfill are CANCELLED; live dates show their run's status. */
export interface BackfillDateView {
  date: string;
  status: string;
  run_id: string | null;
  refusal_code: string | null;
}

export interface BackfillView {
  backfill_id: string;
  tenant_id: string;
  pipeline_id: string;
  status: Backfill['status'];
  start_date: string;
  end_date: string;
  parameters: RunParameters;
  max_parallel: number;
  skip_completed: boolean;
  dates_total: number;
  counts: Record<string, number>;
  waiting_until: string | null;
  last_refusal: string | null;
  created_at: string;
  updated_at: string;
  dates: BackfillDateView[];
}

export interface BackfillCreated {
  created: boolean;
  backfill_id: string;
  status: Backfill['status'];
  dates_total: number;
  dates_to_run: number;
  dates_skipped: number;
  max_parallel: number;
  estimated_days: number;
}

export interface EstimateQuota {
  remainingToday: number;
  dailyLimit: number;
  remainingMonth: number;
  monthlyLimit: number;
}

/** Past this many days the estimate says "never" (a limit of 0, or a plan too small to matter). */
const MAX_ESTIMATED_DAYS = 36_500;

/**
 * UTC days the runs take, from the first day one can start to the day the last one does: today counts only for
 * what is left of its quota, later days at the daily quota, and no more in a UTC month than the monthly quota
 * leaves (a month used up waits for the 1st). `today` is the current UTC day. Number.MAX_SAFE_INTEGER: never.
 */
export function estimateDays(toRun: number, quota: EstimateQuota, today: Date): number {
  if (toRun === 0) return 0;
  let left = toRun;
  let monthLeft = Math.max(0, quota.remainingMonth);
  let first = -1;
  const day = new Date(Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate()));
  for (let i = 0; i <= MAX_ESTIMATED_DAYS; i += 1, day.setUTCDate(day.getUTCDate() + 1)) {
    if (i > 0 && day.getUTCDate() === 1) monthLeft = quota.monthlyLimit;
    const take = Math.min(left, monthLeft, i === 0 ? quota.remainingToday : quota.dailyLimit);
    if (take <= 0) continue;
    if (first < 0) first = i;
    left -= take;
    monthLeft -= take;
    if (left === 0) return i - first + 1;
  }
  return Number.MAX_SAFE_INTEGER;
}

const field = (name: string, message: string): AppError => new AppError(422, 'VALIDATION_ERROR', message, { errors: [{ field: name, message }] });

export function backfillService(deps: BackfillServiceDeps) {
  const { store } = deps;

  const view = async (b: Backfill): Promise<BackfillView> => {
    const dates = await Promise.all(
      b.dates.map(async (d: DateEntry): Promise<BackfillDateView> => {
        let status: string = d.state;
        if (d.state === 'WAITING' && b.status === 'CANCELLED') status = 'CANCELLED';
        // A status that cannot be read now (the warehouse failed) shows as PENDING; only dispatch must not guess.
        if (d.state === 'ADMITTED') status = (d.ref ? await deps.runStatus(b.tenantId, d.ref).catch(() => null) : null) ?? 'PENDING';
        const isRun = d.state !== 'REFUSED' && d.ref !== null;
        return { date: d.date, status, run_id: isRun ? d.ref : null, refusal_code: d.state === 'REFUSED' ? d.ref : null };
      }),
    );
    return {
      backfill_id: b.backfillId,
      tenant_id: b.tenantId,
      pipeline_id: pipelineIdOf(b.tenantId, b.provider, b.domain, b.templateName),
      status: b.status,
      start_date: b.startDate,
      end_date: b.endDate,
      parameters: b.parameters,
      max_parallel: b.maxParallel,
      skip_completed: b.skipCompleted,
      dates_total: b.dates.length,
      counts: countsOf(dates.map((d) => d.status)),
      waiting_until: b.waitUntilMs > deps.clock.now().getTime() ? new Date(b.waitUntilMs).toISOString() : null,
      last_refusal: b.lastRefusal,
      created_at: b.createdAt,
      updated_at: b.updatedAt,
      dates,
    };
  };

  const load = async (tenantId: string, backfillId: string): Promise<Backfill> => {
    // Redis first (it drives dispatch); once its hash expired, the warehouse's latest snapshot.
    const b = (await store.get(tenantId, backfillId)) ?? (await readBackfillSnapshot(deps.warehouse, tenantId, backfillId));
    if (!b) throw new AppError(404, 'BACKFILL_NOT_FOUND', `Backfill ${backfillId} not found`);
    return b;
  };

  return {
    async create(req: BackfillRequest): Promise<BackfillCreated> {
      const provider = req.provider.toLowerCase();
      const domain = req.domain.toLowerCase();
      const template = deps.templates.get(provider, domain, req.templateName);
      if (!template) throw templateNotFound(provider, domain, req.templateName);
      if (!template.parameters.some((p) => p.name === 'date' && p.type === 'date')) {
        throw new AppError(422, 'BACKFILL_NEEDS_DATE_PARAMETER', `Template ${provider}/${domain}/${req.templateName} declares no 'date' parameter of type date, so it cannot be backfilled`);
      }
      if ('date' in req.parameters) throw field('parameters.date', 'is set by the backfill for each day; give start_date and end_date');
      if (req.endDate < req.startDate) throw field('end_date', 'must not be before start_date');
      const now = deps.clock.now();
      const withDate = validateRunParameters(template, { ...req.parameters, date: req.startDate }, now);
      const { date: _date, ...parameters } = withDate;
      const quota = await deps.quota(req.tenantId);
      const plan = deps.plans.get(quota.plan);
      const maxDays = plan?.backfillMaxDays ?? deps.plans.defaultPlan.backfillMaxDays;
      const days = daysBetween(req.startDate, req.endDate);
      if (days.length > maxDays) {
        throw new AppError(422, 'BACKFILL_TOO_LONG', `The ${quota.plan} plan backfills at most ${maxDays} days; this range has ${days.length}`, {
          errors: [{ field: 'end_date', message: `range must cover at most ${maxDays} days (plan ${quota.plan})` }],
        });
      }
      const maxParallel = req.maxParallel ?? quota.concurrent_limit;
      if (maxParallel > quota.concurrent_limit) throw field('max_parallel', `must be at most the plan's concurrency (${quota.concurrent_limit})`);
      const hash = requestHash([req.tenantId, provider, domain, req.templateName, parameters, req.startDate, req.endDate]);
      // Each ACTIVE backfill waits in Redis until its last date ran and is woken by every run end of the tenant.
      const maxActive = plan?.backfillMaxActive ?? deps.plans.defaultPlan.backfillMaxActive;
      if (!(await store.hasRoomFor(req.tenantId, hash, maxActive))) throw scriptError(SCRIPT_CODES.backfillLimit, { now });
      await req.takeSeat?.();
      const pipelineId = pipelineIdOf(req.tenantId, provider, domain, req.templateName);
      const done = req.skipCompleted ? await completedDates(deps.warehouse, req.tenantId, pipelineId, parameters, days) : new Set<string>();
      const nowIso = now.toISOString();
      const b: Backfill = {
        backfillId: newId(), tenantId: req.tenantId, provider, domain, templateName: req.templateName, parameters,
        startDate: req.startDate, endDate: req.endDate, maxParallel: Math.max(1, maxParallel), skipCompleted: req.skipCompleted,
        status: 'ACTIVE', userId: req.userId, requestHash: hash,
        createdAt: nowIso, updatedAt: nowIso, waitUntilMs: 0, lastRefusal: null, finishedAt: null,
        dates: days.map((date) => ({ date, state: done.has(date) ? 'SKIPPED' : 'WAITING', ref: null })),
      };
      const { created, backfillId } = await store.create(b, now.getTime(), maxActive);
      const held = created ? b : await load(req.tenantId, backfillId);
      if (created) {
        await deps.writeSnapshot(b, now);
        await deps.requestDispatch(req.tenantId, backfillId);
      }
      const toRun = held.dates.filter((d) => d.state === 'WAITING').length;
      return {
        created,
        backfill_id: backfillId,
        status: held.status,
        dates_total: held.dates.length,
        dates_to_run: toRun,
        dates_skipped: held.dates.filter((d) => d.state === 'SKIPPED').length,
        max_parallel: held.maxParallel,
        estimated_days: estimateDays(
          toRun,
          { remainingToday: quota.remaining_today, dailyLimit: quota.daily_limit, remainingMonth: quota.remaining_month, monthlyLimit: quota.monthly_limit },
          deps.clock.now(),
        ),
      };
    },

    async get(tenantId: string, backfillId: string): Promise<BackfillView> {
      return view(await load(tenantId, backfillId));
    },

    /**
     * Cancels the dates not started yet; runs already admitted finish (cancel them one by one with
     * DELETE /pipelines/runs/{id} if needed). A backfill that already ended is returned as it is.
     */
    /** `takeSeat` (the caller's team seat) runs only once the backfill is found to be the tenant's. */
    async cancel(tenantId: string, backfillId: string, takeSeat?: () => Promise<void>): Promise<BackfillView> {
      const b = await load(tenantId, backfillId);
      await takeSeat?.();
      if (b.status === 'ACTIVE') {
        await store.setFields(tenantId, backfillId, { status: 'CANCELLED', updated_at: deps.clock.now().toISOString() });
        // The pass that sees CANCELLED ends it (here, or the one holding the lock makes another pass).
        await deps.dispatchNow(tenantId, backfillId);
      }
      return view(await load(tenantId, backfillId));
    },
  };
}

export type BackfillService = ReturnType<typeof backfillService>;

