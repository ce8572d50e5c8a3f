import { DuckDBTypeId } from '@duckdb/node-api';
import type { DuckDBType } from '@duckdb/node-api';
import type { DuckDbColumn } from '../../../src/warehouse/duckdb';
import type { ColumnType } from '../../../src/warehouse/types';

/** A result column described in BigQuery terms, as the REST API's `schema.fields` reports it. */
export interface ResultField {
  name: string;
  type: string;
  mode: 'NULLABLE' | 'REPEATED';
}

/** The BigQuery type name of a DuckDB result column: how this server types the results it runs on DuckDB. */
export function bigQueryTypeOf(type: DuckDBType): { type: ColumnType | 'STRING'; repeated: boolean } {
  if (type.typeId === DuckDBTypeId.LIST || type.typeId === DuckDBTypeId.ARRAY) {
    return { type: bigQueryTypeOf(type.valueType).type, repeated: true };
  }
  switch (type.typeId) {
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return { type: 'INT64', repeated: false };
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return { type: 'FLOAT64', repeated: false };
    case DuckDBTypeId.DECIMAL:
      return { type: 'NUMERIC', repeated: false };
    case DuckDBTypeId.BOOLEAN:
      return { type: 'BOOL', repeated: false };
    case DuckDBTypeId.DATE:
      return { type: 'DATE', repeated: false };
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP_MS:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_NS:
      return { type: 'TIMESTAMP', repeated: false };
    case DuckDBTypeId.BLOB:
      return { type: 'BYTES', repeated: false };
    case DuckDBTypeId.VARCHAR:
      return { type: type.alias === 'JSON' ? 'JSON' : 'STRING', repeated: false };
    default:
      return { type: 'STRING', repeated: false };
  }
}

/** The BigQuery `schema.fields` of a DuckDB result. */
export const fieldsOf = (columns: DuckDbColumn[]): ResultField[] =>
  columns.map(({ name, type }) => {
    const bq = bigQueryTypeOf(type);
    return { name, type: bq.type, mode: bq.repeated ? 'REPEATED' : 'NULLABLE' };
  });
