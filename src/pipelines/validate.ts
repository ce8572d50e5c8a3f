import { newRunId } from '../shared/ids';
import type { RunParameters } from '../queues/pipeline-runs';
import { WarehouseError } from '../warehouse/types';
import type { QueryParams, Warehouse } from '../warehouse/types';
import { topologicalOrder } from './dag';
import { parameterTypes } from './parameters';
import { buildRenderContext, renderTableName, renderText } from './render';
import type { RenderContext, RenderOverrides } from './render';
import { runDayOf, tenantErrorText } from './error-text';
import { sqlParamNames } from './sql-scan';
import { stepSql } from './steps/query';
import type { StepDef, StepType, Template } from './types';

/**
 * Renders a template for a tenant without running it. Query steps are prepared by the warehouse
 * (`dryRun`): BigQuery also estimates bytes processed, DuckDB only checks the SQL binds. A query that
 * reads a table an upstream step of the same pipeline creates is not reported when that table does
 * not exist yet — it will by the time the step runs.
 */
export interface ValidationReport {
  valid: boolean;
  problems: Array<{ step?: string; message: string }>;
  /** A query step's `estimated_bytes` is null where the engine has no byte estimate (DuckDB): unknown, never invented. */
  steps: Array<{ id: string; type: StepType; sql?: string; estimated_bytes?: number | null }>;
}

export interface ValidateContext extends RenderOverrides {
  tenantId: string;
}

/** Errors about the warehouse, not the step's SQL: down or out of quota, refusing the platform's credentials, stopped. */
const WAREHOUSE_TROUBLE = new Set<WarehouseError['reason']>(['unavailable', 'permission_denied', 'cancelled']);
const isWarehouseTrouble = (err: unknown): boolean => err instanceof WarehouseError && WAREHOUSE_TROUBLE.has(err.reason);

function upstreamTables(template: Template, step: StepDef, ctx: RenderContext): string[] {
  const byId = new Map(template.steps.map((s) => [s.id, s]));
  const seen = new Set<string>();
  const tables: string[] = [];
  const walk = (id: string): void => {
    if (seen.has(id)) return;
    seen.add(id);
    const s = byId.get(id);
    if (!s) return;
    if (s.type === 'query' && s.destination) tables.push(renderText(s.destination.table, ctx));
    s.depends_on.forEach(walk);
  };
  step.depends_on.forEach(walk);
  return tables;
}

export async function validatePipeline(
  deps: { warehouse: Warehouse },
  template: Template,
  params: RunParameters,
  context: ValidateContext,
): Promise<ValidationReport> {
  const problems: ValidationReport['problems'] = [];
  const steps: ValidationReport['steps'] = [];
  const { tenantId, ...overrides } = context;
  let ctx: RenderContext;
  try {
    ctx = buildRenderContext(template, { tenantId, provider: template.provider, domain: template.domain, templateName: template.name, pipelineLoggingId: newRunId() }, overrides);
  } catch (err) {
    return { valid: false, problems: [{ message: tenantErrorText(err) }], steps: [] };
  }
  const types = parameterTypes(template);
  for (const step of topologicalOrder(template.steps)) {
    const entry: ValidationReport['steps'][number] = { id: step.id, type: step.type };
    steps.push(entry);
    try {
      if (step.type === 'data_quality') {
        renderTableName(step.table, ctx);
        if (step.filter) renderText(step.filter, ctx);
        continue;
      }
      if (step.type !== 'query') continue;
      const sql = renderText(stepSql(step, deps.warehouse.kind), ctx);
      entry.sql = sql;
      if (step.destination) renderTableName(step.destination.table, ctx);
      const used: QueryParams = {};
      for (const name of sqlParamNames(sql)) used[name] = params[name] ?? null;
      try {
        entry.estimated_bytes = null;
        const estimate = await deps.warehouse.dryRun(sql, { params: used, paramTypes: types });
        if (estimate) entry.estimated_bytes = estimate.bytesProcessed;
      } catch (err) {
        if (isWarehouseTrouble(err)) throw err;
        const createdUpstream = upstreamTables(template, step, ctx).some((t) => sql.includes(`${tenantId}.${t}`));
        if (!(err instanceof WarehouseError && err.reason === 'not_found' && createdUpstream)) problems.push({ step: step.id, message: tenantErrorText(err, ctx, runDayOf(params)) });
      }
    } catch (err) {
      // The warehouse failing (the dry run above) is no problem of the step: the API answers 503, not "valid: false".
      if (isWarehouseTrouble(err)) throw err;
      problems.push({ step: step.id, message: tenantErrorText(err, ctx, runDayOf(params)) });
    }
  }
  return { valid: problems.length === 0, problems, steps };
}
