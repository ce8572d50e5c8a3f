import { expect } from 'chai';
import { renderDuckDbSql } from '../../src/warehouse/sql-dialect';
import type { WarehouseError } from '../../src/warehouse/types';
import { warehouseError } from '../helpers/errors';

const render = (sql: string): string => renderDuckDbSql(sql).sql;

/** The refusal a text gets: an invalid_query WarehouseError. */
async function refusal(sql: string): Promise<WarehouseError> {
  const err = await warehouseError(() => render(sql));
  expect(err.reason).to.equal('invalid_query');
  return err;
}

describe('sql dialect for duckdb', () => {
  describe('table references', () => {
    it('renders `dataset.table` as quoted schema and table', () => {
      expect(render('SELECT * FROM `acme_corp.x_meta_pipeline_runs`')).to.equal('SELECT * FROM "acme_corp"."x_meta_pipeline_runs"');
    });

    it('drops the project of `project.dataset.table`', () => {
      expect(render('SELECT 1 FROM `my-proj.ds.t`')).to.equal('SELECT 1 FROM "ds"."t"');
    });
  });

  describe('parameters', () => {
    it('renders @name as $name and reports each name once', () => {
      expect(renderDuckDbSql('SELECT @a, @b_2 WHERE x = @a')).to.deep.equal({ sql: 'SELECT $a, $b_2 WHERE x = $a', params: ['a', 'b_2'] });
    });

    it('refuses @@ system variables, naming them and where they are', async () => {
      expect((await refusal('SELECT @@project_id')).message).to.equal('Not supported on the embedded warehouse: system variable @@project_id at [1:8]');
    });

    it('wraps a parameter in a cast when asked', () => {
      expect(renderDuckDbSql('SELECT @doc', { castParams: { doc: 'JSON' } }).sql).to.equal('SELECT CAST($doc AS JSON)');
    });
  });

  describe('text that must not change', () => {
    it('skips string literals', () => {
      expect(render("SELECT '@x `a.b` DATE_SUB(' AS s")).to.equal("SELECT '@x `a.b` DATE_SUB(' AS s");
    });

    it('refuses a doubled quote, which BigQuery reads as two adjacent literals, not as an escape', async () => {
      expect((await refusal("SELECT 'it''s' AS t")).message).to.match(/^Not supported on the embedded warehouse: adjacent string literals .* at \[1:12\]$/);
    });

    it('turns BigQuery backslash escapes into DuckDB quoting', () => {
      expect(render("SELECT 'it\\'s', 'a\\\\b'")).to.equal("SELECT 'it''s', 'a\\b'");
    });

    it('skips comments, and reads double-quoted text as the BigQuery string it is', () => {
      expect(render('SELECT "@x" -- @y `a.b`\n/* @z */ FROM t')).to.equal("SELECT '@x' -- @y `a.b`\n/* @z */ FROM t");
    });

    it('turns # comments into -- comments', () => {
      expect(render('SELECT 1 # note @p\n')).to.equal('SELECT 1 -- note @p\n');
    });
  });

  describe('BigQuery functions', () => {
    it('renames date functions to the bq_ macros and quotes bare date parts', () => {
      expect(render('SELECT DATE_TRUNC(d, MONTH), TIMESTAMP_DIFF(a, b, SECOND), date_sub(d, INTERVAL 1 DAY)')).to.equal(
        "SELECT bq_date_trunc(d, 'month'), bq_timestamp_diff(a, b, 'second'), bq_date_sub(d, INTERVAL 1 DAY)",
      );
    });

    it('leaves a column named like a date part alone outside those functions', () => {
      expect(render('SELECT COALESCE(x, day), day FROM t')).to.equal('SELECT COALESCE(x, day), day FROM t');
    });

    it('maps type names inside casts only', () => {
      expect(render('SELECT SAFE_CAST(x AS INT64), CAST(y AS FLOAT64) AS numeric, CAST(z AS NUMERIC)')).to.equal(
        'SELECT TRY_CAST(x AS BIGINT), CAST(y AS DOUBLE) AS numeric, CAST(z AS DECIMAL(38,9))',
      );
    });
  });
});
