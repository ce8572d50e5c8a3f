import Joi from 'joi';
import { AppError, validationError } from '../shared/errors';
import { newId } from '../shared/ids';
import { tenantDeleted, tenantNotFound } from '../tenants/tenant-admin';
import { readProfile } from '../tenants/tenant-store';
import { exportLocationOf } from './step-export';
import { readOffboardState, writeOffboardState } from './state';
import type { OffboardState } from './state';
import { defaultOffboardSteps } from './steps';
import type { OffboardContext, OffboardDeps, OffboardRequest, OffboardResult, StepReport } from './types';
import { tryLock } from '../redis/lock';

export const offboardBodySchema = Joi.object({
  dry_run: Joi.boolean().default(false).description('List what would happen; change nothing'),
  export_uri: Joi.string().pattern(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}[a-z0-9](\/[A-Za-z0-9._-]+)*\/?$/, 'gs://bucket/path')
    .description('BigQuery only: where the extract jobs write (default OFFBOARD_EXPORT_URI); fixed by the first call'),
}).label('OffboardRequest');

/** Renewed every minute while the call runs (a long export included); a crashed holder's lock runs out on its own. */
const LOCK_TTL_MS = 5 * 60_000;
const LOCK_RENEW_MS = 60_000;

/**
 * POST /admin/tenants/{id}/offboard. Idempotent: a finished offboarding answers its stored result; an unfinished
 * one resumes at its first step not recorded as done. One at a time per tenant (409 OFFBOARD_IN_PROGRESS).
 */
export async function offboardTenant(deps: OffboardDeps, tenantId: string, body: unknown): Promise<OffboardResult> {
  const { value, error } = offboardBodySchema.validate(body ?? {}, { abortEarly: false, stripUnknown: true });
  if (error) throw validationError(error.details.map((d) => ({ field: d.path.join('.') || 'body', message: d.message })));
  const req = value as OffboardRequest;
  if (req.dry_run) return withStart(deps, tenantId, req, (start) => dryRun(start.ctx, start.stored));

  const t = deps.tenant;
  const lock = await tryLock(t.redis, t.keys.offboardLock(tenantId), LOCK_TTL_MS);
  if (!lock) {
    throw new AppError(409, 'OFFBOARD_IN_PROGRESS', `An offboarding of tenant '${tenantId}' is running; call again when it ended`);
  }
  const renew = setInterval(() => void lock.renew().catch(() => undefined), LOCK_RENEW_MS);
  renew.unref();
  try {
    // Read under the lock: a call that waited for another one sees what that one finished.
    return await withStart(deps, tenantId, req, (start) => run(start.ctx, start.stored));
  } finally {
    clearInterval(renew);
    await lock.release();
  }
}

interface Start {
  ctx: OffboardContext;
  stored: OffboardState | null;
}

/** The tenant's profile and progress row; a finished offboarding answers its stored result here. */
async function withStart(deps: OffboardDeps, tenantId: string, req: OffboardRequest, then: (start: Start) => Promise<OffboardResult>): Promise<OffboardResult> {
  const t = deps.tenant;
  const [profile, stored] = await Promise.all([readProfile(t.warehouse, tenantId), readOffboardState(t.warehouse, tenantId)]);
  if (!profile) throw tenantNotFound(tenantId);
  if (stored?.status === 'COMPLETED') return resultOf(stored, stepsOf(deps).map((s) => ({ name: s.name, outcome: 'done_earlier', detail: stored.steps[s.name] ?? 'not part of this offboarding' })));
  // DELETED with an unfinished record: the tombstone was written and the crash came before it was recorded; resume.
  if (profile.status === 'DELETED' && !stored) throw tenantDeleted(tenantId);
  // A dry run before the first call names no id yet: its export location shows where the id will go.
  const offboardId = stored?.offboardId ?? (req.dry_run ? '{offboard_id}' : newId());
  const exportLocation = stored?.exportLocation ?? exportLocationOf(t.warehouse.kind, exportBase(deps, req), tenantId, offboardId);
  return then({ ctx: { tenantId, offboardId, exportLocation, deps, record: async () => undefined }, stored });
}

/** Runs every step not recorded yet, recording each once it is done. */
async function run(start: OffboardContext, stored: OffboardState | null): Promise<OffboardResult> {
  const { tenantId, offboardId, exportLocation, deps } = start;
  const t = deps.tenant;
  const state: OffboardState = stored ?? {
    tenantId, offboardId, status: 'IN_PROGRESS', exportLocation, steps: {}, exported: [], deleted: {}, startedAt: t.clock.now().toISOString(), completedAt: null,
  };
  if (!stored) await writeOffboardState(t.warehouse, state, t.clock.now());
  const addDeleted = (deleted: Record<string, number>): void => {
    for (const [kind, n] of Object.entries(deleted)) state.deleted[kind] = (state.deleted[kind] ?? 0) + n;
  };
  const ctx: OffboardContext = {
    ...start,
    async record(deleted) {
      addDeleted(deleted);
      await writeOffboardState(t.warehouse, state, t.clock.now());
    },
  };
  const reports: StepReport[] = [];
  for (const step of stepsOf(deps)) {
    const earlier = state.steps[step.name];
    if (earlier !== undefined) {
      reports.push({ name: step.name, outcome: 'done_earlier', detail: earlier });
      continue;
    }
    const out = await step.run(ctx);
    await deps.faults?.afterStep?.(step.name);
    state.steps[step.name] = out.detail;
    if (out.exported) state.exported = out.exported;
    addDeleted(out.deleted ?? {});
    await writeOffboardState(t.warehouse, state, t.clock.now());
    reports.push({ name: step.name, outcome: 'done', detail: out.detail });
  }
  state.status = 'COMPLETED';
  state.completedAt = t.clock.now().toISOString();
  await writeOffboardState(t.warehouse, state, t.clock.now());
  t.logger.info({ tenant_id: tenantId, offboard_id: offboardId, exported: state.exported.length, deleted: state.deleted }, 'tenant offboarded');
  return resultOf(state, reports);
}

const stepsOf = (deps: OffboardDeps) => deps.steps ?? defaultOffboardSteps();

function exportBase(deps: OffboardDeps, req: OffboardRequest): string {
  if (deps.tenant.warehouse.kind === 'duckdb') {
    if (req.export_uri !== undefined) throw new AppError(422, 'EXPORT_DESTINATION_INVALID', 'export_uri applies to BigQuery only; the embedded warehouse exports under OFFBOARD_EXPORT_DIR');
    return deps.exportDir;
  }
  const uri = req.export_uri ?? deps.exportUri;
  if (!uri) throw new AppError(422, 'EXPORT_DESTINATION_INVALID', 'BigQuery exports need a gs:// URI: send export_uri or set OFFBOARD_EXPORT_URI');
  return uri;
}

async function dryRun(ctx: OffboardContext, stored: OffboardState | null): Promise<OffboardResult> {
  const reports: StepReport[] = [];
  for (const step of stepsOf(ctx.deps)) {
    const earlier = stored?.steps[step.name];
    reports.push(earlier !== undefined ? { name: step.name, outcome: 'done_earlier', detail: earlier } : { name: step.name, outcome: 'would_run', detail: await step.plan(ctx) });
  }
  return {
    tenant_id: ctx.tenantId, offboard_id: stored?.offboardId ?? null, status: 'DRY_RUN', dry_run: true, export_location: ctx.exportLocation,
    started_at: stored?.startedAt ?? null, completed_at: null, steps: reports, exported: stored?.exported ?? [], deleted: stored?.deleted ?? {},
  };
}

const resultOf = (s: OffboardState, steps: StepReport[]): OffboardResult => ({
  tenant_id: s.tenantId, offboard_id: s.offboardId, status: 'COMPLETED', dry_run: false, export_location: s.exportLocation,
  started_at: s.startedAt, completed_at: s.completedAt, steps, exported: s.exported, deleted: s.deleted,
});
