import { expect } from 'chai';
import { AppError } from '../../src/shared/errors';
import { runOperatorQuery } from '../../src/warehouse/operator-query';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import type { DuckDbWarehouse } from '../../src/warehouse/duckdb';

/**
 * Red team (SQL area): ADMIN_QUERY_TIMEOUT_MS is enforced only by DuckDB's interrupt, which is checked between
 * vectors. One scalar call over one huge list (list_sort of a 25M-element list) never reaches a check, so the
 * query runs to the end: with a 1 s limit the operator waits ~6-8 s here, and the time (and memory, the instance
 * has no memory_limit below DuckDB's 80 % of RAM default) grows with the list, holding the sandbox connection that
 * every later operator query queues behind. README: "interrupted after ADMIN_QUERY_TIMEOUT_MS".
 * Expected: the answer (422) comes at the limit, e.g. by racing the statement against the signal and replacing the
 * stuck connection.
 */
describe('red team: operator SQL time limit holds for uninterruptible scalar work', () => {
  let owned: TestWarehouse & { warehouse: DuckDbWarehouse };
  before(async () => {
    owned = await createTestDuckDb({ poolSize: 2 });
  });
  after(async () => owned.cleanup());

  it('answers within ~2x the limit even when DuckDB cannot interrupt the statement', async function () {
    this.timeout(60_000);
    const started = Date.now();
    const outcome = await runOperatorQuery(owned.warehouse, 'SELECT len(list_sort(list_reverse(range(25000000)))) AS n', {
      maxRows: 10,
      maxBytesBilled: 1,
      timeoutMs: 1000,
    }).then(
      () => null,
      (err: unknown) => err,
    );
    const elapsed = Date.now() - started;
    expect(outcome).to.be.instanceOf(AppError);
    expect((outcome as AppError).status).to.equal(422);
    expect(elapsed, `answered after ${elapsed} ms with ADMIN_QUERY_TIMEOUT_MS=1000`).to.be.below(2500);
  });
});
