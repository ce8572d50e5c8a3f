import { expect } from 'chai';
import type { RegisteredCatalog } from '../../tools/bigquery-sql/analyzer';
import { BigQueryCatalog, scalarType } from '../../tools/bigquery-sql/catalog';
import { analysisMode, sharedAnalyzer } from '../../tools/bigquery-sql/shared-analyzer';
import { tableDdl } from '../../tools/bigquery-sql/table-ddl';

/** ZetaSQL set up as BigQuery: what BigQuery accepts passes, what it refuses fails with its words. */
describe('the BigQuery analyzer (ZetaSQL with BigQuery’s language options)', () => {
  let catalog: RegisteredCatalog | null = null;

  before(async () => {
    const analyzer = await sharedAnalyzer();
    if (!analyzer) return;
    catalog = await analyzer.register(
      new BigQueryCatalog()
        .add({ dataset: 'ds', table: 'runs', fields: [{ name: 'run_id', type: 'STRING' }, { name: 'status', type: 'STRING' }, { name: 'n', type: 'INT64' }, { name: 'day', type: 'DATE' }] })
        .add({ project: 'other-proj', dataset: 'bill', table: 'export', fields: [{ name: 'cost', type: 'FLOAT' }, { name: 'credits', type: 'RECORD', mode: 'REPEATED', fields: [{ name: 'amount', type: 'FLOAT' }] }] }),
    );
  });
  after(async () => catalog?.release());

  const analyze = async (ctx: Mocha.Context, sql: string, params: Record<string, string> = {}) => {
    if (!catalog) return ctx.skip();
    return catalog.analyze(sql, Object.entries(params).map(([name, type]) => ({ name, type: scalarType(type) })));
  };

  describe('accepts what BigQuery runs', () => {
    const valid: Array<[string, string, Record<string, string>?]> = [
      ['a table as one quoted path or as a path of names', 'SELECT a.run_id, b.run_id FROM `ds.runs` AS a JOIN ds.runs AS b USING (run_id)'],
      ['another project’s table, nested fields and UNNEST', 'SELECT SUM(c.amount) FROM `other-proj.bill.export`, UNNEST(credits) AS c'],
      ['QUALIFY with WHERE, typed parameters', 'SELECT run_id FROM `ds.runs` WHERE day = @day QUALIFY ROW_NUMBER() OVER (PARTITION BY status ORDER BY n DESC) = @top', { day: 'DATE', top: 'INT64' }],
      ['MERGE with NOT MATCHED BY SOURCE', "MERGE `ds.runs` AS d USING (SELECT 'a' AS run_id) AS s ON FALSE WHEN NOT MATCHED BY SOURCE AND d.n > 1 THEN DELETE WHEN NOT MATCHED THEN INSERT (run_id) VALUES (s.run_id)"],
      ['CREATE OR REPLACE VIEW and partitioned, clustered CREATE TABLE', 'CREATE TABLE `ds.t2` (day DATE NOT NULL, k STRING) PARTITION BY day CLUSTER BY k OPTIONS(description="x")'],
      ['system variables', 'SELECT @@project_id, @@dataset_id, @@script.bytes_billed'],
      // BigQuery reserves QUALIFY, so it needs no WHERE in front of it (unreserved, ZetaSQL would demand one).
      ['QUALIFY as a reserved keyword, without WHERE', 'SELECT run_id FROM `ds.runs` QUALIFY ROW_NUMBER() OVER (ORDER BY n) = 1'],
    ];
    for (const [what, sql, params] of valid) {
      it(what, async function () {
        expect(await analyze(this, sql, params)).to.deep.include({ ok: true });
      });
    }
  });

  describe('refuses what BigQuery refuses, in BigQuery’s words', () => {
    const invalid: Array<[string, string, string]> = [
      ['an unknown column, with the suggestion and position', 'SELECT statuz FROM `ds.runs`', 'Unrecognized name: statuz; Did you mean status? at [1:8]'],
      ['types BigQuery does not have (PRODUCT_EXTERNAL)', 'SELECT CAST(n AS INT32) FROM `ds.runs`', 'Type not found: INT32 at [1:18]'],
      ['an undeclared parameter', 'SELECT @nope', "Query parameter 'nope' not found at [1:8]"],
      ['a doubled quote', "SELECT 'it''s'", "Syntax error: Expected end of input but got string literal 's' at [1:12]"],
      ['DuckDB syntax', 'SELECT run_id::STRING FROM `ds.runs`', 'Syntax error: Expected end of input but got ":" at [1:14]'],
    ];
    for (const [what, sql, message] of invalid) {
      it(what, async function () {
        expect(await analyze(this, sql)).to.deep.equal({ ok: false, message });
      });
    }
  });
});

describe('tables.insert bodies as BigQuery DDL', () => {
  it('writes the CREATE TABLE with partitioning, clustering and descriptions', () => {
    const ddl = tableDdl('ds', {
      tableReference: { tableId: 't' },
      schema: { fields: [{ name: 'ts', type: 'TIMESTAMP', mode: 'REQUIRED' }, { name: 'k', type: 'STRING', description: 'a "key"' }] },
      timePartitioning: { type: 'DAY', field: 'ts' },
      clustering: { fields: ['k'] },
    });
    expect(ddl).to.deep.equal({
      sql: 'CREATE TABLE `ds.t` (ts TIMESTAMP NOT NULL, k STRING OPTIONS(description="a \\"key\\"")) PARTITION BY TIMESTAMP_TRUNC(ts, DAY) CLUSTER BY k',
      problems: [],
    });
  });

  it('names the partitioning and clustering BigQuery would refuse', () => {
    const ddl = tableDdl('ds', {
      tableReference: { tableId: 't' },
      schema: { fields: [{ name: 's', type: 'STRING' }, { name: 'f', type: 'FLOAT64' }, { name: 'j', type: 'JSON' }] },
      timePartitioning: { type: 'DAY', field: 's' },
      clustering: { fields: ['f', 'j', 's', 'missing', 's'] },
    });
    expect(ddl.problems).to.deep.equal([
      'timePartitioning field "s" must be a DATE, TIMESTAMP or DATETIME column',
      'clustering has 5 fields; BigQuery allows at most 4',
      'clustering field "f" must be a top-level, non-repeated column of a clusterable type (not FLOAT64)',
      'clustering field "j" must be a top-level, non-repeated column of a clusterable type (not JSON)',
      'clustering field "missing" must be a top-level, non-repeated column of a clusterable type (not missing)',
    ]);
  });
});

describe('ZETASQL_ANALYSIS', () => {
  it('is auto by default and takes required or off, refusing anything else by name', () => {
    expect(analysisMode({})).to.equal('auto');
    expect(analysisMode({ ZETASQL_ANALYSIS: 'REQUIRED' })).to.equal('required');
    expect(analysisMode({ ZETASQL_ANALYSIS: 'off' })).to.equal('off');
    expect(() => analysisMode({ ZETASQL_ANALYSIS: 'yes' })).to.throw('ZETASQL_ANALYSIS must be auto, required or off (got "yes")');
  });
});
