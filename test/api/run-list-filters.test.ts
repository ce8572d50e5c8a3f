import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * GET /api/v1/pipelines/runs with a filter must list every matching run, including PENDING ones that only
 * live in Redis (README: "PENDING ones are not in the warehouse yet").
 */
describe('run list filters and PENDING runs', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    // API only: admitted runs stay PENDING (no worker), as when the workers are saturated.
    t = await startTestSystem({ role: 'api' });
    key = await onboard(t, 'list_corp', 'PROFESSIONAL');
  });
  after(async () => t.close());

  it('lists a PENDING run filtered by pipeline_id even when newer runs of another pipeline exist', async () => {
    const dry = await t.request.post('/api/v1/pipelines/run/list_corp/gcp/cost/dryrun').set('X-API-Key', key).send({});
    expect(dry.status).to.equal(202);
    for (const date of ['2025-01-01', '2025-01-02']) {
      const r = await t.request.post('/api/v1/pipelines/run/list_corp/gcp/cost/billing_cost').set('X-API-Key', key).send({ date });
      expect(r.status).to.equal(202);
    }
    const res = await t.request.get('/api/v1/pipelines/runs').query({ pipeline_id: 'list_corp-gcp-cost-dryrun', limit: 1 }).set('X-API-Key', key);
    expect(res.status).to.equal(200);
    const ids = (res.body.runs as Array<{ pipeline_logging_id: string }>).map((r) => r.pipeline_logging_id);
    expect(ids).to.deep.equal([dry.body.pipeline_logging_id]);
  });

  it('lists the PENDING run on status=PENDING when newer runs of the tenant have ended', async () => {
    const pending = await t.request.post('/api/v1/pipelines/run/list_corp/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: '2025-02-01' });
    expect(pending.status).to.equal(202);
    // Cancel every other live run: they end CANCELLED (newer than nothing, but the next two are newer).
    const list = await t.request.get('/api/v1/pipelines/runs').query({ limit: 10 }).set('X-API-Key', key);
    for (const r of list.body.runs as Array<{ pipeline_logging_id: string; status: string }>) {
      if (r.pipeline_logging_id !== pending.body.pipeline_logging_id && r.status === 'PENDING') {
        expect((await t.request.delete(`/api/v1/pipelines/runs/${r.pipeline_logging_id}`).set('X-API-Key', key)).status).to.equal(200);
      }
    }
    for (const date of ['2025-02-02', '2025-02-03']) {
      const r = await t.request.post('/api/v1/pipelines/run/list_corp/gcp/cost/billing_cost').set('X-API-Key', key).send({ date });
      expect(r.status).to.equal(202);
      expect((await t.request.delete(`/api/v1/pipelines/runs/${r.body.pipeline_logging_id}`).set('X-API-Key', key)).body.status).to.equal('CANCELLED');
    }
    const res = await t.request.get('/api/v1/pipelines/runs').query({ status: 'PENDING', limit: 1 }).set('X-API-Key', key);
    expect(res.status).to.equal(200);
    expect((res.body.runs as Array<{ pipeline_logging_id: string }>).map((r) => r.pipeline_logging_id)).to.deep.equal([pending.body.pipeline_logging_id]);
  });
});
