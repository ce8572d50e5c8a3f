import { expect } from 'chai';
import { sharedAnalyzer } from '../../tools/bigquery-sql/shared-analyzer';
import { warehouseError as rejection } from '../helpers/errors';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * The local BigQuery server analyzes every query with ZetaSQL before DuckDB sees it, so SQL BigQuery would
 * refuse fails here too, through the official client, and nothing runs. Pending where tools/zetasql is
 * not installed (ZETASQL_ANALYSIS=required makes that a failure instead).
 */
describe('the local BigQuery server, as strict about SQL as BigQuery', () => {
  let t: TestBigQuery;
  const orderCount = async (): Promise<number> => Number((await t.server.warehouse.query('SELECT COUNT(*) AS n FROM `shop.orders`')).rows[0]?.['n']);

  before(async function () {
    if (!(await sharedAnalyzer())) this.skip();
    t = await createTestBigQuery();
    await t.warehouse.createDataset('shop');
    await t.warehouse.createTable({ dataset: 'shop', table: 'orders' }, { columns: [{ name: 'id', type: 'STRING' }, { name: 'status', type: 'STRING' }, { name: 'n', type: 'INT64' }] });
  });
  after(async () => t?.cleanup());

  it('answers an unknown column with BigQuery’s invalidQuery message and position', async () => {
    const err = await rejection(t.warehouse.query('SELECT statuz FROM `shop.orders`'));
    expect(err.reason).to.equal('invalid_query');
    expect(err.message).to.include('Unrecognized name: statuz; Did you mean status? at [1:8]');
  });

  it('refuses DuckDB-only SQL the translation would have run, and writes nothing', async () => {
    const err = await rejection(t.warehouse.query("INSERT INTO `shop.orders` (id, n) VALUES ('a', 1) RETURNING id"));
    expect(err.reason).to.equal('invalid_query');
    expect((await rejection(t.warehouse.query('SELECT id::STRING FROM `shop.orders`'))).reason).to.equal('invalid_query');
    expect(await orderCount()).to.equal(0);
  });

  it('type-checks parameters: a STRING bound against an INT64 column is refused, and nothing is deleted', async () => {
    await t.warehouse.query("INSERT INTO `shop.orders` (id, n) VALUES ('b', 2)");
    const err = await rejection(t.warehouse.query('DELETE FROM `shop.orders` WHERE n = @n', { params: { n: 'two' } }));
    expect(err.message).to.include('No matching signature for operator =');
    expect(await orderCount()).to.equal(1);
  });

  it('answers a missing table 404 notFound, as BigQuery words it', async () => {
    const err = await rejection(t.warehouse.query('SELECT 1 FROM `shop.nope`'));
    expect(err.reason).to.equal('not_found');
    expect(err.message).to.include('Not found: Table test-project:shop.nope was not found in location US');
  });

  it('knows tables and views created after it started', async () => {
    await t.warehouse.createTable({ dataset: 'shop', table: 'later' }, { columns: [{ name: 'x', type: 'INT64' }] });
    await t.warehouse.createView({ dataset: 'shop', table: 'later_view' }, 'SELECT x * 2 AS doubled FROM `shop.later`');
    expect((await t.warehouse.query('SELECT doubled FROM `shop.later_view`')).rows).to.deep.equal([]);
    expect((await rejection(t.warehouse.query('SELECT x FROM `shop.later_view`'))).message).to.include('Unrecognized name: x');
  });
});
