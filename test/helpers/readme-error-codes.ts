/**
 * README's "Error codes" tables, read as rows: test/unit/error-codes-documented.test.ts holds them to the codes src/
 * answers, test/api/openapi-errors.test.ts holds /openapi.json to them.
 */

export interface ReadmeRow {
  code: string;
  /** The statuses of an HTTP row; null in the table of codes that are never an HTTP answer. */
  statuses: number[] | null;
  line: number;
}

/** The rows of the tables under README's "## Error codes" (until the next `## `); a table names its columns in its header. */
export function readmeErrorRows(readme: string): ReadmeRow[] {
  const lines = readme.split('\n');
  const start = lines.findIndex((l) => l.trim() === '## Error codes');
  if (start < 0) throw new Error('README.md has no "## Error codes" section');
  const next = lines.findIndex((l, i) => i > start && l.startsWith('## '));
  const rows: ReadmeRow[] = [];
  let header: string[] | null = null;
  for (let i = start + 1; i < (next < 0 ? lines.length : next); i += 1) {
    const line = (lines[i] ?? '').trim();
    if (!line.startsWith('|')) {
      header = null;
      continue;
    }
    const cells = line.slice(1, -1).split('|').map((c) => c.trim());
    if (!header) {
      header = cells.map((c) => c.toLowerCase());
      if (!header.includes('code')) throw new Error(`README.md:${i + 1}: an error-code table without a "code" column`);
      continue;
    }
    if (cells.every((c) => /^:?-+:?$/.test(c))) continue;
    const code = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[header.indexOf('code')] ?? '')?.[1];
    if (!code) throw new Error(`README.md:${i + 1}: the code cell must be one \`CODE\``);
    const statusCell = header.includes('status') ? cells[header.indexOf('status')] ?? '' : null;
    const statuses = statusCell === null ? null : [...statusCell.matchAll(/\b[1-5]\d\d\b/g)].map((m) => Number(m[0])).sort();
    rows.push({ code, statuses, line: i + 1 });
  }
  return rows;
}
