import { BigQueryAnalyzer } from './analyzer';
import type { Analysis } from './analyzer';
import type { BigQueryCatalog } from './catalog';
import { codeCatalog } from './code-catalog';
import { driveBigQueryAdapter } from './drive';
import type { Recorded } from './drive';
import { distinct, recordedStatements, staticStatements } from './statements';
import type { Statement } from './statements';
import type { TableInsertBody } from './table-ddl';
import { installZetaSql, isZetaSqlInstalled } from './zetasql-install';

/**
 * `npm run check:bigquery-sql`: every statement the BigQuery adapter can emit, analyzed by ZetaSQL as
 * BigQuery SQL against the catalog the adapter creates. Statements come from driving the product on the
 * local BigQuery server (drive.ts) and from the files that hold SQL (templates, the flat billing view, the
 * guide). Prints the sources it covered, each error, and `bigquery-sql: N statements analyzed, E errors`;
 * exits 1 on any error or when fewer than MIN_STATEMENTS were found (coverage must not shrink unnoticed).
 * `--verbose` also prints every statement.
 */
const TENANT = 'acme_corp';
const MIN_STATEMENTS = 40;

interface Finding {
  source: string;
  sql: string;
  message: string;
}

async function main(): Promise<number> {
  if (!isZetaSqlInstalled()) installZetaSql();
  const analyzer = await BigQueryAnalyzer.start();
  const { recorded, templates } = await driveBigQueryAdapter(TENANT);
  const catalog = codeCatalog(TENANT, templates);
  const statements = distinct([...recordedStatements(recorded), ...staticStatements(TENANT, templates)]);
  const findings: Finding[] = catalogDrift(catalog, recorded);
  const registered = await analyzer.register(catalog);
  for (const statement of statements) {
    const analysis = await registered.analyze(statement.sql, statement.parameters);
    for (const message of problemsOf(statement, analysis)) findings.push({ source: statement.source, sql: statement.sql, message });
  }
  await registered.release();

  const perSource = new Map<string, number>();
  for (const s of statements) perSource.set(s.source, (perSource.get(s.source) ?? 0) + 1);
  console.log('bigquery-sql: statement sources (distinct statements first seen there)');
  for (const [source, n] of perSource) console.log(`  ${String(n).padStart(3)}  ${source}`);
  if (process.argv.includes('--verbose')) for (const s of statements) console.log(`  [${s.source}] ${oneLine(s.sql)}`);
  for (const f of findings) console.log(`bigquery-sql: ERROR in ${f.source}\n  ${f.message}\n  ${oneLine(f.sql)}`);
  if (statements.length < MIN_STATEMENTS) findings.push({ source: 'coverage', sql: '', message: `only ${statements.length} statements found, expected at least ${MIN_STATEMENTS}` });
  console.log(`bigquery-sql: ${statements.length} statements analyzed, ${findings.length} errors`);
  return findings.length === 0 ? 0 : 1;
}

function problemsOf(statement: Statement, analysis: Analysis): string[] {
  const problems = [...(statement.problems ?? [])];
  if (!analysis.ok) return [...problems, analysis.message];
  const expected = statement.expectColumns;
  if (expected) {
    const got = analysis.outputColumns.map((c) => `${c.name} ${c.type}`).join(', ');
    const want = expected.map((c) => `${c.name} ${c.type === 'FLOAT' ? 'FLOAT64' : c.type}`).join(', ');
    if (got !== want) problems.push(`result columns differ from the layout the templates read:\n    got  ${got}\n    want ${want}`);
  }
  return problems;
}

/** Every table the drive created must be in the derived catalog with the same columns: the catalog is what the adapter creates. */
function catalogDrift(catalog: BigQueryCatalog, recorded: Recorded[]): Finding[] {
  const findings: Finding[] = [];
  for (const { source, request } of recorded) {
    if (request.kind !== 'tablesInsert') continue;
    const body = request.body as TableInsertBody;
    const dataset = /\/datasets\/([^/]+)\/tables$/.exec(request.path)?.[1] ?? '';
    const table = body.tableReference?.tableId ?? '';
    const known = catalog.get({ dataset, table });
    const sent = (body.schema?.fields ?? []).map((f) => `${f.name ?? ''} ${f.type ?? ''} ${f.mode ?? 'NULLABLE'}`).join(', ');
    const derived = known?.fields.map((f) => `${f.name} ${f.type} ${f.mode ?? 'NULLABLE'}`).join(', ');
    if (sent !== derived) {
      findings.push({ source, sql: '', message: `catalog drift: ${dataset}.${table} was created as (${sent}) but the catalog derived from the code has ${derived ? `(${derived})` : 'no such table'}` });
    }
  }
  return findings;
}

const oneLine = (sql: string): string => {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
};

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`bigquery-sql: the check could not run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(2);
  },
);
