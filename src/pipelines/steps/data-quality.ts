import type { ColumnType, QueryParams } from '../../warehouse/types';
import { renderTableName, renderText } from '../render';
import { checkName } from '../template-checks';
import { MAX_AGE } from '../template-schema';
import type { DqResultRow } from '../run-log-writer';
import type { DataQualityStep, DqCheck } from '../types';
import { StepFailure, runSql } from './context';
import type { StepContext, StepResult } from './context';

/**
 * The `data_quality` step: each check is one aggregate query over the target table (restricted by the
 * step's `filter`, when given; custom checks bring their own SQL). Every result becomes a row of
 * x_meta_dq_results with the step's overall status: FAIL when an `error` check failed (the step fails
 * and its dependants are skipped), WARNING when only `warn` checks failed, else PASS.
 * A failed check is not retried: the data will not change by asking again.
 */
interface CheckOutcome {
  passed: boolean;
  observed: Record<string, unknown>;
}

const q = (name: string): string => `\`${name}\``;
const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

export function maxAgeMs(maxAge: string): number {
  const m = MAX_AGE.exec(maxAge);
  const unit = m?.[2] === 'm' ? 60_000 : m?.[2] === 'h' ? 3_600_000 : 86_400_000;
  return Number(m?.[1] ?? 0) * unit;
}

async function runCheck(check: DqCheck, ctx: StepContext, from: string, filter: string | undefined): Promise<CheckOutcome> {
  const where = (cond?: string): string => {
    const parts = [filter ? `(${filter})` : '', cond ? `(${cond})` : ''].filter((p) => p !== '');
    return parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : '';
  };
  const count = async (sql: string, extra?: { params: QueryParams; types: Record<string, ColumnType> }): Promise<number> => {
    const r = await runSql(ctx, sql, extra);
    return num(r.rows[0]?.['n']);
  };
  switch (check.type) {
    case 'row_count': {
      const n = await count(`SELECT COUNT(*) AS n FROM ${from}${where()}`);
      return { passed: (check.min === undefined || n >= check.min) && (check.max === undefined || n <= check.max), observed: { row_count: n, min: check.min ?? null, max: check.max ?? null } };
    }
    case 'not_null': {
      const sums = check.columns.map((c, i) => `SUM(CASE WHEN ${q(c)} IS NULL THEN 1 ELSE 0 END) AS c${i}`).join(', ');
      const row = (await runSql(ctx, `SELECT ${sums} FROM ${from}${where()}`)).rows[0] ?? {};
      const nulls = Object.fromEntries(check.columns.map((c, i) => [c, num(row[`c${i}`])]));
      return { passed: Object.values(nulls).every((n) => n === 0), observed: { null_counts: nulls } };
    }
    case 'unique': {
      const cols = check.columns.map(q).join(', ');
      const n = await count(`SELECT COUNT(*) AS n FROM (SELECT ${cols} FROM ${from}${where()} GROUP BY ${cols} HAVING COUNT(*) > 1) AS _dups`);
      return { passed: n === 0, observed: { duplicate_keys: n } };
    }
    case 'accepted_values': {
      const params: QueryParams = {};
      const types: Record<string, ColumnType> = {};
      check.values.forEach((v, i) => {
        params[`_v${i}`] = v;
        types[`_v${i}`] = typeof v === 'string' ? 'STRING' : Number.isInteger(v) ? 'INT64' : 'FLOAT64';
      });
      const list = check.values.map((_, i) => `@_v${i}`).join(', ');
      const n = await count(`SELECT COUNT(*) AS n FROM ${from}${where(`${q(check.column)} IS NOT NULL AND ${q(check.column)} NOT IN (${list})`)}`, { params, types });
      return { passed: n === 0, observed: { failing_rows: n, accepted: check.values } };
    }
    case 'range': {
      const conds: string[] = [];
      const params: QueryParams = {};
      const types: Record<string, ColumnType> = {};
      if (check.min !== undefined) {
        conds.push(`${q(check.column)} < @_min`);
        params['_min'] = check.min;
        types['_min'] = 'FLOAT64';
      }
      if (check.max !== undefined) {
        conds.push(`${q(check.column)} > @_max`);
        params['_max'] = check.max;
        types['_max'] = 'FLOAT64';
      }
      const n = await count(`SELECT COUNT(*) AS n FROM ${from}${where(conds.join(' OR '))}`, { params, types });
      return { passed: n === 0, observed: { failing_rows: n, min: check.min ?? null, max: check.max ?? null } };
    }
    case 'freshness': {
      const latest = (await runSql(ctx, `SELECT MAX(${q(check.column)}) AS latest FROM ${from}${where()}`)).rows[0]?.['latest'];
      // A DATE counts from its midnight UTC; a missing value is never fresh.
      const latestMs = typeof latest === 'string' ? Date.parse(latest) : NaN;
      const ageMs = ctx.clock.now().getTime() - latestMs;
      const fresh = Number.isFinite(ageMs) && ageMs <= maxAgeMs(check.max_age);
      return { passed: fresh, observed: { latest: latest ?? null, age_hours: Number.isFinite(ageMs) ? Math.round((ageMs / 3_600_000) * 100) / 100 : null, max_age: check.max_age } };
    }
    case 'custom': {
      const n = await count(`SELECT COUNT(*) AS n FROM (${renderText(check.sql, ctx.render)}) AS _failing`);
      return { passed: n === 0, observed: { failing_rows: n } };
    }
  }
}

export async function runDataQualityStep(step: DataQualityStep, ctx: StepContext): Promise<StepResult> {
  const table = renderTableName(step.table, ctx.render);
  const from = q(`${ctx.dataset}.${table}`);
  const filter = step.filter === undefined ? undefined : renderText(step.filter, ctx.render);
  const results: Array<{ check: DqCheck; outcome: CheckOutcome }> = [];
  for (const check of step.checks) results.push({ check, outcome: await runCheck(check, ctx, from, filter) });

  const failed = results.filter((r) => !r.outcome.passed);
  const errors = failed.filter((r) => r.check.severity === 'error');
  const overall = errors.length > 0 ? 'FAIL' : failed.length > 0 ? 'WARNING' : 'PASS';
  const executedAt = ctx.clock.now().toISOString();
  const rows: DqResultRow[] = results.map(({ check, outcome }) => ({
    pipeline_logging_id: ctx.pipelineLoggingId,
    step_name: ctx.stepId,
    target_table: `${ctx.dataset}.${table}`,
    check_name: checkName(check),
    check_type: check.type,
    severity: check.severity,
    passed: outcome.passed,
    observed: outcome.observed,
    executed_at: executedAt,
    overall_status: overall,
  }));
  ctx.recordDq(rows);
  if (errors.length > 0) throw new StepFailure(`Data quality checks failed: ${errors.map((r) => checkName(r.check)).join(', ')}`);
  return { rowsProcessed: results.length };
}
