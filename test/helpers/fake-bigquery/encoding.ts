import type { ResultField } from './field-types';
import type { ColumnType, QueryValue, Row } from '../../../src/warehouse/types';

/** Wire shapes of the BigQuery REST API as the fake server reads and writes them. */

export interface RestQueryParameter {
  name?: string;
  parameterType?: { type?: string };
  parameterValue?: { value?: string | null };
}

export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }

  body(): unknown {
    return {
      error: {
        code: this.status,
        message: this.message,
        errors: [{ domain: 'global', reason: this.reason, message: this.message }],
        status: this.status === 404 ? 'NOT_FOUND' : this.status === 409 ? 'ALREADY_EXISTS' : this.status >= 500 ? 'UNAVAILABLE' : 'INVALID_ARGUMENT',
      },
    };
  }
}

const LEGACY_TYPES: Record<string, ColumnType> = {
  INTEGER: 'INT64',
  FLOAT: 'FLOAT64',
  BOOLEAN: 'BOOL',
  BIGNUMERIC: 'NUMERIC',
  DATETIME: 'TIMESTAMP',
};

export function columnTypeOf(restType: string | undefined): ColumnType {
  const t = (restType ?? 'STRING').toUpperCase();
  const known: ColumnType[] = ['STRING', 'INT64', 'FLOAT64', 'NUMERIC', 'BOOL', 'DATE', 'TIMESTAMP', 'JSON', 'BYTES'];
  if ((known as string[]).includes(t)) return t as ColumnType;
  const legacy = LEGACY_TYPES[t];
  if (legacy) return legacy;
  throw new RestError(400, 'invalid', `Unsupported type in the fake server: ${t}`);
}

/** queryParameters → the warehouse's params + type hints, exactly as the adapter would bind them. */
export function fromRestParameters(list: RestQueryParameter[] | undefined): {
  params: Record<string, QueryValue>;
  paramTypes: Record<string, ColumnType>;
} {
  const params: Record<string, QueryValue> = {};
  const paramTypes: Record<string, ColumnType> = {};
  for (const p of list ?? []) {
    if (!p.name) throw new RestError(400, 'invalidQuery', 'Positional parameters are not supported by the fake server');
    const type = columnTypeOf(p.parameterType?.type);
    const raw = p.parameterValue?.value;
    paramTypes[p.name] = type;
    if (raw === undefined || raw === null) {
      params[p.name] = null;
      continue;
    }
    switch (type) {
      case 'INT64':
        params[p.name] = BigInt(raw);
        break;
      case 'FLOAT64':
        params[p.name] = Number(raw);
        break;
      case 'BOOL':
        params[p.name] = raw.toLowerCase() === 'true';
        break;
      case 'BYTES':
        params[p.name] = Buffer.from(raw, 'base64');
        break;
      default:
        params[p.name] = raw;
    }
  }
  return { params, paramTypes };
}

function cellText(type: string, v: unknown, int64Timestamps: boolean): unknown {
  if (v === null || v === undefined) return null;
  switch (type) {
    case 'TIMESTAMP': {
      const ms = Date.parse(String(v));
      return int64Timestamps ? (BigInt(ms) * 1000n).toString() : String(ms / 1000);
    }
    case 'BOOL':
      return v ? 'true' : 'false';
    case 'JSON':
      return JSON.stringify(v);
    case 'BYTES':
      return Buffer.isBuffer(v) ? v.toString('base64') : String(v);
    default:
      return typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
}

/** Rows in BigQuery's f/v shape, with typed values as strings like the real service. */
export function toRestRows(fields: ResultField[], rows: Row[], int64Timestamps: boolean): Array<{ f: Array<{ v: unknown }> }> {
  return rows.map((row) => ({
    f: fields.map((field) => {
      const v = row[field.name];
      if (field.mode === 'REPEATED') {
        return { v: Array.isArray(v) ? v.map((item) => ({ v: cellText(field.type, item, int64Timestamps) })) : [] };
      }
      return { v: cellText(field.type, v, int64Timestamps) };
    }),
  }));
}

export const restSchema = (fields: ResultField[]): { fields: ResultField[] } => ({ fields });
