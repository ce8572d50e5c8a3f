import { expect } from 'chai';
import { runAnswer } from '../../src/api/response-schemas';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { configsWith } from '../helpers/processes';

const TWO_STEPS = `description: One step that writes a table, one that fails, one blocked behind it
version: 1.0.0
timeout_minutes: 5
parameters:
  n: { type: integer, required: false, default: 3 }
steps:
  - id: numbers
    type: query
    sql: SELECT CAST(range AS BIGINT) AS n FROM range(@n)
    destination:
      table: shape_numbers
      write_mode: truncate
      schema:
        columns:
          - { name: n, type: INT64 }
  - id: broken
    type: query
    depends_on: [numbers]
    sql: SELECT * FROM no_such_table_here
  - id: after_broken
    type: query
    depends_on: [broken]
    sql: SELECT 1 AS one
`;


/** GET the run, then again once Redis has forgotten it and only the warehouse answers. */
async function liveAndStored(t: TestSystem, tenantId: string, key: string, id: string): Promise<{ live: unknown; stored: unknown }> {
  const live = (await t.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key)).body as unknown;
  await t.system.logWriter.flush();
  await t.system.clients.redis.del(t.system.keys.run(tenantId, id));
  const res = await t.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
  expect(res.status).to.equal(200);
  return { live, stored: res.body as unknown };
}

describe('one run shape, live or stored', () => {
  let t: TestSystem;
  let key: string;
  let configs: { dir: string; cleanup(): void };
  before(async () => {
    configs = configsWith({ 'gcp/test/shape.yml': TWO_STEPS });
    t = await startTestSystem({ env: { CONFIGS_DIR: configs.dir } });
    key = await onboard(t, 'shape_corp', 'SCALE');
  });
  after(async () => {
    await t.close();
    configs.cleanup();
  });

  describe('a completed run', () => {
    it('answers the same body from Redis and from the warehouse', async () => {
      const res = await t.request.post('/api/v1/pipelines/run/shape_corp/gcp/cost/dryrun').set('X-API-Key', key).set('X-User-ID', 'ana');
      const id = res.body.pipeline_logging_id as string;
      await waitForRun(t, key, id);
      const { live, stored } = await liveAndStored(t, 'shape_corp', key, id);
      expect(stored).to.deep.equal(live);
      expect(runAnswer.validate(live).error).to.equal(undefined);
      expect(live).to.include({ status: 'COMPLETED', user_id: 'ana', trigger_type: 'api' });
    });
  });

  describe('a failed run with a written, a failed and a skipped step', () => {
    it('answers the same steps, counts and error from Redis and from the warehouse', async () => {
      const res = await t.request.post('/api/v1/pipelines/run/shape_corp/gcp/test/shape').set('X-API-Key', key).send({ n: 4 });
      const id = res.body.pipeline_logging_id as string;
      await waitForRun(t, key, id);
      const { live, stored } = await liveAndStored(t, 'shape_corp', key, id);
      expect(stored).to.deep.equal(live);
      expect(runAnswer.validate(live).error).to.equal(undefined);
      const body = live as { status: string; parameters: unknown; progress: unknown; steps: Array<{ id: string; status: string; rows_processed: number | null }> };
      expect(body.status).to.equal('FAILED');
      expect(body.parameters).to.deep.equal({ n: 4 });
      expect(body.progress).to.deep.equal({ steps_done: 3, steps_total: 3, percent: 100 });
      expect(body.steps.map((s) => [s.id, s.status])).to.deep.equal([['numbers', 'COMPLETED'], ['broken', 'FAILED'], ['after_broken', 'SKIPPED']]);
      expect(body.steps[0]?.rows_processed).to.equal(4);
    });
  });

  describe('a run cancelled while it waited', () => {
    it('answers the same body from Redis and from the warehouse', async () => {
      const api = await startTestSystem({ role: 'api', env: { CONFIGS_DIR: configs.dir } });
      try {
        const apiKey = await onboard(api, 'waiting_corp', 'SCALE');
        const res = await api.request.post('/api/v1/pipelines/run/waiting_corp/gcp/cost/dryrun').set('X-API-Key', apiKey);
        const id = res.body.pipeline_logging_id as string;
        expect((await api.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', apiKey)).body.status).to.equal('CANCELLED');
        const { live, stored } = await liveAndStored(api, 'waiting_corp', apiKey, id);
        expect(stored).to.deep.equal(live);
        expect(live).to.include({ status: 'CANCELLED', start_time: null });
      } finally {
        await api.close();
      }
    });
  });
});
