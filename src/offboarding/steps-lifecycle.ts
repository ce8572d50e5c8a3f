import { isAppError } from '../shared/errors';
import { reloadProfileCache } from '../tenants/profile-loader';
import { updateTenant } from '../tenants/tenant-admin';
import { readProfile, readSubscription, writeProfile, writeSubscription } from '../tenants/tenant-store';
import type { OffboardRuns, OffboardStep } from './types';

/** The steps around the data: suspend first, cancel and disable next; the tombstone last. */

const STOP_WAIT_MS = 30_000;

/** 1. SUSPENDED through the normal status change: the Redis profile is rewritten and every API process told. */
export const suspendStep: OffboardStep = {
  name: 'suspend',
  async run({ tenantId, deps }) {
    const before = (await readProfile(deps.tenant.warehouse, tenantId))?.status;
    await updateTenant(deps.tenant, tenantId, { status: 'SUSPENDED' });
    return { detail: before === 'SUSPENDED' ? 'already SUSPENDED; every API process told again' : `status ${before ?? 'unknown'} → SUSPENDED; keys refused on every API process` };
  },
  async plan({ tenantId, deps }) {
    const status = (await readProfile(deps.tenant.warehouse, tenantId))?.status;
    return `status ${status ?? 'unknown'} → SUSPENDED; the tenant's keys would be refused at once`;
  },
};

/** 2. Every live run cancelled by the normal cancel; deferred runs dropped; this process's log rows flushed. */
export const cancelRunsStep: OffboardStep = {
  name: 'cancel_runs',
  async run({ tenantId, deps, record }) {
    const { runs } = deps;
    const ids = await runs.liveRunIds(tenantId);
    const outcomes = await Promise.all(
      ids.map((id) =>
        runs.cancel(tenantId, id).catch((err: unknown) => {
          // Finished or gone meanwhile: nothing left to cancel.
          if (isAppError(err) && (err.code === 'RUN_ALREADY_FINISHED' || err.code === 'RUN_NOT_FOUND')) return 'FINISHED';
          throw err;
        }),
      ),
    );
    const stopping = await waitUntilStopped(runs, tenantId);
    const deferred = await runs.dropDeferred(tenantId);
    await record({ deferred_runs: deferred });
    const unwritten = await runs.settleLogs(tenantId, ids);
    const cancelled = outcomes.filter((s) => s !== 'FINISHED').length;
    const tail = (stopping > 0 ? `; ${stopping} still stopping` : '') + (unwritten > 0 ? `; ${unwritten} final log rows not confirmed yet` : '');
    return { detail: `${cancelled} runs cancelled, ${outcomes.length - cancelled} had finished, ${deferred} deferred runs dropped${tail}` };
  },
  async plan({ tenantId, deps }) {
    return `${(await deps.runs.liveRunIds(tenantId)).length} live runs would be cancelled; deferred runs dropped`;
  },
};

/** Polls until no run of the tenant is live, for a bounded time (a dead worker's run ends at its lease); returns how many are left. */
async function waitUntilStopped(runs: OffboardRuns, tenantId: string): Promise<number> {
  const deadline = Date.now() + STOP_WAIT_MS;
  for (;;) {
    const live = await runs.liveRunIds(tenantId);
    if (live.length === 0 || Date.now() >= deadline) return live.length;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** 3. Active schedules disabled through the scheduler's own PATCH path (hash, due index and warehouse row). */
export const disableSchedulesStep: OffboardStep = {
  name: 'disable_schedules',
  async run({ tenantId, deps }) {
    const active = (await deps.schedules.list(tenantId)).filter((s) => s.is_active);
    for (const s of active) await deps.schedules.disable(tenantId, s.config_id);
    return { detail: `${active.length} schedules disabled` };
  },
  async plan({ tenantId, deps }) {
    return `${(await deps.schedules.list(tenantId)).filter((s) => s.is_active).length} active schedules would be disabled`;
  },
};

/** Last. The profile stays as the tenant's tombstone: status DELETED, never cached; every path treats it as gone. */
export const tombstoneStep: OffboardStep = {
  name: 'tombstone',
  async run({ tenantId, deps }) {
    const t = deps.tenant;
    const [profile, subscription] = await Promise.all([readProfile(t.warehouse, tenantId), readSubscription(t.warehouse, tenantId)]);
    if (!profile) return { detail: 'no profile to keep' };
    const now = t.clock.now();
    await writeProfile(t.warehouse, { ...profile, status: 'DELETED', updatedAt: now.toISOString() }, now);
    if (subscription) await writeSubscription(t.warehouse, { ...subscription, status: 'DELETED', updatedAt: now.toISOString() }, now);
    // Removes the Redis profile (a DELETED profile is never cached) and tells every API process.
    await reloadProfileCache(t, tenantId);
    return { detail: 'profile kept with status DELETED' };
  },
  async plan() {
    return 'the profile would stay with status DELETED';
  },
};
