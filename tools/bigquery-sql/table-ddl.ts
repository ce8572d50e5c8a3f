import type { SchemaField } from '../../src/warehouse/bigquery-values';

/**
 * The adapter creates tables with tables.insert (a schema, time partitioning, clustering), not with SQL.
 * To analyze that DDL too, each recorded tables.insert body is written as the CREATE TABLE statement
 * BigQuery would treat it as, and checked against BigQuery's table rules ZetaSQL does not know:
 * DAY partitioning needs a DATE, TIMESTAMP or DATETIME column; at most four clustering columns, each a
 * top-level, non-repeated column of a type BigQuery can cluster on.
 */
export interface TableInsertBody {
  tableReference?: { tableId?: string };
  schema?: { fields?: Array<Partial<SchemaField> & { description?: string }> };
  timePartitioning?: { type?: string; field?: string };
  clustering?: { fields?: string[] };
  description?: string;
}

const CLUSTERABLE = new Set(['BIGNUMERIC', 'BOOL', 'BOOLEAN', 'DATE', 'DATETIME', 'GEOGRAPHY', 'INT64', 'INTEGER', 'NUMERIC', 'RANGE', 'STRING', 'TIMESTAMP']);
const PARTITIONABLE = new Set(['DATE', 'TIMESTAMP', 'DATETIME']);
const DDL_TYPES: Record<string, string> = { INTEGER: 'INT64', FLOAT: 'FLOAT64', BOOLEAN: 'BOOL' };

const literal = (text: string): string => JSON.stringify(text);

function ddlType(field: Partial<SchemaField>): string {
  const upper = (field.type ?? 'STRING').toUpperCase();
  const base =
    upper === 'RECORD' || upper === 'STRUCT'
      ? `STRUCT<${(field.fields ?? []).map((f) => `${f.name} ${ddlType(f)}`).join(', ')}>`
      : (DDL_TYPES[upper] ?? upper);
  return field.mode === 'REPEATED' ? `ARRAY<${base}>` : base;
}

export function tableDdl(dataset: string, body: TableInsertBody): { sql: string; problems: string[] } {
  const fields = body.schema?.fields ?? [];
  const byName = new Map(fields.map((f) => [(f.name ?? '').toLowerCase(), f]));
  const problems: string[] = [];
  const columns = fields.map((f) => {
    const notNull = f.mode === 'REQUIRED' ? ' NOT NULL' : '';
    const options = f.description ? ` OPTIONS(description=${literal(f.description)})` : '';
    return `${f.name ?? ''} ${ddlType(f)}${notNull}${options}`;
  });
  let sql = `CREATE TABLE \`${dataset}.${body.tableReference?.tableId ?? ''}\` (${columns.join(', ')})`;
  const partition = body.timePartitioning;
  if (partition) {
    const column = byName.get((partition.field ?? '').toLowerCase());
    const type = (column?.type ?? '').toUpperCase();
    if (!column || !PARTITIONABLE.has(type) || column.mode === 'REPEATED') {
      problems.push(`timePartitioning field "${partition.field ?? ''}" must be a DATE, TIMESTAMP or DATETIME column`);
    } else {
      sql += type === 'DATE' ? ` PARTITION BY ${column.name ?? ''}` : ` PARTITION BY ${type}_TRUNC(${column.name ?? ''}, ${partition.type ?? 'DAY'})`;
    }
  }
  const cluster = body.clustering?.fields ?? [];
  if (cluster.length > 4) problems.push(`clustering has ${cluster.length} fields; BigQuery allows at most 4`);
  for (const name of cluster) {
    const column = byName.get(name.toLowerCase());
    if (!column || column.mode === 'REPEATED' || !CLUSTERABLE.has((column.type ?? '').toUpperCase())) {
      problems.push(`clustering field "${name}" must be a top-level, non-repeated column of a clusterable type (not ${column?.type ?? 'missing'})`);
    }
  }
  if (cluster.length > 0) sql += ` CLUSTER BY ${cluster.join(', ')}`;
  if (body.description) sql += ` OPTIONS(description=${literal(body.description)})`;
  return { sql, problems };
}
