import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { ensureStateTable } from '../../src/warehouse/state-tables';
import { CUSTOMERS_DATASET, customerPipelineConfigs, pipelineExecutionQueue, scheduledPipelineRuns } from '../../src/warehouse/tables';
import { ManualClock } from '../../src/shared/clock';
import { AppError } from '../../src/shared/errors';
import type { ErrorCode } from '../../src/shared/errors';
import type { RunStatus, TriggerRequest, TriggerResult, TriggerRun } from '../../src/queues/pipeline-runs';
import { createSchedule } from '../../src/scheduler/schedule-store';
import type { ScheduleStoreDeps } from '../../src/scheduler/schedule-store';
import type { TickDeps } from '../../src/scheduler/tick';
import type { ScheduleConfig, ScheduleView } from '../../src/scheduler/types';

/** One DuckDB warehouse per spec file (creating one costs ~100 ms); tables are created once. */
export async function openWarehouse(): Promise<TestWarehouse> {
  const wh = await createTestDuckDb();
  await wh.warehouse.createDataset(CUSTOMERS_DATASET);
  for (const t of [customerPipelineConfigs, pipelineExecutionQueue, scheduledPipelineRuns]) {
    await ensureStateTable(wh.warehouse, CUSTOMERS_DATASET, t);
  }
  return wh;
}

/**
 * A stand-in for the trigger routine: records every call, answers `existing` for a run id it has
 * already admitted (as the real one does), and refuses with an AppError when told to.
 */
export class FakeTrigger {
  readonly calls: TriggerRequest[] = [];
  readonly admitted = new Set<string>();
  /** Tenant → error code the next calls throw. */
  readonly refuse = new Map<string, ErrorCode>();
  readonly statuses = new Map<string, RunStatus>();

  readonly run: TriggerRun = async (req): Promise<TriggerResult> => {
    this.calls.push(req);
    const code = this.refuse.get(req.tenantId);
    if (code) throw new AppError(code.endsWith('NOT_FOUND') ? 404 : 429, code, `refused: ${code}`);
    const runId = req.runId ?? `run-${this.calls.length}`;
    const kind = this.admitted.has(runId) ? 'existing' : 'created';
    this.admitted.add(runId);
    if (!this.statuses.has(runId)) this.statuses.set(runId, 'PENDING');
    return { kind, pipelineLoggingId: runId, pipelineId: `${req.tenantId}-x`, tenantId: req.tenantId, status: 'PENDING' };
  };

  /** Run ids are unique across tenants here, so the tenant is not needed to find one. */
  readonly getRunStatus = async (_tenantId: string, runId: string): Promise<RunStatus | null> => this.statuses.get(runId) ?? null;

  runIds(): string[] {
    return this.calls.map((c) => c.runId ?? '');
  }
}

export interface SchedulerFixture {
  redis: TestRedis;
  clock: ManualClock;
  trigger: FakeTrigger;
  store: ScheduleStoreDeps;
  tick: TickDeps;
}

export async function createFixture(wh: TestWarehouse, start: string): Promise<SchedulerFixture> {
  const redis = await createTestRedis();
  const clock = new ManualClock(start);
  const trigger = new FakeTrigger();
  const base = { redis: redis.redis, keys: redis.keys, warehouse: wh.warehouse };
  const store: ScheduleStoreDeps = {
    ...base,
    clock,
    templateExists: (provider, domain, name) => provider === 'gcp' && domain === 'cost' && ['billing_cost', 'dryrun'].includes(name),
    touchProvider: async () => undefined,
  };
  const tick: TickDeps = { ...base, trigger: trigger.run, getRunStatus: trigger.getRunStatus };
  return { redis, clock, trigger, store, tick };
}

/** A whole config record as the store keeps it (daily 02:00 New York, billing_cost), for tests that write Redis directly. */
export const storedConfig = (configId: string, tenantId: string, overrides: Partial<ScheduleConfig> = {}): ScheduleConfig => ({
  config_id: configId,
  tenant_id: tenantId,
  provider: 'gcp',
  domain: 'cost',
  pipeline_template: 'billing_cost',
  schedule_cron: '0 2 * * *',
  timezone: 'America/New_York',
  is_active: true,
  parameters: {},
  overlap_policy: 'skip',
  misfire_policy: 'run_once',
  last_run_time: null,
  last_run_status: null,
  last_run_id: null,
  created_at: '2025-11-14T12:00:00.000Z',
  updated_at: '2025-11-14T12:00:00.000Z',
  ...overrides,
});

export const scheduleBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  provider: 'GCP',
  domain: 'COST',
  pipeline_template: 'billing_cost',
  schedule_cron: '0 2 * * *',
  timezone: 'America/New_York',
  is_active: true,
  ...overrides,
});

export function addSchedule(f: SchedulerFixture, tenantId: string, overrides: Record<string, unknown> = {}): Promise<ScheduleView> {
  return createSchedule(f.store, tenantId, scheduleBody(overrides));
}

/** The fire rows as the guide's view shows them (latest state per config and fire time). */
export async function fireRows(wh: TestWarehouse): Promise<Record<string, unknown>[]> {
  const { rows } = await wh.warehouse.query('SELECT * FROM `customers.scheduled_pipeline_runs` ORDER BY config_id, scheduled_time');
  return rows;
}
