import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** A query that runs until it is interrupted, on the embedded warehouse; the template allows 5 minutes. */
const SLOW = `description: A long query
version: 1.0.0
timeout_minutes: 5
steps:
  - id: long_scan
    type: query
    sql: WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 100000000000) SELECT COUNT(*) AS n FROM r
`;

/**
 * SPEC §9 / README: orphan cleanup fails runs "stuck past their deadline (template timeout + margin)". A run that
 * waited in the queue (workers saturated) and has just started is not stuck: it has used seconds of its 5 minutes.
 * The lease is set at admission and never moved when a worker starts the run (Admission.setLeaseDeadline, meant
 * for that, has no caller), so cleanup kills a healthy run that started late — and leaves its step RUNNING.
 */
describe('orphan cleanup and runs that started late or hang', function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.now());
  let configs: { dir: string; cleanup(): void };
  let api: TestSystem;
  let worker: TestSystem | undefined;

  before(async () => {
    configs = configsWith({ 'gcp/slow/scan.yml': SLOW });
    api = await startTestSystem({ role: 'api', clock, env: { CONFIGS_DIR: configs.dir } });
  });
  after(async () => {
    await worker?.close();
    await api?.close();
    configs?.cleanup();
  });

  it('does not fail a run that has been RUNNING for seconds, however long it waited in the queue', async () => {
    const key = await onboard(api, 'late_corp', 'SCALE');
    const res = await api.request.post('/api/v1/pipelines/run/late_corp/gcp/slow/scan').set('X-API-Key', key).send({});
    expect(res.status).to.equal(202);
    const id = String(res.body.pipeline_logging_id);
    // 66 minutes in the queue (no free worker), then a worker takes it.
    clock.advance(66 * 60_000);
    worker = await startTestSystem({ role: 'worker', clock, prefix: api.prefix, warehouse: api.warehouse, env: { CONFIGS_DIR: configs.dir } });
    await eventually('the step to run', async () => {
      const live = await api.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
      return live.body.status === 'RUNNING' && live.body.steps?.[0]?.status === 'RUNNING' ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500)); // the progress writer records the running step
    clock.advance(10_000); // ten seconds into its five minutes

    const cleanup = await api.request.post('/api/v1/scheduler/cleanup-orphaned-pipelines').set('X-Admin-Key', api.adminKey).send({});
    expect(cleanup.status).to.equal(200);
    const after = await api.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
    expect([after.body.status, after.body.error_message], 'a healthy run 10 s into its 5 minutes').to.deep.equal(['RUNNING', null]);
    await api.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
  });

  it('leaves no step RUNNING in a run that orphan cleanup ended', async () => {
    const key = (await api.request.post('/api/v1/admin/tenants/late_corp/api-keys').set('X-Admin-Key', api.adminKey)).body.api_key as string;
    const res = await api.request.post('/api/v1/pipelines/run/late_corp/gcp/slow/scan').set('X-API-Key', key).send({});
    expect(res.status).to.equal(202);
    const id = String(res.body.pipeline_logging_id);
    await eventually('the step to run', async () => {
      const live = await api.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
      return live.body.status === 'RUNNING' && live.body.steps?.[0]?.status === 'RUNNING' ? true : undefined;
    });
    await new Promise((r) => setTimeout(r, 1500)); // the progress writer records the running step
    clock.advance(70 * 60_000); // a hung run: past 5 minutes + the 60-minute margin
    const cleanup = await api.request.post('/api/v1/scheduler/cleanup-orphaned-pipelines').set('X-Admin-Key', api.adminKey).send({});
    expect(cleanup.status).to.equal(200);
    const run = await waitForRun(api, key, id);
    expect(run.status).to.equal('FAILED');
    await new Promise((r) => setTimeout(r, 1000)); // the worker's own end (aborted step) has had time to land
    await api.system.logWriter.flush();
    await worker?.system.logWriter.flush();
    const live = await api.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
    const { rows } = await api.warehouse.query('SELECT status FROM `late_corp.x_meta_step_logs` WHERE pipeline_logging_id = @id', { params: { id } });
    expect((live.body.steps as Array<{ status: string }>).map((s) => s.status), 'live record').to.not.include('RUNNING');
    expect(rows.map((r) => r['status']), 'warehouse step rows').to.not.include('RUNNING');
  });
});
