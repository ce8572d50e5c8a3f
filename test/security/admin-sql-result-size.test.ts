import { expect } from 'chai';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * The operator query caps bytes as well as rows: 10,000 rows of ~60 KB (a wide JSON or text column, `repeat`) are
 * ~600 MB of JS strings, past V8's longest string when the answer is serialised (a 500), and a few times more
 * exhausts the heap (the process dies). SPEC §3: "No route ever answers 500 for bad input". Reading stops before
 * the row that would pass ADMIN_QUERY_MAX_RESULT_BYTES (`truncated: true`), and the server keeps answering.
 */
describe('operator SQL result size: bounded in bytes, not only rows', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem();
  });
  after(async () => t.close());

  it('answers 10,000 rows of 60 KB each with the rows that fit in 32 MiB and truncated: true, never 500', async function () {
    this.timeout(120_000);
    const res = await t.request
      .post('/api/v1/admin/warehouse/query')
      .set('X-Admin-Key', t.adminKey)
      .send({ sql: "SELECT repeat('x', 60000) AS s FROM range(10000)" });
    expect(res.status, `status ${res.status}: ${res.text.slice(0, 200)}`).to.equal(200);
    expect(res.body.truncated).to.equal(true);
    expect(res.body.rows.length).to.be.within(500, 560);
    expect(res.text.length).to.be.below(33 * 1024 * 1024);
    const after = await t.request.post('/api/v1/admin/warehouse/query').set('X-Admin-Key', t.adminKey).send({ sql: 'SELECT 1 AS one' });
    expect(after.body.rows).to.deep.equal([{ one: 1 }]);
  });
});
