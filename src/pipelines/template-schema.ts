import Joi from 'joi';

/**
 * The joi schema of a template file (SPEC §7). It checks shape and types; cross-references
 * (depends_on ids, cycles, declared @params, placeholders) are checked by template-registry.ts
 * because they need the whole document.
 */
export const IDENT = /^[a-z][a-z0-9_]{0,62}$/;
export const COLUMN_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
/** A table name that may contain `{placeholder}`s; the rendered name is checked again at run time. */
const TABLE_NAME = /^(?:[a-z0-9_]|\{[a-z][a-z0-9_]*\})+$/;
const COLUMN_TYPES = ['STRING', 'INT64', 'FLOAT64', 'NUMERIC', 'BOOL', 'DATE', 'TIMESTAMP', 'JSON', 'BYTES'];
/** Duration like 36h, 90m, 2d. */
export const MAX_AGE = /^(\d+(?:\.\d+)?)(m|h|d)$/;

/** Names a parameter or variable may not take: they would shadow the run's identity. */
export const RESERVED_NAMES = ['tenant_id', 'dataset', 'pipeline_id', 'pipeline_logging_id', 'provider', 'domain', 'template_name', 'project'];

const retry = Joi.object({
  attempts: Joi.number().integer().min(1).max(10).required(),
  backoff_seconds: Joi.number().min(0).max(3600).default(10),
});

const scalar = Joi.alternatives(Joi.string(), Joi.number(), Joi.boolean());

const parameter = Joi.object({
  type: Joi.string().valid('string', 'date', 'integer', 'number', 'boolean', 'enum').required(),
  required: Joi.boolean().default(false),
  default: scalar.allow(null),
  description: Joi.string(),
  values: Joi.when('type', {
    is: 'enum',
    then: Joi.array().items(Joi.string(), Joi.number()).min(1).unique().required(),
    otherwise: Joi.forbidden(),
  }),
  min: Joi.when('type', { is: Joi.valid('integer', 'number'), then: Joi.number(), otherwise: Joi.forbidden() }),
  max: Joi.when('type', { is: Joi.valid('integer', 'number'), then: Joi.number(), otherwise: Joi.forbidden() }),
  pattern: Joi.when('type', { is: 'string', then: Joi.string(), otherwise: Joi.forbidden() }),
  max_length: Joi.when('type', { is: 'string', then: Joi.number().integer().min(1).max(100000), otherwise: Joi.forbidden() }),
});

const column = Joi.object({
  name: Joi.string().pattern(COLUMN_NAME).required(),
  type: Joi.string().valid(...COLUMN_TYPES).required(),
  mode: Joi.string().valid('NULLABLE', 'REQUIRED'),
  description: Joi.string(),
});

const destination = Joi.object({
  table: Joi.string().pattern(TABLE_NAME).required(),
  write_mode: Joi.string().valid('append', 'truncate', 'replace_partition', 'merge').default('append'),
  partition_column: Joi.when('write_mode', { is: 'replace_partition', then: Joi.string().pattern(COLUMN_NAME).required(), otherwise: Joi.forbidden() }),
  partition_param: Joi.when('write_mode', { is: 'replace_partition', then: Joi.string().pattern(IDENT).required(), otherwise: Joi.forbidden() }),
  merge_keys: Joi.when('write_mode', {
    is: 'merge',
    then: Joi.array().items(Joi.string().pattern(COLUMN_NAME)).min(1).unique().required(),
    otherwise: Joi.forbidden(),
  }),
  schema: Joi.object({
    columns: Joi.array().items(column).min(1).unique('name').required(),
    partition_by: Joi.string().pattern(COLUMN_NAME),
    cluster_by: Joi.array().items(Joi.string().pattern(COLUMN_NAME)).max(4),
  }).required(),
});

const stepBase = {
  id: Joi.string().pattern(IDENT).required(),
  depends_on: Joi.array().items(Joi.string()).unique().default([]),
  timeout_minutes: Joi.number().positive().max(24 * 60),
  retry,
  on_failure: Joi.string().valid('stop', 'continue').default('stop'),
  description: Joi.string(),
};

const severity = Joi.string().valid('error', 'warn').default('error');
const checkBase = { name: Joi.string().pattern(IDENT), severity };
const columns = Joi.array().items(Joi.string().pattern(COLUMN_NAME)).min(1).unique().required();
const oneColumn = Joi.string().pattern(COLUMN_NAME).required();

const checkSchemas: Record<string, Joi.ObjectSchema> = {
  row_count: Joi.object({ ...checkBase, type: 'row_count', min: Joi.number().integer().min(0), max: Joi.number().integer().min(0) }).or('min', 'max'),
  not_null: Joi.object({ ...checkBase, type: 'not_null', columns }),
  unique: Joi.object({ ...checkBase, type: 'unique', columns }),
  accepted_values: Joi.object({ ...checkBase, type: 'accepted_values', column: oneColumn, values: Joi.array().items(Joi.string(), Joi.number()).min(1).required() }),
  range: Joi.object({ ...checkBase, type: 'range', column: oneColumn, min: Joi.number(), max: Joi.number() }).or('min', 'max'),
  freshness: Joi.object({ ...checkBase, type: 'freshness', column: oneColumn, max_age: Joi.string().pattern(MAX_AGE).required() }),
  custom: Joi.object({ ...checkBase, type: 'custom', sql: Joi.string().required() }),
};

const stepSchemas: Record<string, Joi.ObjectSchema> = {
  query: Joi.object({
    ...stepBase,
    type: 'query',
    sql: Joi.string().required(),
    sql_overrides: Joi.object({ duckdb: Joi.string(), bigquery: Joi.string() }),
    destination,
  }),
  data_quality: Joi.object({
    ...stepBase,
    type: 'data_quality',
    table: Joi.string().pattern(TABLE_NAME).required(),
    filter: Joi.string(),
    checks: Joi.array().items(byType(checkSchemas)).min(1).required(),
  }),
  dryrun: Joi.object({ ...stepBase, type: 'dryrun' }),
};

/** Picks the object schema by the value's `type`, so errors name the real key (steps.1.destination.table). */
function byType(schemas: Record<string, Joi.ObjectSchema>): Joi.AlternativesSchema {
  let alt = Joi.alternatives();
  for (const [type, schema] of Object.entries(schemas)) {
    alt = alt.conditional(Joi.object({ type: Joi.valid(type).required() }).unknown(), { then: schema });
  }
  return alt.conditional(Joi.any(), {
    then: Joi.object({ type: Joi.string().valid(...Object.keys(schemas)).required() }).unknown(),
  });
}

export const templateSchema = Joi.object({
  description: Joi.string().required(),
  version: Joi.alternatives(Joi.string(), Joi.number()).default('1.0.0'),
  parameters: Joi.object().pattern(IDENT, parameter).default({}),
  variables: Joi.object().pattern(IDENT, Joi.alternatives(Joi.string(), Joi.number())).default({}),
  timeout_minutes: Joi.number().positive().max(24 * 60).default(30),
  retry: retry.default({ attempts: 1, backoff_seconds: 10 }),
  steps: Joi.array().items(byType(stepSchemas)).min(1).required(),
}).prefs({ abortEarly: true, convert: true });
