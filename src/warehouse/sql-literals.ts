import { sqlError } from './sql-lexer';
import type { Token } from './sql-lexer';

/**
 * How each BigQuery literal is written for DuckDB, so it keeps BigQuery's value and type — or a clear
 * `invalid_query` refusal naming the construct where DuckDB has no faithful equivalent.
 *
 *  - strings (every quoting, raw or not, escapes decoded by the lexer) → `'…'` with `''` for a quote; DuckDB
 *    takes backslashes and newlines literally, so the decoded text goes in as is;
 *  - bytes → a BLOB literal, every byte that is not a letter or digit written `\xHH`;
 *  - `1.5`, `.5`, `5.` are FLOAT64 in BigQuery but DECIMAL in DuckDB → written with an exponent (`1.5e0`);
 *    hex integers (`0x1F`) → decimal;
 *  - typed literals: `DATE '…'`, `TIME '…'` as they are, `DATETIME '…'` → `TIMESTAMP '…'`,
 *    `TIMESTAMP '…'` → `TIMESTAMPTZ '…'` (BigQuery's TIMESTAMP is an instant), `JSON '…'`,
 *    `NUMERIC '…'` / `BIGNUMERIC '…'` → `DECIMAL(38,9)` when the value fits it exactly.
 */

/** A BigQuery string value as a DuckDB string literal. */
export function stringLiteral(sql: string, token: Token): string {
  const value = token.value ?? '';
  if (value.includes('\0')) throw sqlError(sql, token.start, 'Not supported on the embedded warehouse: a NUL character in a string literal');
  return `'${value.replace(/'/g, "''")}'`;
}

/** A BigQuery bytes value as a DuckDB BLOB literal. */
export function bytesLiteral(token: Token): string {
  const body = [...(token.bytes ?? Buffer.alloc(0))]
    .map((b) => (/[A-Za-z0-9]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0').toUpperCase()}`))
    .join('');
  return `'${body}'::BLOB`;
}

const INT64_MAX = 2n ** 63n - 1n;

export function numberLiteral(sql: string, token: Token): string {
  const text = token.text;
  if (/^0[xX]/.test(text)) {
    const value = BigInt(text);
    if (value > INT64_MAX) throw sqlError(sql, token.start, `Invalid hex integer literal: ${text}`);
    return value.toString();
  }
  if (!/[.eE]/.test(text)) return text;
  if (/[eE]/.test(text)) return text;
  const digits = `${text.startsWith('.') ? '0' : ''}${text}${text.endsWith('.') ? '0' : ''}`;
  return `${digits}e0`;
}

/** Type words that make a following string a typed literal, and how DuckDB writes them. */
const TYPED: Record<string, (literal: string) => string> = {
  DATE: (l) => `DATE ${l}`,
  TIME: (l) => `TIME ${l}`,
  DATETIME: (l) => `TIMESTAMP ${l}`,
  TIMESTAMP: (l) => `TIMESTAMPTZ ${l}`,
  JSON: (l) => `JSON ${l}`,
  NUMERIC: (l) => `CAST(${l} AS DECIMAL(38,9))`,
  DECIMAL: (l) => `CAST(${l} AS DECIMAL(38,9))`,
  BIGNUMERIC: (l) => `CAST(${l} AS DECIMAL(38,9))`,
  BIGDECIMAL: (l) => `CAST(${l} AS DECIMAL(38,9))`,
};

export const isTypedLiteralWord = (upper: string): boolean => TYPED[upper] !== undefined;

/** `DATE '2025-01-01'`, `NUMERIC '1.5'`…: the type word and its string, rendered together. */
export function typedLiteral(sql: string, word: Token, literal: Token): string {
  const upper = word.text.toUpperCase();
  const render = TYPED[upper];
  if (!render) throw sqlError(sql, word.start, `Not supported on the embedded warehouse: ${upper} literal`);
  if (/NUMERIC|DECIMAL/.test(upper) && !fitsDecimal389(literal.value ?? '')) {
    throw sqlError(sql, word.start, `Not supported on the embedded warehouse: ${upper} literal '${literal.value ?? ''}' does not fit NUMERIC(38, 9) exactly`);
  }
  return render(stringLiteral(sql, literal));
}

/** DuckDB's DECIMAL(38,9) holds it without rounding: at most 29 integer and 9 fraction digits. */
function fitsDecimal389(text: string): boolean {
  const m = /^\s*[+-]?(\d*)(?:\.(\d*))?\s*$/.exec(text);
  if (!m) return true; // not a number at all: DuckDB's cast fails loudly, as BigQuery does
  return (m[1] ?? '').replace(/^0+/, '').length <= 29 && (m[2] ?? '').replace(/0+$/, '').length <= 9;
}
