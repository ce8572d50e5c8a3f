import type { DuckDbWarehouse } from '../../../src/warehouse/duckdb';
import type { SchemaField } from '../../../src/warehouse/bigquery-values';
import type { Analysis, BigQueryAnalyzer, RegisteredCatalog } from '../../../tools/bigquery-sql/analyzer';
import { BigQueryCatalog, restParameterType } from '../../../tools/bigquery-sql/catalog';
import type { RestParameterType } from '../../../tools/bigquery-sql/catalog';
import type { NamedType } from '../../../tools/bigquery-sql/protos';
import { RestError } from './encoding';

/**
 * Makes the fake BigQuery server as strict as Google about SQL: every query is analyzed by ZetaSQL with
 * BigQuery's language options against the tables and views the server holds at that moment, before it
 * runs on DuckDB. Invalid BigQuery SQL answers 400 invalidQuery with BigQuery's message, even when the
 * DuckDB translation would have run it.
 *
 * The catalog is registered once and kept until a table, view or dataset changes (`invalidate`); a
 * replaced registration is released on the ZetaSQL server when no analysis uses it any more. Verdicts are
 * remembered per registration (same text and parameter types, same catalog: same verdict), so a statement
 * sent thousands of times costs one analysis, not one ZetaSQL round trip each.
 */
interface Registration {
  catalog: Promise<RegisteredCatalog>;
  users: number;
  retired: boolean;
  /** Analyses against this catalog by text and parameter types: the same text analyzes the same way until it changes. */
  results: Map<string, Promise<Analysis>>;
}

/** Distinct statements remembered per catalog (a benchmark sends the same few thousands of times). */
const MAX_REMEMBERED = 10_000;

export class QueryAnalysis {
  private current: Registration | null = null;
  /** Bumped whenever the catalog may have changed: what was validated under an older generation is checked again. */
  generation = 0;

  constructor(
    private readonly where: { projectId: string; location: string },
    private readonly warehouse: DuckDbWarehouse,
    /** The schema a table was created with over REST (exact BigQuery types), when it was. */
    private readonly restSchema: (dataset: string, table: string) => SchemaField[] | undefined,
    private readonly analyzer: Promise<BigQueryAnalyzer | null>,
  ) {}

  /** Resolves once the analyzer is up (or known to be off); rejects when it is required but missing. */
  async ready(): Promise<void> {
    await this.analyzer;
  }

  invalidate(): void {
    const old = this.current;
    this.current = null;
    this.generation++;
    if (!old) return;
    old.retired = true;
    if (old.users === 0) release(old);
  }

  async check(sql: string, parameters: Array<{ name?: string; parameterType?: RestParameterType }> = []): Promise<void> {
    const analyzer = await this.analyzer;
    if (!analyzer) return;
    const registration = (this.current ??= { catalog: this.register(analyzer), users: 0, retired: false, results: new Map() });
    registration.users++;
    try {
      const named: NamedType[] = parameters.map((p) => ({ name: p.name ?? '', type: restParameterType(p.parameterType ?? {}) }));
      const catalog = await registration.catalog.catch((err: unknown) => {
        // A registration that failed is not kept: the next query tries again.
        if (this.current === registration) this.current = null;
        throw err;
      });
      const key = `${JSON.stringify(named)}\n${sql}`;
      let analysis = registration.results.get(key);
      if (!analysis) {
        if (registration.results.size >= MAX_REMEMBERED) registration.results.clear();
        analysis = catalog.analyze(sql, named);
        registration.results.set(key, analysis);
        // A failed call (not a verdict on the SQL) is not remembered.
        analysis.catch(() => registration.results.delete(key));
      }
      const result = await analysis;
      if (!result.ok) throw this.restError(result.message);
    } finally {
      registration.users--;
      if (registration.retired && registration.users === 0) release(registration);
    }
  }

  /** BigQuery answers a missing table with 404 notFound (no suggestions), anything else with 400 invalidQuery. */
  private restError(message: string): RestError {
    const missing = /^Table not found: `?([^`;\s]+)`?/.exec(message)?.[1];
    if (missing === undefined) return new RestError(400, 'invalidQuery', message);
    const name = missing.split('.').length === 3 ? missing.replace('.', ':') : `${this.where.projectId}:${missing}`;
    return new RestError(404, 'notFound', `Not found: Table ${name} was not found in location ${this.where.location}`);
  }

  private async register(analyzer: BigQueryAnalyzer): Promise<RegisteredCatalog> {
    const { rows } = await this.warehouse.query(
      `SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns
       WHERE table_catalog = current_database() AND table_schema NOT IN ('main', 'information_schema', 'pg_catalog')
       ORDER BY table_schema, table_name, ordinal_position`,
    );
    const tables = new Map<string, { dataset: string; table: string; fields: SchemaField[] }>();
    for (const r of rows) {
      const dataset = String(r['table_schema']);
      const table = String(r['table_name']);
      const key = `${dataset}.${table}`;
      const entry = tables.get(key) ?? { dataset, table, fields: [] };
      tables.set(key, entry);
      entry.fields.push({ name: String(r['column_name']), ...duckDbTypeAsField(String(r['data_type'])) });
    }
    const catalog = new BigQueryCatalog();
    for (const t of tables.values()) catalog.add({ dataset: t.dataset, table: t.table, fields: this.restSchema(t.dataset, t.table) ?? t.fields });
    return analyzer.register(catalog);
  }
}

function release(registration: Registration): void {
  registration.catalog.then((c) => c.release()).catch(() => undefined);
}

/** A view's column type as DuckDB reports it, in BigQuery terms (the same mapping the server's result schemas use). */
function duckDbTypeAsField(text: string): Pick<SchemaField, 'type' | 'mode'> {
  if (text.endsWith('[]')) return { type: duckDbTypeAsField(text.slice(0, -2)).type, mode: 'REPEATED' };
  const t = text.toUpperCase();
  if (/^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT)$/.test(t)) return { type: 'INT64' };
  if (t === 'FLOAT' || t === 'DOUBLE') return { type: 'FLOAT64' };
  if (t.startsWith('DECIMAL')) return { type: 'NUMERIC' };
  if (t === 'BOOLEAN') return { type: 'BOOL' };
  if (t === 'DATE') return { type: 'DATE' };
  if (t.startsWith('TIMESTAMP')) return { type: 'TIMESTAMP' };
  if (t === 'JSON') return { type: 'JSON' };
  if (t === 'BLOB') return { type: 'BYTES' };
  return { type: 'STRING' };
}
