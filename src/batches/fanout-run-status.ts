import { TENANT_ID_PATTERN } from '../shared/ids';
import type { Logger } from '../shared/logger';
import { isTerminalStatus } from '../shared/run-status';
import type { RunStatus, TerminalRunStatus } from '../shared/run-status';
import { pipelineRuns } from '../warehouse/tables';
import { WarehouseError } from '../warehouse/types';
import type { Warehouse } from '../warehouse/types';
import type { Fanout } from './fanout-store';

/**
 * How each admitted tenant's run of a fan-out stands, for GET /admin/fanouts/{id}, at a bounded cost: the end the
 * fan-out recorded (the run finaliser records it), else the run's live record in Redis (an end found there is recorded
 * too), else its row in the tenant's x_meta_pipeline_runs — for at most FANOUT_STORED_READS_PER_GET tenants per GET,
 * all in one statement, their ends recorded so no later GET reads them again.
 */
export const FANOUT_STORED_READS_PER_GET = 100;

/** The run's status could not be read this time (the warehouse failed, or more runs were unread than one GET reads). */
export const RUN_STATUS_UNKNOWN = 'UNKNOWN';

export interface FanoutRunStatusDeps {
  warehouse: Warehouse;
  logger: Logger;
  /** The run's live status in Redis; null once its record left (a day after its end). */
  liveRunStatus(tenantId: string, runId: string): Promise<RunStatus | null>;
  recordRunEnds(fanoutId: string, ends: Record<string, TerminalRunStatus>): Promise<void>;
}

interface RunRef {
  tenantId: string;
  runId: string;
}

/** Tenant id → the run's status; null when no record of the run is left anywhere, UNKNOWN when it could not be read. */
export async function fanoutRunStatuses(deps: FanoutRunStatusDeps, f: Fanout): Promise<Map<string, string | null>> {
  const statuses = new Map<string, string | null>();
  const ended: Record<string, TerminalRunStatus> = {};
  const gone: RunRef[] = [];
  await Promise.all(
    Object.entries(f.tenants).map(async ([tenantId, t]) => {
      if (t.state !== 'ADMITTED' || !t.run_id) return;
      if (t.run_status) return void statuses.set(tenantId, t.run_status);
      const live = await deps.liveRunStatus(tenantId, t.run_id);
      if (live === null) return void gone.push({ tenantId, runId: t.run_id });
      statuses.set(tenantId, live);
      if (isTerminalStatus(live)) ended[tenantId] = live;
    }),
  );
  gone.sort((a, b) => a.tenantId.localeCompare(b.tenantId));
  const now = gone.slice(0, FANOUT_STORED_READS_PER_GET);
  for (const r of gone) statuses.set(r.tenantId, RUN_STATUS_UNKNOWN);
  if (now.length > 0) {
    try {
      const stored = await readStoredRunStatusesOfExisting(deps.warehouse, now);
      for (const r of now) {
        const status = stored.get(r.runId) ?? null;
        statuses.set(r.tenantId, status);
        if (isTerminalStatus(status)) ended[r.tenantId] = status;
      }
    } catch (err) {
      deps.logger.warn({ err: (err as Error).message, fanoutId: f.fanoutId, runs: now.length }, 'fan-out run statuses not read from the warehouse; shown as UNKNOWN');
    }
  }
  try {
    await deps.recordRunEnds(f.fanoutId, ended);
  } catch (err) {
    // Only a saving for the next GET: this answer is complete without it.
    deps.logger.warn({ err: (err as Error).message, fanoutId: f.fanoutId }, 'fan-out run ends not recorded');
  }
  return statuses;
}

/**
 * readStoredRunStatuses, and when a tenant's run table is gone (its dataset was dropped by offboarding), the same
 * read again over the tenants whose tables exist: one offboarded tenant does not leave every other run UNKNOWN. A
 * run of a tenant whose table is gone has no record left (null).
 */
async function readStoredRunStatusesOfExisting(warehouse: Warehouse, runs: RunRef[]): Promise<Map<string, string>> {
  try {
    return await readStoredRunStatuses(warehouse, runs);
  } catch (err) {
    if (!(err instanceof WarehouseError) || err.reason !== 'not_found') throw err;
    const exists = await Promise.all(runs.map((r) => warehouse.tableExists({ dataset: r.tenantId, table: pipelineRuns.name })));
    const existing = runs.filter((_r, i) => exists[i]);
    if (existing.length === runs.length) throw err;
    return readStoredRunStatuses(warehouse, existing);
  }
}

/**
 * The stored status of runs of several tenants in one statement: a UNION ALL over their x_meta_pipeline_runs views,
 * each run id a parameter. Tenant ids reach SQL only as dataset names, and only ones matching TENANT_ID_PATTERN.
 */
export async function readStoredRunStatuses(warehouse: Warehouse, runs: RunRef[]): Promise<Map<string, string>> {
  const params: Record<string, string> = {};
  const selects = runs.map((r, i) => {
    if (!TENANT_ID_PATTERN.test(r.tenantId)) throw new Error(`not a tenant id: ${r.tenantId}`);
    params[`run_${i}`] = r.runId;
    return `SELECT pipeline_logging_id, status FROM \`${r.tenantId}.${pipelineRuns.name}\` WHERE pipeline_logging_id = @run_${i}`;
  });
  if (selects.length === 0) return new Map();
  const result = await warehouse.query(selects.join('\nUNION ALL\n'), { params });
  return new Map(result.rows.map((row) => [String(row.pipeline_logging_id), String(row.status)]));
}
