import { expect } from 'chai';
import type { WarehouseError } from '../../src/warehouse/types';
import type { DuckDbWarehouse } from '../../src/warehouse/duckdb';
import type { RegisteredCatalog } from '../../tools/bigquery-sql/analyzer';
import { BigQueryCatalog, columnsAsFields, scalarType } from '../../tools/bigquery-sql/catalog';
import { sharedAnalyzer } from '../../tools/bigquery-sql/shared-analyzer';
import { warehouseError } from '../helpers/errors';
import { createTestDuckDb } from '../helpers/warehouse';
import { CORPUS, DATASET, ITEMS, ITEM_ROWS, MALFORMED, REFUSED } from './differential-corpus';

/**
 * The DuckDB translation against BigQuery itself: every query of the corpus must be valid BigQuery
 * (ZetaSQL, with BigQuery's language options) and return, through the DuckDB adapter, the rows BigQuery
 * returns. BigQuery SQL the translation cannot reproduce must be refused naming the construct, never
 * answered differently. The ZetaSQL halves are pending (not passed) where tools/zetasql is not installed.
 */
describe('the DuckDB translation, differentially against BigQuery', function () {
  let duck: { warehouse: DuckDbWarehouse; cleanup(): Promise<void> };
  let bigquery: RegisteredCatalog | null = null;

  before(async () => {
    duck = await createTestDuckDb();
    await duck.warehouse.createDataset(DATASET);
    await duck.warehouse.createTable({ dataset: DATASET, table: 'items' }, ITEMS);
    await duck.warehouse.insertRows({ dataset: DATASET, table: 'items' }, ITEM_ROWS);
    const analyzer = await sharedAnalyzer();
    const catalog = new BigQueryCatalog().add({ dataset: DATASET, table: 'items', fields: columnsAsFields(ITEMS.columns) });
    bigquery = analyzer ? await analyzer.register(catalog) : null;
  });
  after(async () => {
    await bigquery?.release();
    await duck.cleanup();
  });

  async function analyze(ctx: Mocha.Context, sql: string, paramTypes: Record<string, string> = {}) {
    if (!bigquery) return ctx.skip();
    return bigquery.analyze(sql, Object.entries(paramTypes).map(([name, type]) => ({ name, type: scalarType(type) })));
  }

  async function refusal(sql: string): Promise<WarehouseError> {
    const err = await warehouseError(duck.warehouse.query(sql));
    expect(err.reason, sql).to.equal('invalid_query');
    return err;
  }

  for (const c of CORPUS) {
    describe(c.name, () => {
      it('is valid BigQuery', async function () {
        const result = await analyze(this, c.sql, c.paramTypes);
        expect(result, c.sql).to.deep.include({ ok: true });
      });

      it('returns BigQuery’s rows on DuckDB', async () => {
        const { rows } = await duck.warehouse.query(c.sql, { ...(c.params ? { params: c.params } : {}), ...(c.paramTypes ? { paramTypes: c.paramTypes } : {}) });
        expect(rows).to.deep.equal(c.rows);
      });
    });
  }

  describe('BigQuery SQL the translation cannot reproduce', () => {
    for (const c of REFUSED) {
      it(`refuses ${c.name}, naming it (and it is valid BigQuery)`, async function () {
        expect((await refusal(c.sql)).message).to.match(c.names).and.match(/^Not supported on the embedded warehouse: .* at \[\d+:\d+\]$/);
        expect(await analyze(this, c.sql), c.sql).to.deep.include({ ok: true });
      });
    }
  });

  describe('malformed literals', () => {
    for (const sql of MALFORMED) {
      it(`are refused by both BigQuery and the translation: ${JSON.stringify(sql)}`, async function () {
        await refusal(sql);
        expect(await analyze(this, sql), sql).to.deep.include({ ok: false });
      });
    }
  });
});
