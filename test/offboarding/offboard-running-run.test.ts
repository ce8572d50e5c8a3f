import { expect } from 'chai';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/** A query that runs until it is interrupted (recursion one row at a time), on the embedded warehouse. */
const SLOW = `description: A long query offboarding has to abort
version: 1.0.0
timeout_minutes: 5
steps:
  - id: long_scan
    type: query
    sql: WITH RECURSIVE r AS (SELECT 1 AS n UNION ALL SELECT n + 1 FROM r WHERE n < 100000000000) SELECT COUNT(*) AS n FROM r
`;

describe('offboarding a tenant with a run in progress', function () {
  this.timeout(60_000);
  let configs: { dir: string; cleanup(): void };
  let t: TestSystem;

  before(async () => {
    configs = configsWith({ 'gcp/slow/scan.yml': SLOW });
    t = await startTestSystem({ env: { CONFIGS_DIR: configs.dir } });
  });
  after(async () => {
    await t?.close();
    configs?.cleanup();
  });

  it('aborts the running step through the normal cancel and exports the run as CANCELLED', async () => {
    const key = await onboard(t, 'busy_run_corp', 'SCALE');
    const started = await t.request.post('/api/v1/pipelines/run/busy_run_corp/gcp/slow/scan').set('X-API-Key', key).send({});
    expect(started.status).to.equal(202);
    const runId = String(started.body.pipeline_logging_id);
    await eventually('the step to run', async () => {
      const res = await t.request.get(`/api/v1/pipelines/runs/${runId}`).set('X-API-Key', key);
      return res.body.status === 'RUNNING' && res.body.steps?.[0]?.status === 'RUNNING' ? true : undefined;
    });

    const res = await t.request.post('/api/v1/admin/tenants/busy_run_corp/offboard').set('X-Admin-Key', t.adminKey).send({});
    expect(res.status).to.equal(200);
    expect(res.body.steps.find((s: { name: string }) => s.name === 'cancel_runs').detail).to.match(/^1 runs cancelled, 0 had finished/);
    const runs = (res.body.exported as Array<{ table: string; destination: string }>).find((e) => e.table === 'x_meta_pipeline_runs_events');
    // The export is a file; the warehouse reads it back (the exports directory is the one it may read).
    const { rows } = await t.warehouse.query(`SELECT status FROM read_parquet('${runs?.destination}') WHERE pipeline_logging_id = @id ORDER BY event_seq DESC LIMIT 1`, { params: { id: runId } });
    expect(rows[0]?.['status']).to.equal('CANCELLED');
    expect(await t.warehouse.datasetExists('busy_run_corp')).to.equal(false);
  });
});
