import { lexBigQuery, sqlError } from './sql-lexer';
import type { Token } from './sql-lexer';
import { bytesLiteral, isTypedLiteralWord, numberLiteral, stringLiteral, typedLiteral } from './sql-literals';

/**
 * Renders the neutral SQL dialect (BigQuery standard SQL, see types.ts) for DuckDB, token by token
 * (sql-lexer.ts), so text inside literals, comments and quoted identifiers is never rewritten:
 *  - `` `dataset.table` `` → `"dataset"."table"` (a `project.` prefix is dropped: the DuckDB file is the project);
 *  - `@name` → `$name` (the names are returned so only used parameters get bound);
 *  - every literal keeps BigQuery's value and type (sql-literals.ts): `"abc"` is a string, not a column;
 *  - BigQuery functions whose DuckDB namesake differs are renamed to `bq_*` macros (duckdb-macros.ts),
 *    and a bare date part inside them (`DAY`, `MONTH`, …) becomes the string DuckDB expects (`'day'`);
 *  - `CAST(x AS INT64)` style type names become DuckDB types; `SAFE_CAST` → `TRY_CAST`;
 *  - `FROM UNNEST(array) AS x` names the element `x`, as in BigQuery (DuckDB would make `x` a row struct);
 *  - `LIKE 'pattern'` / `LIKE @p` get `ESCAPE '\'`: in BigQuery a backslash escapes `%`, `_` and itself in a
 *    LIKE pattern, in DuckDB only with an ESCAPE clause (any other pattern operand is refused);
 *  - `#` comments become `--`.
 * What DuckDB cannot do the BigQuery way is refused with an `invalid_query` error naming it: `@@system`
 * variables, positional `?` parameters, `UNNEST … WITH OFFSET`, adjacent string literals (`'it''s'` is not an escape in BigQuery),
 * multi-part `INTERVAL '…' … TO …`, `RANGE<…>`, `STRUCT(…)` and typed `ARRAY<…>[…]` literals, and `$`
 * (DuckDB's own parameter and string syntax, which BigQuery text never contains).
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

export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export interface RenderOptions {
  /** Parameters whose reference is wrapped in a cast, e.g. `{ doc: 'JSON' }` → `CAST($doc AS JSON)`. */
  castParams?: Record<string, string>;
}

const isLiteral = (t: Token | undefined): boolean => t?.kind === 'string' || t?.kind === 'bytes';

export function renderDuckDbSql(input: string, options: RenderOptions = {}): RenderedSql {
  const tokens = lexBigQuery(input);
  const params: string[] = [];
  const stack: Array<string | null> = [];
  const refuse = (t: Token, what: string): never => {
    throw sqlError(input, t.start, `Not supported on the embedded warehouse: ${what}`);
  };
  // Index of the next token that carries meaning, so `WORD (` and `DATE '…'` are recognised across spaces.
  const nextIndex = (k: number): number => {
    let j = k + 1;
    while (tokens[j]?.kind === 'space' || tokens[j]?.kind === 'comment') j++;
    return j;
  };
  const elementAliases = unnestAliases(tokens, nextIndex, refuse);
  // Last significant token, upper-cased for words; tells `AS INT64` and `( DAY )` apart.
  let prev = '';
  let out = '';
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k] as Token;
    const after = tokens[nextIndex(k)];
    const likePattern = prev === 'LIKE' && t.kind !== 'space' && t.kind !== 'comment';
    if (likePattern && t.kind !== 'string' && t.kind !== 'param') refuse(t, "LIKE with a pattern that is not a string literal or @parameter (BigQuery's backslash escapes)");
    switch (t.kind) {
      case 'space':
        out += t.text;
        continue;
      case 'comment':
        // DuckDB nests block comments; BigQuery ends one at the first `*/`.
        out += t.text.startsWith('#') ? `--${t.text.slice(1)}` : t.text.startsWith('/*') ? `/*${t.text.slice(2, -2).replace(/\/\*/g, '/ *')}*/` : t.text;
        continue;
      case 'string':
      case 'bytes':
        if (isLiteral(after)) refuse(after as Token, "adjacent string literals (a doubled quote is not an escape in BigQuery: write 'it\\'s')");
        out += t.kind === 'string' ? stringLiteral(input, t) : bytesLiteral(t);
        if (likePattern) out += " ESCAPE '\\'";
        break;
      case 'number':
        out += numberLiteral(input, t);
        break;
      case 'quoted': {
        const parts = (t.value ?? '').split('.');
        out += (parts.length > 2 ? parts.slice(-2) : parts).map(quoteIdent).join('.') + (elementAliases.get(k) ?? '');
        prev = 'IDENT';
        continue;
      }
      case 'param': {
        const name = t.value ?? '';
        if (!params.includes(name)) params.push(name);
        const cast = options.castParams?.[name];
        out += cast === undefined ? `$${name}` : `CAST($${name} AS ${cast})`;
        if (likePattern) out += " ESCAPE '\\'";
        break;
      }
      case 'system':
        return refuse(t, `system variable @@${t.value ?? ''}`);
      case 'word': {
        const upper = t.text.toUpperCase();
        const j = nextIndex(k);
        if (isTypedLiteralWord(upper) && after?.kind === 'string') {
          if (isLiteral(tokens[nextIndex(j)])) refuse(tokens[nextIndex(j)] as Token, 'adjacent string literals');
          out += typedLiteral(input, t, after);
          k = j;
          break;
        }
        checkUnsupportedWord(t, upper, tokens, nextIndex, k, refuse);
        out += renderWord(t.text, upper, after, stack[stack.length - 1] ?? null, prev) + (elementAliases.get(k) ?? '');
        prev = upper;
        continue;
      }
      case 'symbol':
        if (t.text === '?') refuse(t, 'positional query parameter ? (use @name)');
        if (t.text === '$') refuse(t, '$ (not BigQuery syntax)');
        if (t.text === '(') {
          // The frame remembers which function (if any) this parenthesis belongs to.
          stack.push(/^[A-Z_][A-Z0-9_]*$/.test(prev) ? (FUNCTION_RENAMES[prev] ?? prev).toLowerCase() : null);
        } else if (t.text === ')') {
          stack.pop();
        }
        out += t.text;
        prev = t.text;
        continue;
    }
    prev = 'LITERAL';
  }
  return { sql: out, params };
}

function renderWord(word: string, upper: string, after: Token | undefined, fn: string | null, prev: string): string {
  const opensCall = after?.text === '(';
  if (opensCall && FUNCTION_RENAMES[upper] !== undefined) return FUNCTION_RENAMES[upper] ?? word;
  const closesArgument = after?.text === ')' || after?.text === ',';
  if (DATE_PARTS.has(upper) && fn !== null && DATE_PART_FUNCTIONS.has(fn) && (prev === '(' || prev === ',') && closesArgument) {
    return `'${upper.toLowerCase()}'`;
  }
  if (prev === 'AS' && TYPE_RENAMES[upper] !== undefined && !opensCall && CAST_FUNCTIONS.has(fn ?? '')) return TYPE_RENAMES[upper] ?? word;
  return word;
}

/** Literal syntax BigQuery has and DuckDB would read differently (or not at all). */
function checkUnsupportedWord(
  t: Token,
  upper: string,
  tokens: Token[],
  nextIndex: (k: number) => number,
  k: number,
  refuse: (t: Token, what: string) => never,
): void {
  const n1 = nextIndex(k);
  const next = tokens[n1];
  if ((upper === 'RANGE' || upper === 'ARRAY' || upper === 'STRUCT') && next?.text === '<') refuse(t, `typed ${upper}<…> literal`);
  if (upper === 'STRUCT' && next?.text === '(') refuse(t, 'STRUCT(…) constructor');
  if (upper === 'INTERVAL' && next?.kind === 'string') {
    const to = tokens[nextIndex(nextIndex(n1))];
    if (to?.kind === 'word' && to.text.toUpperCase() === 'TO') refuse(t, "INTERVAL '…' … TO … literal with several parts");
  }
}

/** Words that end a FROM item: after `UNNEST(…)` they are not an implicit alias. */
const NOT_AN_ALIAS = new Set(['WITH', 'CROSS', 'JOIN', 'INNER', 'LEFT', 'RIGHT', 'FULL', 'ON', 'USING', 'WHERE', 'GROUP', 'HAVING', 'QUALIFY', 'WINDOW', 'ORDER', 'LIMIT', 'UNION', 'INTERSECT', 'EXCEPT']);

/**
 * `UNNEST(…) AS x` (or `UNNEST(…) x`): BigQuery's `x` is the array element; DuckDB's would be a row
 * `{unnest: …}`. Returns, per alias token, the column list that makes DuckDB name the element `x` too.
 */
function unnestAliases(tokens: Token[], nextIndex: (k: number) => number, refuse: (t: Token, what: string) => never): Map<number, string> {
  const aliases = new Map<number, string>();
  const word = (t: Token | undefined): string => (t?.kind === 'word' ? t.text.toUpperCase() : '');
  tokens.forEach((t, k) => {
    if (word(t) !== 'UNNEST' || tokens[nextIndex(k)]?.text !== '(') return;
    let depth = 0;
    let close = nextIndex(k);
    for (; close < tokens.length; close++) {
      const text = tokens[close]?.text;
      if (text === '(') depth++;
      if (text === ')' && --depth === 0) break;
    }
    let at = nextIndex(close);
    if (word(tokens[at]) === 'AS') at = nextIndex(at);
    const alias = tokens[at];
    const named = alias?.kind === 'quoted' || (alias?.kind === 'word' && !NOT_AN_ALIAS.has(word(alias)));
    if (named) aliases.set(at, `(${alias.kind === 'quoted' ? quoteIdent(alias.value ?? '') : alias.text})`);
    const following = named ? nextIndex(at) : at;
    if (word(tokens[following]) === 'WITH' && word(tokens[nextIndex(following)]) === 'OFFSET') refuse(tokens[following] as Token, 'UNNEST … WITH OFFSET');
  });
  return aliases;
}
