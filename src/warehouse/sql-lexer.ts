import { WarehouseError } from './types';

/**
 * The one lexer of BigQuery (GoogleSQL) text. The DuckDB translation (sql-dialect.ts) and the parameter
 * scanner (pipelines/sql-scan.ts) both read SQL through it, so they always agree on what is a string, an
 * identifier, a comment or a parameter.
 *
 * It follows GoogleSQL's lexical rules:
 *  - strings `'…'` `"…"` `'''…'''` `"""…"""` (only triple-quoted ones may span lines), raw `r'…'`, bytes `b'…'`
 *    and raw bytes `rb'…'`/`br'…'` in any case; a doubled quote is NOT an escape (`'it''s'` is two literals);
 *  - escapes `\a \b \f \n \r \t \v \\ \? \" \' \``, octal `\101`, hex `\x41`, `\u00e9`, `\U0001F600`
 *    (no `\u` in bytes); raw literals keep backslashes; a string must be valid UTF-8;
 *  - backtick identifiers with the same escapes; `--`, `#` and `/* … *\/` comments (not nested);
 *  - `@name` parameters and `@@name.path` system variables; decimal, float and hex numbers.
 * A malformed token is an `invalid_query` WarehouseError with BigQuery's position suffix `at [line:column]`.
 */
export type TokenKind = 'space' | 'comment' | 'string' | 'bytes' | 'word' | 'quoted' | 'number' | 'param' | 'system' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** The token exactly as written. */
  text: string;
  /** Offset of its first character in the input. */
  start: number;
  /** Decoded text of a string literal, name of a quoted identifier, parameter or system variable (no `@`). */
  value?: string;
  /** Decoded content of a bytes literal. */
  bytes?: Buffer;
}

/** An `invalid_query` error pointing at a place in the text, worded like BigQuery's (`… at [2:14]`). */
export function sqlError(sql: string, offset: number, message: string): WarehouseError {
  const before = sql.slice(0, offset).split('\n');
  const line = before.length;
  const column = (before[before.length - 1] ?? '').length + 1;
  return new WarehouseError(`${message} at [${line}:${column}]`, 'invalid_query');
}

const SIMPLE_ESCAPES: Record<string, string> = {
  a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '?': '?', '"': '"', "'": "'", '`': '`',
};
const TWO_CHAR_SYMBOLS = new Set(['<=', '>=', '<>', '!=', '||', '<<', '>>', '=>', '->']);
const LITERAL_PREFIX = /^(?:[rR][bB]?|[bB][rR]?)(?=['"])/;
const NUMBER = /^(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)/;

const isIdentStart = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z_]/.test(ch);
const isIdentPart = (ch: string | undefined): boolean => ch !== undefined && /[A-Za-z0-9_]/.test(ch);

export function lexBigQuery(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, end: number, extra: Partial<Token> = {}): void => {
    tokens.push({ kind, text: sql.slice(i, end), start: i, ...extra });
    i = end;
  };
  while (i < sql.length) {
    const ch = sql[i] ?? '';
    const next = sql[i + 1];
    const prefix = isIdentStart(ch) ? LITERAL_PREFIX.exec(sql.slice(i, i + 3))?.[0] : undefined;
    if (/\s/.test(ch)) {
      let j = i + 1;
      while (j < sql.length && /\s/.test(sql[j] ?? '')) j++;
      push('space', j);
    } else if ((ch === '-' && next === '-') || ch === '#') {
      const nl = sql.indexOf('\n', i);
      push('comment', nl === -1 ? sql.length : nl);
    } else if (ch === '/' && next === '*') {
      const close = sql.indexOf('*/', i + 2);
      if (close === -1) throw sqlError(sql, i, 'Syntax error: Unclosed comment');
      push('comment', close + 2);
    } else if (ch === "'" || ch === '"' || prefix !== undefined) {
      const flags = (prefix ?? '').toLowerCase();
      const literal = readQuoted(sql, i + (prefix ?? '').length, { raw: flags.includes('r'), bytes: flags.includes('b'), start: i });
      if (flags.includes('b')) push('bytes', literal.end, { bytes: literal.content });
      else push('string', literal.end, { value: literal.content.toString('utf8') });
    } else if (ch === '`') {
      const quoted = readQuoted(sql, i, { raw: false, bytes: false, start: i });
      const value = quoted.content.toString('utf8');
      if (value === '') throw sqlError(sql, i, 'Syntax error: Invalid empty identifier');
      push('quoted', quoted.end, { value });
    } else if (ch === '@' && next === '@' && isIdentStart(sql[i + 2])) {
      let j = i + 2;
      while (isIdentPart(sql[j]) || (sql[j] === '.' && isIdentStart(sql[j + 1]))) j++;
      push('system', j, { value: sql.slice(i + 2, j) });
    } else if (ch === '@' && isIdentStart(next)) {
      let j = i + 1;
      while (isIdentPart(sql[j])) j++;
      push('param', j, { value: sql.slice(i + 1, j) });
    } else if (/\d/.test(ch) || (ch === '.' && /\d/.test(next ?? '') && !followsName(tokens))) {
      push('number', i + (NUMBER.exec(sql.slice(i))?.[0].length ?? 1));
    } else if (isIdentStart(ch)) {
      let j = i + 1;
      while (isIdentPart(sql[j])) j++;
      push('word', j);
    } else {
      push('symbol', i + (TWO_CHAR_SYMBOLS.has(sql.slice(i, i + 2)) ? 2 : 1));
    }
  }
  return tokens;
}

/** `t.5`-like text: after a name or a closing bracket a dot is a path separator, not a decimal point. */
function followsName(tokens: Token[]): boolean {
  const last = tokens[tokens.length - 1];
  return last !== undefined && (last.kind === 'word' || last.kind === 'quoted' || last.text === ')' || last.text === ']');
}

interface QuotedOptions {
  raw: boolean;
  bytes: boolean;
  /** Where the literal (with its prefix) starts, for error positions. */
  start: number;
}

/** Reads a quoted token whose opening quote is at `at`; returns its decoded content and the offset after it. */
function readQuoted(sql: string, at: number, o: QuotedOptions): { content: Buffer; end: number } {
  const quote = sql[at] ?? "'";
  const triple = quote !== '`' && sql.startsWith(quote.repeat(3), at);
  const closing = triple ? quote.repeat(3) : quote;
  const what = quote === '`' ? 'identifier' : `${o.raw ? 'raw ' : ''}${o.bytes ? 'bytes' : 'string'} literal`;
  const parts: Buffer[] = [];
  const unclosed = (): WarehouseError => sqlError(sql, o.start, `Syntax error: Unclosed ${triple ? 'triple-quoted ' : ''}${what}`);
  let j = at + closing.length;
  for (;;) {
    if (j >= sql.length) throw unclosed();
    const c = sql[j] ?? '';
    if (sql.startsWith(closing, j)) break;
    if (!triple && (c === '\n' || c === '\r')) throw unclosed();
    if (c === '\\') {
      if (j + 1 >= sql.length) throw unclosed();
      if (o.raw) {
        // A raw literal keeps the backslash; it only stops the next character from closing the literal.
        parts.push(Buffer.from(sql.slice(j, j + 2), 'utf8'));
        j += 2;
      } else {
        const escape = decodeEscape(sql, j, o.bytes);
        parts.push(escape.bytes);
        j = escape.end;
      }
      continue;
    }
    const codePoint = sql.codePointAt(j) ?? 0;
    const char = String.fromCodePoint(codePoint);
    parts.push(Buffer.from(char, 'utf8'));
    j += char.length;
  }
  const content = Buffer.concat(parts);
  if (!o.bytes && !isUtf8(content)) throw sqlError(sql, o.start, `Syntax error: ${what} is not valid UTF-8`);
  return { content, end: j + closing.length };
}

function decodeEscape(sql: string, at: number, bytes: boolean): { bytes: Buffer; end: number } {
  const e = sql[at + 1] ?? '';
  const fail = (detail: string): never => {
    throw sqlError(sql, at, `Syntax error: Illegal escape sequence: ${detail}`);
  };
  const simple = SIMPLE_ESCAPES[e];
  if (simple !== undefined) return { bytes: Buffer.from(simple, 'utf8'), end: at + 2 };
  if (/[0-3]/.test(e)) {
    const digits = sql.slice(at + 1, at + 4);
    if (!/^[0-7]{3}$/.test(digits)) fail(`\\${digits}`);
    return { bytes: Buffer.from([parseInt(digits, 8)]), end: at + 4 };
  }
  if (e === 'x' || e === 'X') {
    const hex = sql.slice(at + 2, at + 4);
    if (!/^[0-9a-fA-F]{2}$/.test(hex)) fail(`\\${e}${hex}`);
    return { bytes: Buffer.from([parseInt(hex, 16)]), end: at + 4 };
  }
  if (e === 'u' || e === 'U') {
    if (bytes) fail(`Unicode escape sequence \\${e} cannot be used in bytes literals`);
    const width = e === 'u' ? 4 : 8;
    const hex = sql.slice(at + 2, at + 2 + width);
    const codePoint = /^[0-9a-fA-F]+$/.test(hex) && hex.length === width ? parseInt(hex, 16) : -1;
    if (codePoint < 0 || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) fail(`\\${e}${hex}`);
    return { bytes: Buffer.from(String.fromCodePoint(codePoint), 'utf8'), end: at + 2 + width };
  }
  return fail(`\\${e}`);
}

function isUtf8(content: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(content);
    return true;
  } catch {
    return false;
  }
}

/** The tokens that carry meaning (no spaces, no comments). */
export const significant = (tokens: Token[]): Token[] => tokens.filter((t) => t.kind !== 'space' && t.kind !== 'comment');
