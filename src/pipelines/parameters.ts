import { isUtcDay } from '../shared/clock';
import { validationError } from '../shared/errors';
import type { FieldError } from '../shared/errors';
import type { RunParameters } from '../queues/pipeline-runs';
import type { ColumnType } from '../warehouse/types';
import type { ParameterDecl, ParameterValue, Template } from './types';

/**
 * Run parameters: declared by the template, validated here, bound as `@name` query parameters.
 * Relative date keywords are resolved against the trigger's `now` in UTC, so a run retried tomorrow
 * still processes the day it was triggered for.
 */
const RELATIVE_DATE = /^@(today|yesterday|month_start|today-(\d{1,4})d)$/;
const DEFAULT_MAX_LENGTH = 1024;

type Checked = { ok: true; value: ParameterValue } | { ok: false; message: string };

const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

export function resolveRelativeDate(keyword: string, now: Date): string | undefined {
  const m = RELATIVE_DATE.exec(keyword);
  if (!m) return undefined;
  const [y, mo, d] = [now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()];
  if (m[1] === 'today') return isoDay(new Date(Date.UTC(y, mo, d)));
  if (m[1] === 'yesterday') return isoDay(new Date(Date.UTC(y, mo, d - 1)));
  if (m[1] === 'month_start') return isoDay(new Date(Date.UTC(y, mo, 1)));
  return isoDay(new Date(Date.UTC(y, mo, d - Number(m[2]))));
}

/** The days a `date` parameter may name; sample data stays within them too (sample-billing.ts). */
export const DATE_PARAMETER_RANGE = { first: '1900-01-01', last: '2999-12-31' } as const;

const isCalendarDate = (value: string): boolean =>
  isUtcDay(value) && value >= DATE_PARAMETER_RANGE.first && value <= DATE_PARAMETER_RANGE.last;

/** Checks one value against its declaration; `value` is never null here. */
export function checkParameterValue(decl: ParameterDecl, value: unknown, now: Date): Checked {
  const bad = (message: string): Checked => ({ ok: false, message: `"${decl.name}" ${message}` });
  switch (decl.type) {
    case 'date': {
      if (typeof value !== 'string') return bad('must be a date in YYYY-MM-DD format');
      const resolved = resolveRelativeDate(value, now) ?? value;
      return isCalendarDate(resolved) ? { ok: true, value: resolved } : bad('must be a date in YYYY-MM-DD format');
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return bad('must be an integer');
      return inRange(decl, value, bad);
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) return bad('must be a number');
      return inRange(decl, value, bad);
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : bad('must be a boolean');
    case 'enum':
      if ((typeof value !== 'string' && typeof value !== 'number') || !(decl.values ?? []).includes(value)) {
        return bad(`must be one of [${(decl.values ?? []).join(', ')}]`);
      }
      return { ok: true, value };
    case 'string': {
      if (typeof value !== 'string') return bad('must be a string');
      const max = decl.max_length ?? DEFAULT_MAX_LENGTH;
      if (value.length > max) return bad(`must be at most ${max} characters long`);
      if (decl.pattern !== undefined && !new RegExp(decl.pattern).test(value)) return bad(`must match the pattern ${decl.pattern}`);
      return { ok: true, value };
    }
  }
}

function inRange(decl: ParameterDecl, value: number, bad: (m: string) => Checked): Checked {
  if (decl.min !== undefined && value < decl.min) return bad(`must be greater than or equal to ${decl.min}`);
  if (decl.max !== undefined && value > decl.max) return bad(`must be less than or equal to ${decl.max}`);
  return { ok: true, value };
}

/**
 * Validates a request's raw parameters against the template. Unknown keys (including `tenant_id`,
 * `dataset` and every other identity name) are refused, so a body can never redirect a run.
 * Throws AppError 422 VALIDATION_ERROR listing every bad field.
 */
export function validateRunParameters(template: Pick<Template, 'parameters' | 'provider' | 'domain' | 'name'>, raw: Record<string, unknown>, now: Date): RunParameters {
  const errors: FieldError[] = [];
  const declared = new Map(template.parameters.map((d) => [d.name, d]));
  for (const key of Object.keys(raw)) {
    if (!declared.has(key)) {
      errors.push({ field: key, message: `"${key}" is not a parameter of ${template.provider}/${template.domain}/${template.name}` });
    }
  }
  const out: RunParameters = {};
  for (const decl of template.parameters) {
    const given = Object.prototype.hasOwnProperty.call(raw, decl.name) ? raw[decl.name] : undefined;
    const value = given ?? decl.default ?? null;
    if (value === null) {
      if (decl.required) errors.push({ field: decl.name, message: `"${decl.name}" is required` });
      out[decl.name] = null;
      continue;
    }
    const checked = checkParameterValue(decl, value, now);
    if (checked.ok) out[decl.name] = checked.value;
    else errors.push({ field: decl.name, message: checked.message });
  }
  if (errors.length > 0) throw validationError(errors, `Invalid parameters: ${errors.map((e) => e.message).join('; ')}`);
  return out;
}

/** The warehouse type each declared parameter binds as (needed for nulls and DATE strings). */
export function parameterTypes(template: Pick<Template, 'parameters'>): Record<string, ColumnType> {
  const types: Record<string, ColumnType> = {};
  for (const decl of template.parameters) types[decl.name] = bindType(decl);
  return types;
}

function bindType(decl: ParameterDecl): ColumnType {
  switch (decl.type) {
    case 'date':
      return 'DATE';
    case 'integer':
      return 'INT64';
    case 'number':
      return 'FLOAT64';
    case 'boolean':
      return 'BOOL';
    case 'enum': {
      const values = decl.values ?? [];
      if (values.every((v) => typeof v === 'number')) return values.every((v) => Number.isInteger(v)) ? 'INT64' : 'FLOAT64';
      return 'STRING';
    }
    case 'string':
      return 'STRING';
  }
}
