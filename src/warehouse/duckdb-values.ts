import {
  BIGINT,
  BLOB,
  BOOLEAN,
  DATE,
  DECIMAL,
  DOUBLE,
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBDecimalValue,
  DuckDBListValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  DuckDBTypeId,
  HUGEINT,
  TIMESTAMPTZ,
  VARCHAR,
  blobValue,
  dateValue,
  decimalValue,
  timestampTZValue,
} from '@duckdb/node-api';
import type { DuckDBType, DuckDBValue } from '@duckdb/node-api';
import { WarehouseError } from './types';
import type { ColumnType, QueryValue } from './types';

/**
 * Value mapping between JS and DuckDB, shared by reads, bound parameters and the appender.
 * Reads follow the contract in types.ts: integers as number (string beyond 2^53), DECIMAL as number,
 * DATE as 'YYYY-MM-DD', timestamps as ISO strings with millisecond precision ending in Z (the same
 * shape the BigQuery adapter returns), JSON parsed, BLOB as Buffer.
 */

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);
const INT64_LIMIT = 2n ** 63n;

const bigintOut = (v: bigint): number | string => (v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v.toString());
const microsToIso = (micros: bigint): string => new Date(Number(micros / 1000n)).toISOString();

export function fromDuckDb(value: DuckDBValue, type: DuckDBType): unknown {
  if (value === null) return null;
  if (typeof value === 'bigint') return bigintOut(value);
  if (typeof value === 'string') {
    if (type.alias === 'JSON') return parseJson(value);
    return value;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  if (value instanceof DuckDBTimestampTZValue || value instanceof DuckDBTimestampValue) return microsToIso(value.micros);
  if (value instanceof DuckDBTimestampMillisecondsValue) return new Date(Number(value.millis)).toISOString();
  if (value instanceof DuckDBTimestampSecondsValue) return new Date(Number(value.seconds) * 1000).toISOString();
  if (value instanceof DuckDBTimestampNanosecondsValue) return new Date(Number(value.nanos / 1_000_000n)).toISOString();
  if (value instanceof DuckDBDateValue) return value.toString();
  if (value instanceof DuckDBDecimalValue) return value.toDouble();
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
    const itemType = 'valueType' in type ? (type as { valueType: DuckDBType }).valueType : VARCHAR;
    return value.items.map((item) => fromDuckDb(item, itemType));
  }
  if (value instanceof DuckDBStructValue) {
    const out: Record<string, unknown> = {};
    const entryTypes = structEntryTypes(type);
    for (const [k, v] of Object.entries(value.entries)) out[k] = fromDuckDb(v, entryTypes[k] ?? VARCHAR);
    return out;
  }
  return value.toString();
}

function structEntryTypes(type: DuckDBType): Record<string, DuckDBType> {
  if (type.typeId !== DuckDBTypeId.STRUCT) return {};
  const out: Record<string, DuckDBType> = {};
  type.entryNames.forEach((name, i) => {
    const t = type.entryTypes[i];
    if (t) out[name] = t;
  });
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** 'YYYY-MM-DD' (or a Date, taken as its UTC day) → DATE value. */
export function toDateValue(v: unknown, column: string): DuckDBDateValue {
  const text = v instanceof Date ? v.toISOString().slice(0, 10) : String(v);
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!m) throw invalidValue(column, 'DATE', v);
  return dateValue({ year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) });
}

export function toTimestampValue(v: unknown, column: string): DuckDBTimestampTZValue {
  const ms = v instanceof Date ? v.getTime() : typeof v === 'number' ? v : Date.parse(String(v));
  if (!Number.isFinite(ms)) throw invalidValue(column, 'TIMESTAMP', v);
  return timestampTZValue(BigInt(Math.round(ms)) * 1000n);
}

/** Exact decimal string → DECIMAL(38,9), so money never goes through a double on the way in. */
export function toDecimalValue(v: unknown, column: string): DuckDBDecimalValue {
  const text = typeof v === 'bigint' ? v.toString() : typeof v === 'number' ? v.toFixed(9) : String(v).trim();
  const m = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw invalidValue(column, 'NUMERIC', v);
  const frac = (m[3] ?? '').padEnd(9, '0').slice(0, 9);
  const scaled = BigInt(`${m[2] || '0'}${frac}`) * (m[1] === '-' ? -1n : 1n);
  return decimalValue(scaled, 38, 9);
}

function toBigInt(v: unknown, column: string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^[+-]?\d+$/.test(v.trim())) return BigInt(v.trim());
  throw invalidValue(column, 'INT64', v);
}

function toBool(v: unknown, column: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 1) return true;
  if (v === 'false' || v === 0) return false;
  throw invalidValue(column, 'BOOL', v);
}

function toBlob(v: unknown, column: string): DuckDBBlobValue {
  if (v instanceof Uint8Array) return blobValue(v);
  // BigQuery's wire format for BYTES is base64; accept it here too so one row shape fits both.
  if (typeof v === 'string') return blobValue(Buffer.from(v, 'base64'));
  throw invalidValue(column, 'BYTES', v);
}

const invalidValue = (column: string, type: string, v: unknown): WarehouseError =>
  new WarehouseError(`Value for ${column} is not a valid ${type}: ${describe(v)}`, 'invalid_query');

const describe = (v: unknown): string => {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
};

/** Converts a row value for a column of the given DuckDB type (appender path). */
export function toColumnValue(v: unknown, type: DuckDBType, column: string): DuckDBValue {
  if (v === null || v === undefined) return null;
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      if (type.alias === 'JSON') return typeof v === 'string' ? v : JSON.stringify(v);
      return typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : String(v);
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.HUGEINT:
      return toBigInt(v, column);
    case DuckDBTypeId.DOUBLE:
    case DuckDBTypeId.FLOAT: {
      const n = typeof v === 'number' ? v : Number(v);
      if (Number.isNaN(n) && v !== 'NaN') throw invalidValue(column, 'FLOAT64', v);
      return n;
    }
    case DuckDBTypeId.DECIMAL:
      return toDecimalValue(v, column);
    case DuckDBTypeId.BOOLEAN:
      return toBool(v, column);
    case DuckDBTypeId.DATE:
      return toDateValue(v, column);
    case DuckDBTypeId.TIMESTAMP_TZ:
    case DuckDBTypeId.TIMESTAMP:
      return toTimestampValue(v, column);
    case DuckDBTypeId.BLOB:
      return toBlob(v, column);
    default:
      throw new WarehouseError(`Column ${column} has a type the adapter does not write: ${type.toString()}`, 'invalid_query');
  }
}

export interface BoundParam {
  value: DuckDBValue;
  type: DuckDBType | undefined;
}

/** A query parameter with its DuckDB type: from the hint when given, else from the JS value. */
export function toParam(name: string, v: QueryValue, hint: ColumnType | undefined): BoundParam {
  if (hint !== undefined) {
    const type = HINT_TYPES[hint];
    if (v === null) return { value: null, type };
    if (hint === 'JSON') return { value: typeof v === 'string' ? v : JSON.stringify(v), type };
    return { value: toColumnValue(v, type, `@${name}`), type };
  }
  if (v === null) return { value: null, type: undefined };
  if (typeof v === 'string') return { value: v, type: VARCHAR };
  if (typeof v === 'boolean') return { value: v, type: BOOLEAN };
  if (typeof v === 'bigint') return { value: v, type: v < INT64_LIMIT && v >= -INT64_LIMIT ? BIGINT : HUGEINT };
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) ? { value: BigInt(v), type: BIGINT } : { value: v, type: DOUBLE };
  }
  if (v instanceof Date) return { value: toTimestampValue(v, `@${name}`), type: TIMESTAMPTZ };
  return { value: blobValue(v), type: BLOB };
}

/** JSON parameters bind as VARCHAR; the adapter wraps them in CAST(… AS JSON) in the SQL text (a bound type alias is lost). */
const HINT_TYPES: Record<ColumnType, DuckDBType> = {
  STRING: VARCHAR,
  INT64: BIGINT,
  FLOAT64: DOUBLE,
  NUMERIC: DECIMAL(38, 9),
  BOOL: BOOLEAN,
  DATE,
  TIMESTAMP: TIMESTAMPTZ,
  JSON: VARCHAR,
  BYTES: BLOB,
};

/** Table column type for each neutral column type. TIMESTAMP is always TIMESTAMPTZ in UTC. */
export const DUCKDB_COLUMN_TYPES: Record<ColumnType, string> = {
  STRING: 'VARCHAR',
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BOOL: 'BOOLEAN',
  DATE: 'DATE',
  TIMESTAMP: 'TIMESTAMPTZ',
  JSON: 'JSON',
  BYTES: 'BLOB',
};
