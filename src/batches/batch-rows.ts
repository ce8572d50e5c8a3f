import { appendStateRows } from '../warehouse/state-tables';
import { CENTRAL_DATASET, CUSTOMERS_DATASET, customerBackfills, customerFanouts, pipelineRuns, tenantProfiles } from '../warehouse/tables';
import type { Warehouse } from '../warehouse/types';
import type { RunParameters } from '../queues/pipeline-runs';
import type { Backfill, BackfillStatus, DateEntry } from './backfill-store';
import type { Fanout } from './fanout-store';

/** The warehouse side of backfills and fan-outs: snapshots into customers.backfills / customers.fanouts, and two reads. */
let lastSeq = 0;
const nextSeq = (now: Date): number => (lastSeq = Math.max(now.getTime() * 1000, lastSeq + 1));

export const countsOf = (states: string[]): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const s of states) counts[s] = (counts[s] ?? 0) + 1;
  return counts;
};

export async function writeBackfillSnapshot(warehouse: Warehouse, b: Backfill, now: Date): Promise<void> {
  const row = {
    backfill_id: b.backfillId,
    tenant_id: b.tenantId,
    pipeline_id: `${b.tenantId}-${b.provider}-${b.domain}-${b.templateName}`,
    parameters: b.parameters,
    start_date: b.startDate,
    end_date: b.endDate,
    max_parallel: b.maxParallel,
    skip_completed: b.skipCompleted,
    status: b.status,
    counts: countsOf(b.dates.map((d) => d.state)),
    dates: Object.fromEntries(b.dates.map((d) => [d.date, { state: d.state, ref: d.ref }])),
    created_at: new Date(b.createdAt),
    updated_at: now,
  };
  await appendStateRows(warehouse, CUSTOMERS_DATASET, customerBackfills, [row], { now, seq: nextSeq(now) });
}

export async function writeFanoutSnapshot(warehouse: Warehouse, f: Fanout, now: Date): Promise<void> {
  const row = {
    fanout_id: f.fanoutId,
    template: `${f.provider}/${f.domain}/${f.templateName}`,
    selector: f.selector,
    parameters: f.parameters,
    window_key: f.window,
    spread_seconds: f.spreadSeconds,
    counts: countsOf(Object.values(f.tenants).map((t) => t.state)),
    tenants: f.tenants,
    created_at: new Date(f.createdAt),
    updated_at: now,
  };
  await appendStateRows(warehouse, CUSTOMERS_DATASET, customerFanouts, [row], { now, seq: nextSeq(now) });
}

const asObject = (v: unknown): Record<string, unknown> => {
  if (typeof v === 'string') {
    try {
      return JSON.parse(v) as Record<string, unknown>;
    } catch {
      return {};
    }
  }
  return v !== null && typeof v === 'object' ? (v as Record<string, unknown>) : {};
};

/**
 * Dates among `dates` that already have a COMPLETED run of `pipelineId` with the same other parameters, read from
 * the tenant's own x_meta_pipeline_runs (the dataset of the authenticated tenant, never one named in the body).
 */
export async function completedDates(warehouse: Warehouse, tenantId: string, pipelineId: string, parameters: RunParameters, dates: string[]): Promise<Set<string>> {
  const result = await warehouse.query(
    `SELECT parameters FROM \`${tenantId}.${pipelineRuns.name}\` WHERE pipeline_id = @pipeline_id AND status = 'COMPLETED'`,
    { params: { pipeline_id: pipelineId } },
  );
  const wanted = new Set(dates);
  const others = JSON.stringify(Object.entries(parameters).sort(([a], [b]) => a.localeCompare(b)));
  const done = new Set<string>();
  for (const row of result.rows) {
    const { date, ...rest } = asObject(row.parameters);
    if (typeof date !== 'string' || !wanted.has(date)) continue;
    if (JSON.stringify(Object.entries(rest).sort(([a], [b]) => a.localeCompare(b))) === others) done.add(date);
  }
  return done;
}

export interface TenantRow {
  tenantId: string;
  status: string;
  plan: string;
}

/** Every tenant with its status and plan (the fan-out's selector picks among them). */
export async function listTenants(warehouse: Warehouse): Promise<TenantRow[]> {
  // ONBOARDING: an onboarding not finished (tenant-store.ts), no tenant yet.
  const result = await warehouse.query(
    `SELECT tenant_id, status, subscription_plan FROM \`${CENTRAL_DATASET}.${tenantProfiles.name}\` WHERE status != 'ONBOARDING' ORDER BY tenant_id`,
  );
  return result.rows.map((r) => ({ tenantId: String(r.tenant_id), status: String(r.status ?? ''), plan: String(r.subscription_plan ?? '').toUpperCase() }));
}

/**
 * A backfill's latest snapshot from customers.backfills, for reads after its Redis hash expired (30 days after it
 * ended). Only the tenant's own: the tenant id is part of the filter.
 */
export async function readBackfillSnapshot(warehouse: Warehouse, tenantId: string, backfillId: string): Promise<Backfill | null> {
  const result = await warehouse.query(
    `SELECT pipeline_id, parameters, start_date, end_date, max_parallel, skip_completed, status, dates, created_at, updated_at ` +
      `FROM \`${CUSTOMERS_DATASET}.${customerBackfills.name}\` WHERE backfill_id = @backfill_id AND tenant_id = @tenant_id`,
    { params: { backfill_id: backfillId, tenant_id: tenantId } },
  );
  const row = result.rows[0];
  if (!row) return null;
  // pipeline ids are `<tenant>-<provider>-<domain>-<template>`; none of the four contains a dash.
  const [, provider = '', domain = '', templateName = ''] = String(row.pipeline_id).split('-');
  const dates: DateEntry[] = Object.entries(asObject(row.dates))
    .map(([date, v]) => {
      const entry = asObject(v);
      return { date, state: String(entry.state) as DateEntry['state'], ref: typeof entry.ref === 'string' ? entry.ref : null };
    })
    .sort((a, b) => a.date.localeCompare(b.date));
  return {
    backfillId, tenantId, provider, domain, templateName,
    parameters: asObject(row.parameters) as RunParameters,
    startDate: String(row.start_date), endDate: String(row.end_date),
    maxParallel: Number(row.max_parallel), skipCompleted: row.skip_completed === true,
    status: String(row.status) as BackfillStatus, requestHash: '', userId: null,
    createdAt: String(row.created_at), updatedAt: String(row.updated_at),
    waitUntilMs: 0, lastRefusal: null, finishedAt: String(row.updated_at), dates,
  };
}
