import type { Warehouse } from '../warehouse/types';
import { CENTRAL_DATASET, tenantOffboardings } from '../warehouse/tables';
import { write } from '../tenants/tenant-store';
import { iso, jsonObject, str } from '../tenants/row-values';
import type { ExportedTable } from './types';

/**
 * Where an offboarding's progress lives: the tenant's row in `tenants.tenant_offboardings` (events + latest
 * view, like every state table). Not Redis: the purge step deletes every Redis key of the tenant, and the
 * record must survive it, and a crash, to let a second call finish the job. Written after every step.
 */
export interface OffboardState {
  tenantId: string;
  offboardId: string;
  status: 'IN_PROGRESS' | 'COMPLETED';
  exportLocation: string;
  /** Step name → its detail line, for every step recorded as done. */
  steps: Record<string, string>;
  exported: ExportedTable[];
  deleted: Record<string, number>;
  startedAt: string;
  completedAt: string | null;
}

export async function readOffboardState(wh: Warehouse, tenantId: string): Promise<OffboardState | null> {
  const { rows } = await wh.query(
    `SELECT tenant_id, offboard_id, status, export_location, progress, started_at, completed_at
     FROM \`${CENTRAL_DATASET}.${tenantOffboardings.name}\` WHERE tenant_id = @tenant_id`,
    { params: { tenant_id: tenantId } },
  );
  const r = rows[0];
  if (!r) return null;
  const progress = jsonObject(r['progress']);
  return {
    tenantId: str(r['tenant_id']),
    offboardId: str(r['offboard_id']),
    status: str(r['status']) === 'COMPLETED' ? 'COMPLETED' : 'IN_PROGRESS',
    exportLocation: str(r['export_location']),
    steps: stringRecord(progress['steps']),
    exported: Array.isArray(progress['exported']) ? (progress['exported'] as ExportedTable[]) : [],
    deleted: numberRecord(progress['deleted']),
    startedAt: iso(r['started_at']) ?? '',
    completedAt: iso(r['completed_at']),
  };
}

export async function writeOffboardState(wh: Warehouse, s: OffboardState, now: Date): Promise<void> {
  await write(wh, tenantOffboardings, [{
    tenant_id: s.tenantId,
    offboard_id: s.offboardId,
    status: s.status,
    export_location: s.exportLocation,
    progress: JSON.stringify({ steps: s.steps, exported: s.exported, deleted: s.deleted }),
    started_at: new Date(s.startedAt),
    completed_at: s.completedAt === null ? null : new Date(s.completedAt),
    updated_at: now,
  }], now, 'stream');
}

function stringRecord(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(jsonObject(v))) out[k] = str(value);
  return out;
}

function numberRecord(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, value] of Object.entries(jsonObject(v))) if (typeof value === 'number') out[k] = value;
  return out;
}
