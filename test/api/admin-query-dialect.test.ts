import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** The admin query endpoint reads its SQL as BigQuery SQL: the same answer as BigQuery, or a 422 naming what it cannot do. */
describe('the admin query endpoint and BigQuery literals', () => {
  let t: TestSystem;
  const sql = (text: string) => t.request.post('/api/v1/admin/warehouse/query').set('X-Admin-Key', t.adminKey).send({ sql: text });

  before(async () => {
    t = await startTestSystem();
    await onboard(t, 'acme_corp', 'PROFESSIONAL');
  });
  after(async () => t.close());

  it('matches a double-quoted string as the BigQuery string it is', async () => {
    const res = await sql('SELECT tenant_id, subscription_plan FROM `tenants.tenant_profiles` WHERE tenant_id = "acme_corp"');
    expect(res.status).to.equal(200);
    expect(res.body.rows).to.deep.equal([{ tenant_id: 'acme_corp', subscription_plan: 'PROFESSIONAL' }]);
  });

  it('answers 422 WAREHOUSE_ERROR naming a construct the embedded warehouse cannot run', async () => {
    const res = await sql('SELECT @@project_id AS project');
    expect(res.status).to.equal(422);
    expect(res.body.code).to.equal('WAREHOUSE_ERROR');
    expect(res.body.detail).to.equal('Not supported on the embedded warehouse: system variable @@project_id at [1:8]');
  });

  it('answers 422 for a doubled quote, which BigQuery does not read as an escape, instead of matching "it\'s"', async () => {
    const res = await sql("SELECT tenant_id FROM `tenants.tenant_profiles` WHERE company_name = 'acme_corp''s'");
    expect(res.status).to.equal(422);
    expect(res.body.code).to.equal('WAREHOUSE_ERROR');
    expect(res.body.detail).to.match(/adjacent string literals/);
  });

  it('answers 422 with the position for an unclosed string', async () => {
    const res = await sql("SELECT 'open");
    expect(res.status).to.equal(422);
    expect(res.body.detail).to.equal('Syntax error: Unclosed string literal at [1:8]');
  });
});
