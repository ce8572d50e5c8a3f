import { expect } from 'chai';
import { OPERATOR_QUERY_MAX_ROWS, runOperatorQuery } from '../../src/warehouse/operator-query';
import type { OperatorQueryLimits } from '../../src/warehouse/operator-query';
import { WarehouseError } from '../../src/warehouse/types';
import { caught } from '../helpers/errors';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';

const LIMITS: OperatorQueryLimits = { maxRows: OPERATOR_QUERY_MAX_ROWS, maxBytesBilled: 1024 ** 3, timeoutMs: 30_000 };

describe('operator query (what the endpoint and npm run sql call)', () => {
  let wh: TestWarehouse;

  beforeEach(async () => {
    wh = await createTestDuckDb({ poolSize: 1 });
  });
  afterEach(async () => wh.cleanup());

  it('answers rows and whether they were truncated', async () => {
    expect(await runOperatorQuery(wh.warehouse, 'SELECT 1 AS one', LIMITS)).to.deep.equal({ rows: [{ one: 1 }], truncated: false });
  });

  it('turns each sandbox refusal into a 422 with its own code', async () => {
    const cases: Array<[string, string]> = [
      ['SELECT 1; SELECT 2', 'SQL_NOT_SINGLE_STATEMENT'],
      ['CREATE SCHEMA x', 'SQL_NOT_READ_ONLY'],
      ['SELECT * FROM checkpoint()', 'SQL_FUNCTION_NOT_ALLOWED'],
      [`SELECT * FROM read_text('/etc/hostname')`, 'SQL_FUNCTION_NOT_ALLOWED'],
      [`SELECT * FROM '/etc/hostname'`, 'WAREHOUSE_ERROR'],
      ['SELECT * FROM nowhere', 'WAREHOUSE_ERROR'],
    ];
    for (const [sql, code] of cases) {
      const err = await caught(runOperatorQuery(wh.warehouse, sql, LIMITS));
      expect(err.status, sql).to.equal(422);
      expect(err.code, sql).to.equal(code);
    }
  });

  it('stops a query at ADMIN_QUERY_TIMEOUT_MS with a 422 that names the limit', async () => {
    const err = await caught(runOperatorQuery(wh.warehouse, 'SELECT COUNT(*) AS n FROM range(100000000000000) AS a', { ...LIMITS, timeoutMs: 100 }));
    expect(err.status).to.equal(422);
    expect(err.code).to.equal('WAREHOUSE_ERROR');
    expect(err.message).to.contain('ADMIN_QUERY_TIMEOUT_MS');
    expect(await runOperatorQuery(wh.warehouse, 'SELECT 2 AS two', LIMITS)).to.deep.equal({ rows: [{ two: 2 }], truncated: false });
  });

  it('leaves an unreachable warehouse to the error middleware (503), not a 422', async () => {
    const closed = wh.warehouse;
    await wh.cleanup();
    wh = await createTestDuckDb({ poolSize: 1 });
    let err: unknown;
    await runOperatorQuery(closed, 'SELECT 1 AS one', LIMITS).catch((e: unknown) => {
      err = e;
    });
    expect(err).to.be.instanceOf(WarehouseError);
    expect((err as WarehouseError).reason).to.equal('unavailable');
  });
});
