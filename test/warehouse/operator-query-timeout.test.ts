import { expect } from 'chai';
import { AppError } from '../../src/shared/errors';
import { runOperatorQuery } from '../../src/warehouse/operator-query';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import type { DuckDbWarehouse } from '../../src/warehouse/duckdb';

/**
 * ADMIN_QUERY_TIMEOUT_MS against work DuckDB cannot interrupt: its interrupt is checked between vectors, and one
 * scalar call over one huge list (list_sort of a 15M-element list, ~10 s on this 2-core machine when quiet, twice
 * the 5 s the next query may take) never reaches a check. The answer still comes at the limit, and the sandbox
 * connection the statement holds is retired, so the next operator query does not queue behind it.
 */
describe('operator query time limit on work DuckDB cannot interrupt', () => {
  let owned: TestWarehouse & { warehouse: DuckDbWarehouse };
  before(async () => {
    owned = await createTestDuckDb({ poolSize: 2 });
  });
  after(async function () {
    // Closing waits for the statement nothing interrupts: ~10 s on a quiet machine, several times that on a busy one.
    this.timeout(180_000);
    await owned.cleanup();
  });

  it('answers 422 at about the limit, and the next operator query runs at once', async function () {
    this.timeout(60_000);
    const limits = { maxRows: 10, maxBytesBilled: 1, timeoutMs: 1000 };
    const started = Date.now();
    const outcome = await runOperatorQuery(owned.warehouse, 'SELECT len(list_sort(list_reverse(range(15000000)))) AS n', limits).then(
      () => null,
      (err: unknown) => err,
    );
    const elapsed = Date.now() - started;
    expect(outcome).to.be.instanceOf(AppError);
    expect((outcome as AppError).status).to.equal(422);
    expect((outcome as AppError).message).to.contain('ADMIN_QUERY_TIMEOUT_MS');
    expect(elapsed, `answered after ${elapsed} ms with ADMIN_QUERY_TIMEOUT_MS=1000`).to.be.below(2500);
    expect(await runOperatorQuery(owned.warehouse, 'SELECT 1 AS one', { ...limits, timeoutMs: 30_000 })).to.deep.equal({ rows: [{ one: 1 }], truncated: false });
    const next = Date.now() - started;
    expect(next, `the next query answered ${next} ms after the first started`).to.be.below(5000);
  });
});
