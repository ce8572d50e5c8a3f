import type { ColumnType, QueryValue, Row } from './types';

/**
 * Value mapping for the BigQuery REST API, shared by the adapter and the local fake server.
 * Parameters go out as typed strings (`queryParameters`); rows come back in the f/v shape and are
 * read into the same shapes the DuckDB adapter returns (see types.ts).
 */

export interface QueryParameter {
  name: string;
  parameterType: { type: string };
  parameterValue: { value?: string | null };
}

export interface SchemaField {
  name: string;
  type: string;
  mode?: string;
  fields?: SchemaField[];
}

export interface Cell {
  v: unknown;
}

/** `2024-01-02 03:04:05.006+00:00`: BigQuery's canonical TIMESTAMP text. */
export const timestampText = (d: Date): string => d.toISOString().replace('T', ' ').replace('Z', '+00:00');

export function toQueryParameter(name: string, v: QueryValue, hint: ColumnType | undefined): QueryParameter {
  const type = hint ?? inferType(v);
  return { name, parameterType: { type }, parameterValue: v === null ? {} : { value: paramText(v, type) } };
}

function inferType(v: QueryValue): ColumnType {
  if (v === null || typeof v === 'string') return 'STRING';
  if (typeof v === 'boolean') return 'BOOL';
  if (typeof v === 'bigint') return 'INT64';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? 'INT64' : 'FLOAT64';
  if (v instanceof Date) return 'TIMESTAMP';
  return 'BYTES';
}

function paramText(v: Exclude<QueryValue, null>, type: ColumnType): string {
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (v instanceof Date) return type === 'DATE' ? v.toISOString().slice(0, 10) : timestampText(v);
  if (type === 'TIMESTAMP' && typeof v === 'string') {
    const ms = Date.parse(v);
    return Number.isFinite(ms) ? timestampText(new Date(ms)) : v;
  }
  return String(v);
}

/** A row value as insertAll JSON: timestamps as text, bytes base64, JSON columns as JSON text. */
export function toInsertJson(row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v === undefined) continue;
    if (v instanceof Date) out[k] = timestampText(v);
    else if (Buffer.isBuffer(v) || v instanceof Uint8Array) out[k] = Buffer.from(v).toString('base64');
    else if (typeof v === 'bigint') out[k] = v.toString();
    else if (v !== null && typeof v === 'object') out[k] = JSON.stringify(v);
    else out[k] = v;
  }
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function int64Out(text: string): number | string {
  const b = BigInt(text);
  return b <= MAX_SAFE && b >= -MAX_SAFE ? Number(b) : text;
}

/** TIMESTAMP cells are int64 microseconds (formatOptions.useInt64Timestamp) or float seconds. */
function timestampOut(text: string): string {
  const ms = /^-?\d+$/.test(text) ? Number(BigInt(text) / 1000n) : Number(text) * 1000;
  return new Date(ms).toISOString();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function fromCell(field: SchemaField, v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (field.mode === 'REPEATED' && Array.isArray(v)) {
    return v.map((item: Cell) => fromCell({ ...field, mode: 'NULLABLE' }, item.v));
  }
  if ((field.type === 'RECORD' || field.type === 'STRUCT') && typeof v === 'object') {
    return fromRow(field.fields ?? [], (v as { f: Cell[] }).f);
  }
  const text = String(v);
  switch (field.type) {
    case 'INTEGER':
    case 'INT64':
      return int64Out(text);
    case 'FLOAT':
    case 'FLOAT64':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Number(text);
    case 'BOOLEAN':
    case 'BOOL':
      return text === 'true';
    case 'TIMESTAMP':
      return timestampOut(text);
    case 'JSON':
      return parseJson(text);
    case 'BYTES':
      return Buffer.from(text, 'base64');
    default:
      return text;
  }
}

export function fromRow(fields: SchemaField[], cells: Cell[]): Row {
  const row: Row = {};
  fields.forEach((field, i) => {
    row[field.name] = fromCell(field, cells[i]?.v);
  });
  return row;
}
