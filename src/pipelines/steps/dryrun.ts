import { TENANT_META_TABLE_NAMES, dqResults, eventsTableName, pipelineRuns, stepLogs } from '../../warehouse/tables';
import { StepFailure } from './context';
import type { StepContext, StepResult } from './context';

/**
 * The `dryrun` step: proves the tenant's infrastructure works without touching data — the warehouse
 * answers, the tenant dataset exists, and its meta tables (views and their `_events` tables) exist.
 * Its one validation row goes to x_meta_dq_results with check_type 'dryrun' and check_name
 * 'tenant_infrastructure' (observed: warehouse kind, dataset, missing tables), so a dry run leaves a
 * queryable trace beside the run's own log rows.
 */
export const DRYRUN_CHECK_NAME = 'tenant_infrastructure';

export const REQUIRED_META_TABLES: readonly string[] = [
  ...TENANT_META_TABLE_NAMES,
  eventsTableName(pipelineRuns),
  eventsTableName(stepLogs),
  eventsTableName(dqResults),
];

export async function runDryrunStep(ctx: StepContext): Promise<StepResult> {
  // Listing the tables proves the warehouse answers; only an empty list needs the dataset check.
  const present = new Set(await ctx.warehouse.listTables(ctx.dataset).catch(() => []));
  if (present.size === 0 && !(await ctx.warehouse.datasetExists(ctx.dataset))) {
    throw new StepFailure(`Dataset "${ctx.dataset}" not found. Re-onboard with force_recreate_dataset=true`);
  }
  const missing = REQUIRED_META_TABLES.filter((t) => !present.has(t));
  const passed = missing.length === 0;
  if (present.has(dqResults.name)) {
    ctx.recordDq([
      {
        pipeline_logging_id: ctx.pipelineLoggingId,
        step_name: ctx.stepId,
        target_table: ctx.dataset,
        check_name: DRYRUN_CHECK_NAME,
        check_type: 'dryrun',
        severity: 'error',
        passed,
        observed: { warehouse: ctx.warehouse.kind, dataset: ctx.dataset, tables_checked: REQUIRED_META_TABLES, missing_tables: missing },
        executed_at: ctx.clock.now().toISOString(),
        overall_status: passed ? 'PASS' : 'FAIL',
      },
    ]);
  }
  if (!passed) throw new StepFailure(`Tenant meta tables missing in "${ctx.dataset}": ${missing.join(', ')}. Re-onboard with force_recreate_tables=true`);
  return { rowsProcessed: 1 };
}
