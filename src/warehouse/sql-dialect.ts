/**
 * Renders the neutral SQL dialect (BigQuery standard SQL, see types.ts) for DuckDB.
 *
 * One pass over the text with a small tokenizer, so string literals, comments and quoted
 * identifiers are never rewritten:
 *  - `` `dataset.table` `` → `"dataset"."table"` (a `project.` prefix is dropped: the DuckDB file is the project);
 *  - `@name` → `$name` (the names are returned so only used parameters get bound); `@@x` is left alone;
 *  - BigQuery functions whose DuckDB namesake differs are renamed to `bq_*` macros (duckdb-macros.ts),
 *    and a bare date part inside them (`DAY`, `MONTH`, …) becomes the string DuckDB expects (`'day'`);
 *  - `CAST(x AS INT64)` style type names become DuckDB types; `SAFE_CAST` → `TRY_CAST`;
 *  - `#` comments become `--`; `\'` and `\\` escapes inside '…' literals become DuckDB's `''` and `\`.
 * Double-quoted text is treated as a quoted identifier (DuckDB's meaning), not a BigQuery string.
 */

/** BigQuery function → DuckDB function or macro. */
const FUNCTION_RENAMES: Record<string, string> = {
  DATE_ADD: 'bq_date_add',
  DATE_SUB: 'bq_date_sub',
  DATE_DIFF: 'bq_date_diff',
  DATE_TRUNC: 'bq_date_trunc',
  TIMESTAMP_ADD: 'bq_timestamp_add',
  TIMESTAMP_SUB: 'bq_timestamp_sub',
  TIMESTAMP_DIFF: 'bq_timestamp_diff',
  TIMESTAMP_TRUNC: 'bq_timestamp_trunc',
  FORMAT_DATE: 'bq_format_date',
  FORMAT_TIMESTAMP: 'bq_format_timestamp',
  PARSE_DATE: 'bq_parse_date',
  PARSE_TIMESTAMP: 'bq_parse_timestamp',
  SAFE_CAST: 'TRY_CAST',
  COUNTIF: 'count_if',
  LOGICAL_AND: 'bool_and',
  LOGICAL_OR: 'bool_or',
  TO_JSON_STRING: 'bq_to_json_string',
};

/** Functions whose arguments may be a bare date part. */
const DATE_PART_FUNCTIONS = new Set(['bq_date_diff', 'bq_date_trunc', 'bq_timestamp_diff', 'bq_timestamp_trunc']);
const DATE_PARTS = new Set([
  'MICROSECOND', 'MILLISECOND', 'SECOND', 'MINUTE', 'HOUR', 'DAY', 'WEEK', 'ISOWEEK', 'MONTH', 'QUARTER', 'YEAR', 'ISOYEAR',
]);

const CAST_FUNCTIONS = new Set(['cast', 'try_cast']);

/** BigQuery type names after `AS` inside CAST(…) / SAFE_CAST(…) (never an alias elsewhere). */
const TYPE_RENAMES: Record<string, string> = {
  INT64: 'BIGINT',
  FLOAT64: 'DOUBLE',
  NUMERIC: 'DECIMAL(38,9)',
  BIGNUMERIC: 'DECIMAL(38,9)',
  BYTES: 'BLOB',
  STRING: 'VARCHAR',
  BOOL: 'BOOLEAN',
  TIMESTAMP: 'TIMESTAMPTZ',
};

export interface RenderedSql {
  sql: string;
  /** Parameter names the text refers to (without `@`), in first-use order. */
  params: string[];
}

const isIdentStart = (ch: string): boolean => /[A-Za-z_]/.test(ch);
const isIdentPart = (ch: string): boolean => /[A-Za-z0-9_]/.test(ch);

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

interface Frame {
  fn: string | null;
}

export interface RenderOptions {
  /** Parameters whose reference is wrapped in a cast, e.g. `{ doc: 'JSON' }` → `CAST($doc AS JSON)`. */
  castParams?: Record<string, string>;
}

export function renderDuckDbSql(input: string, options: RenderOptions = {}): RenderedSql {
  let out = '';
  let i = 0;
  const params: string[] = [];
  const stack: Frame[] = [];
  // Last significant token, upper-cased for words; lets us tell `AS INT64` and `( DAY )` apart.
  let prev = '';

  const nextSignificant = (from: number): string => {
    let j = from;
    while (j < input.length && /\s/.test(input[j] ?? '')) j++;
    return input[j] ?? '';
  };

  while (i < input.length) {
    const ch = input[i] ?? '';
    const next = input[i + 1] ?? '';

    if (ch === "'") {
      const end = readQuoted(input, i, "'");
      out += "'" + convertStringBody(input.slice(i + 1, end - 1)) + "'";
      i = end;
      prev = 'LITERAL';
    } else if (ch === '"') {
      const end = readQuoted(input, i, '"');
      out += input.slice(i, end);
      i = end;
      prev = 'IDENT';
    } else if (ch === '`') {
      const close = input.indexOf('`', i + 1);
      const end = close === -1 ? input.length : close;
      const parts = input.slice(i + 1, end).split('.');
      const kept = parts.length > 2 ? parts.slice(-2) : parts;
      out += kept.map(quoteIdent).join('.');
      i = end + 1;
      prev = 'IDENT';
    } else if ((ch === '-' && next === '-') || ch === '#') {
      const nl = input.indexOf('\n', i);
      const end = nl === -1 ? input.length : nl;
      out += ch === '#' ? '--' + input.slice(i + 1, end) : input.slice(i, end);
      i = end;
    } else if (ch === '/' && next === '*') {
      const close = input.indexOf('*/', i + 2);
      const end = close === -1 ? input.length : close + 2;
      out += input.slice(i, end);
      i = end;
    } else if (ch === '@' && next === '@') {
      let j = i + 2;
      while (j < input.length && isIdentPart(input[j] ?? '')) j++;
      out += input.slice(i, j);
      i = j;
      prev = 'IDENT';
    } else if (ch === '@' && isIdentStart(next)) {
      let j = i + 1;
      while (j < input.length && isIdentPart(input[j] ?? '')) j++;
      const name = input.slice(i + 1, j);
      if (!params.includes(name)) params.push(name);
      const cast = options.castParams?.[name];
      out += cast === undefined ? '$' + name : `CAST($${name} AS ${cast})`;
      i = j;
      prev = 'PARAM';
    } else if (isIdentStart(ch)) {
      let j = i;
      while (j < input.length && isIdentPart(input[j] ?? '')) j++;
      const word = input.slice(i, j);
      const upper = word.toUpperCase();
      const after = nextSignificant(j);
      const frame = stack[stack.length - 1];
      if (after === '(' && FUNCTION_RENAMES[upper] !== undefined) {
        out += FUNCTION_RENAMES[upper];
      } else if (
        DATE_PARTS.has(upper) &&
        frame?.fn !== undefined &&
        frame.fn !== null &&
        DATE_PART_FUNCTIONS.has(frame.fn) &&
        (prev === '(' || prev === ',') &&
        (after === ')' || after === ',')
      ) {
        out += `'${upper.toLowerCase()}'`;
      } else if (prev === 'AS' && TYPE_RENAMES[upper] !== undefined && after !== '(' && CAST_FUNCTIONS.has(frame?.fn ?? '')) {
        out += TYPE_RENAMES[upper];
      } else {
        out += word;
      }
      i = j;
      prev = upper;
    } else if (ch === '(') {
      // The frame remembers which function (if any) this parenthesis belongs to.
      const fnWord = /^[A-Z_][A-Z0-9_]*$/.test(prev) ? (FUNCTION_RENAMES[prev] ?? prev).toLowerCase() : null;
      stack.push({ fn: fnWord });
      out += ch;
      i++;
      prev = '(';
    } else if (ch === ')') {
      stack.pop();
      out += ch;
      i++;
      prev = ')';
    } else {
      out += ch;
      i++;
      if (!/\s/.test(ch)) prev = ch;
    }
  }
  return { sql: out, params };
}

/** Index just past the closing quote (a doubled quote or a backslash escape does not close). */
function readQuoted(input: string, start: number, quote: string): number {
  let j = start + 1;
  while (j < input.length) {
    const c = input[j];
    if (c === '\\' && quote === "'") {
      j += 2;
      continue;
    }
    if (c === quote) {
      if (input[j + 1] === quote) {
        j += 2;
        continue;
      }
      return j + 1;
    }
    j++;
  }
  return input.length;
}

function convertStringBody(body: string): string {
  return body.replace(/\\(['\\])/g, (_m, c: string) => (c === "'" ? "''" : '\\'));
}
