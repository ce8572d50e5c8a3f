import { dagProblems } from './dag';
import { checkParameterValue } from './parameters';
import { BUILTIN_PLACEHOLDERS, knownPlaceholders } from './render';
import { placeholderNames, sqlParamNames } from './sql-scan';
import { RESERVED_NAMES } from './template-schema';
import type { DqCheck, StepDef, Template } from './types';

/**
 * Whole-document checks of a template that joi cannot express. Each problem names the key
 * (`steps.2.sql`, `parameters.date.default`) so the load error points at the line to fix.
 */
export interface TemplateProblem {
  key: string;
  message: string;
}

/** Column the engine adds to every destination table: the run that wrote the row (append idempotency). */
export const RUN_ID_COLUMN = '_pipeline_logging_id';
const FIXED_NOW = new Date('2025-01-15T00:00:00Z');

export function templateProblems(t: Template): TemplateProblem[] {
  const problems: TemplateProblem[] = [];
  const add = (key: string, message: string): void => {
    problems.push({ key, message });
  };

  for (const p of t.parameters) {
    if (RESERVED_NAMES.includes(p.name)) add(`parameters.${p.name}`, `"${p.name}" is reserved and cannot be a parameter`);
    if (p.default !== undefined && p.default !== null) {
      const checked = checkParameterValue(p, p.default, FIXED_NOW);
      if (!checked.ok) add(`parameters.${p.name}.default`, checked.message);
    }
    if (p.type === 'enum' && new Set((p.values ?? []).map((v) => typeof v)).size > 1) {
      add(`parameters.${p.name}.values`, 'enum values must be all strings or all numbers');
    }
  }
  for (const name of Object.keys(t.variables)) {
    if (RESERVED_NAMES.includes(name)) add(`variables.${name}`, `"${name}" is a built-in placeholder and cannot be redefined`);
  }
  for (const [name, value] of Object.entries(t.variables)) {
    const nested = placeholderNames(value).filter((n) => !(BUILTIN_PLACEHOLDERS as readonly string[]).includes(n));
    if (nested.length > 0) add(`variables.${name}`, `variables may only use built-in placeholders, not {${nested.join('}, {')}}`);
  }

  const stepIndex = new Map(t.steps.map((s, i) => [s.id, i]));
  for (const p of dagProblems(t.steps)) add(`steps.${stepIndex.get(p.step) ?? 0}.depends_on`, p.message);

  const placeholders = knownPlaceholders(t);
  const declared = new Set(t.parameters.map((p) => p.name));
  const checkText = (key: string, text: string, isSql: boolean): void => {
    const unknown = placeholderNames(text).filter((n) => !placeholders.has(n));
    if (unknown.length > 0) add(key, `unknown placeholder {${unknown.join('}, {')}}`);
    if (!isSql) return;
    let used: string[];
    try {
      used = sqlParamNames(text);
    } catch (err) {
      add(key, err instanceof Error ? err.message : String(err));
      return;
    }
    const undeclared = used.filter((n) => !declared.has(n));
    if (undeclared.length > 0) add(key, `uses undeclared parameter @${undeclared.join(', @')}`);
  };
  t.steps.forEach((step, i) => checkStep(step, `steps.${i}`, checkText, add, declared));
  return problems;
}

type TextCheck = (key: string, text: string, isSql: boolean) => void;

function checkStep(step: StepDef, key: string, checkText: TextCheck, add: (k: string, m: string) => void, declared: Set<string>): void {
  if (step.type === 'query') {
    checkText(`${key}.sql`, step.sql, true);
    for (const [dialect, sql] of Object.entries(step.sql_overrides ?? {})) checkText(`${key}.sql_overrides.${dialect}`, sql, true);
    const dest = step.destination;
    if (!dest) return;
    checkText(`${key}.destination.table`, dest.table, false);
    const columns = new Set(dest.schema.columns.map((c) => c.name));
    if (columns.has(RUN_ID_COLUMN)) add(`${key}.destination.schema.columns`, `${RUN_ID_COLUMN} is added by the engine; do not declare it`);
    const needColumn = (k: string, c: string | undefined): void => {
      if (c !== undefined && !columns.has(c)) add(k, `column "${c}" is not in destination.schema.columns`);
    };
    needColumn(`${key}.destination.schema.partition_by`, dest.schema.partition_by);
    (dest.schema.cluster_by ?? []).forEach((c, j) => needColumn(`${key}.destination.schema.cluster_by.${j}`, c));
    (dest.merge_keys ?? []).forEach((c, j) => needColumn(`${key}.destination.merge_keys.${j}`, c));
    needColumn(`${key}.destination.partition_column`, dest.partition_column);
    if (dest.partition_param !== undefined && !declared.has(dest.partition_param)) {
      add(`${key}.destination.partition_param`, `"${dest.partition_param}" is not a declared parameter`);
    }
  } else if (step.type === 'data_quality') {
    checkText(`${key}.table`, step.table, false);
    if (step.filter !== undefined) checkText(`${key}.filter`, step.filter, true);
    const names = new Set<string>();
    step.checks.forEach((c, j) => {
      const name = checkName(c);
      if (names.has(name)) add(`${key}.checks.${j}.name`, `duplicate check name "${name}"`);
      names.add(name);
      if (c.type === 'custom') checkText(`${key}.checks.${j}.sql`, c.sql, true);
    });
  }
}

/** A check's name: explicit, or derived from its type and columns (`not_null_service_id`). */
export function checkName(c: DqCheck): string {
  if (c.name) return c.name;
  switch (c.type) {
    case 'not_null':
    case 'unique':
      return `${c.type}_${c.columns.join('_')}`;
    case 'accepted_values':
    case 'range':
    case 'freshness':
      return `${c.type}_${c.column}`;
    default:
      return c.type;
  }
}
