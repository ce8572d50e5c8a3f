/**
 * Finds the `@name` parameters a SQL text uses, skipping string literals, quoted identifiers and
 * comments (so `'ops@example.com'` is not a parameter) and `@@system_variables`. The executor binds
 * exactly these names: DuckDB rejects values for parameters a statement does not have.
 */
export function sqlParamNames(sql: string): string[] {
  const found = new Set<string>();
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i];
    const next = sql[i + 1];
    if (ch === "'" || ch === '"' || ch === '`') {
      i = skipQuoted(sql, i, ch);
    } else if (ch === '-' && next === '-') {
      i = skipUntil(sql, i, '\n');
    } else if (ch === '#') {
      i = skipUntil(sql, i, '\n');
    } else if (ch === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (ch === '@' && next === '@') {
      i += 2;
      while (i < sql.length && /[A-Za-z0-9_.]/.test(sql[i] ?? '')) i++;
    } else if (ch === '@' && /[A-Za-z_]/.test(next ?? '')) {
      let j = i + 1;
      while (j < sql.length && /[A-Za-z0-9_]/.test(sql[j] ?? '')) j++;
      found.add(sql.slice(i + 1, j));
      i = j;
    } else {
      i++;
    }
  }
  return [...found];
}

function skipQuoted(sql: string, start: number, quote: string): number {
  // Triple-quoted BigQuery strings end at the matching triple quote.
  if (quote !== '`' && sql.startsWith(quote.repeat(3), start)) {
    const end = sql.indexOf(quote.repeat(3), start + 3);
    return end < 0 ? sql.length : end + 3;
  }
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (ch === '\\') {
      i += 2;
    } else if (ch === quote) {
      // SQL-standard doubled quote ('it''s') stays inside the literal.
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i++;
    }
  }
  return sql.length;
}

function skipUntil(sql: string, start: number, marker: string): number {
  const end = sql.indexOf(marker, start);
  return end < 0 ? sql.length : end + 1;
}

const PLACEHOLDER = /\{([a-z][a-z0-9_]*)\}/g;

/** The `{placeholder}` names a text uses (anywhere, literals included: that is where they are meant to go). */
export function placeholderNames(text: string): string[] {
  return [...new Set([...text.matchAll(PLACEHOLDER)].map((m) => m[1] ?? ''))];
}

/** Replaces every `{name}` with `values[name]`; the caller checked beforehand that each is known. */
export function replacePlaceholders(text: string, values: Record<string, string>): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => values[name] ?? whole);
}
