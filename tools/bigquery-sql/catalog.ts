import type { SchemaField } from '../../src/warehouse/bigquery-values';
import type { ColumnSchema } from '../../src/warehouse/types';
import { BIGQUERY_LANGUAGE } from './language';
import type { SimpleCatalogProto, SimpleTableProto, TypeKindName, TypeProto } from './protos';

/**
 * A BigQuery project's tables as the ZetaSQL analyzer sees them. Columns are BigQuery REST schema fields
 * (`{name, type, mode, fields}`), the same shape tables.insert takes, so a catalog can be filled from the
 * code's TableSpecs, from recorded tables.insert bodies or from a documented export schema alike.
 */
export interface CatalogTable {
  /** Omitted for the platform's own project (the job's default project). */
  project?: string;
  dataset: string;
  table: string;
  fields: SchemaField[];
}

const SCALARS: Record<string, TypeKindName> = {
  STRING: 'TYPE_STRING',
  BYTES: 'TYPE_BYTES',
  INT64: 'TYPE_INT64',
  INTEGER: 'TYPE_INT64',
  FLOAT64: 'TYPE_DOUBLE',
  FLOAT: 'TYPE_DOUBLE',
  NUMERIC: 'TYPE_NUMERIC',
  BIGNUMERIC: 'TYPE_BIGNUMERIC',
  BOOL: 'TYPE_BOOL',
  BOOLEAN: 'TYPE_BOOL',
  TIMESTAMP: 'TYPE_TIMESTAMP',
  DATE: 'TYPE_DATE',
  TIME: 'TYPE_TIME',
  DATETIME: 'TYPE_DATETIME',
  GEOGRAPHY: 'TYPE_GEOGRAPHY',
  JSON: 'TYPE_JSON',
  INTERVAL: 'TYPE_INTERVAL',
};

/** One REST schema field as a ZetaSQL type: RECORD/STRUCT with sub-fields, REPEATED as an array. */
export function fieldType(field: SchemaField): TypeProto {
  const upper = field.type.toUpperCase();
  let base: TypeProto;
  if (upper === 'RECORD' || upper === 'STRUCT') {
    base = { typeKind: 'TYPE_STRUCT', structType: { field: (field.fields ?? []).map((f) => ({ fieldName: f.name, fieldType: fieldType(f) })) } };
  } else {
    const kind = SCALARS[upper];
    if (!kind) throw new Error(`catalog: BigQuery type ${field.type} of column ${field.name} is not known`);
    base = { typeKind: kind };
  }
  return field.mode === 'REPEATED' ? { typeKind: 'TYPE_ARRAY', arrayType: { elementType: base } } : base;
}

/** A parameter or column type by its BigQuery name (`STRING`, `DATE`, …). */
export const scalarType = (type: string): TypeProto => fieldType({ name: '', type });

/** A query parameter's type as the REST API sends it (`queryParameters[].parameterType`). */
export interface RestParameterType {
  type?: string;
  arrayType?: RestParameterType;
  structTypes?: Array<{ name?: string; type?: RestParameterType }>;
}

export function restParameterType(t: RestParameterType): TypeProto {
  const type = (t.type ?? 'STRING').toUpperCase();
  if (type === 'ARRAY') return { typeKind: 'TYPE_ARRAY', arrayType: { elementType: restParameterType(t.arrayType ?? {}) } };
  if (type === 'STRUCT') {
    return { typeKind: 'TYPE_STRUCT', structType: { field: (t.structTypes ?? []).map((f) => ({ fieldName: f.name ?? '', fieldType: restParameterType(f.type ?? {}) })) } };
  }
  return scalarType(type);
}

export const columnsAsFields = (columns: ColumnSchema[]): SchemaField[] =>
  columns.map((c) => ({ name: c.name, type: c.type, ...(c.mode ? { mode: c.mode } : {}) }));

export class BigQueryCatalog {
  private readonly byName = new Map<string, CatalogTable>();

  add(table: CatalogTable): this {
    this.byName.set(fullName(table).toLowerCase(), table);
    return this;
  }

  has(ref: { project?: string; dataset: string; table: string }): boolean {
    return this.byName.has(fullName(ref).toLowerCase());
  }

  get(ref: { project?: string; dataset: string; table: string }): CatalogTable | undefined {
    return this.byName.get(fullName(ref).toLowerCase());
  }

  tables(): CatalogTable[] {
    return [...this.byName.values()];
  }

  /**
   * Every way BigQuery lets a statement name a table: `` `dataset.table` `` and `` `project.dataset.table` ``
   * (one quoted identifier holding dots: a dotted name at the root) and `dataset.table` / `project.dataset.table`
   * (a path: nested catalogs). Tables of the default project are reachable without the project.
   */
  toProto(): SimpleCatalogProto {
    const root: SimpleCatalogProto = { name: 'bigquery', table: [], catalog: [], builtinFunctionOptions: { languageOptions: BIGQUERY_LANGUAGE } };
    for (const t of this.byName.values()) {
      const columns = t.fields.map((f) => ({ name: f.name, type: fieldType(f) }));
      const proto = (name: string): SimpleTableProto => ({ name, fullName: fullName(t), column: columns });
      const path = t.project ? [t.project, t.dataset] : [t.dataset];
      root.table?.push(proto(fullName(t)));
      nested(root, path).table?.push(proto(t.table));
    }
    return root;
  }
}

const fullName = (t: { project?: string; dataset: string; table: string }): string => [t.project, t.dataset, t.table].filter(Boolean).join('.');

function nested(root: SimpleCatalogProto, path: string[]): SimpleCatalogProto {
  let at = root;
  for (const name of path) {
    let next = at.catalog?.find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (!next) {
      next = { name, table: [], catalog: [] };
      at.catalog?.push(next);
    }
    at = next;
  }
  return at;
}
