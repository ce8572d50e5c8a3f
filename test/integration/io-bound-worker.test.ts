import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { configsWith } from '../helpers/processes';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { eventually } from '../helpers/polling';
import { CONFIGS_DIR } from '../helpers/tenant-deps';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * A worker built for I/O-bound runs (issue 12.2): on BigQuery a run mostly waits on its query job, so one
 * worker process keeps many runs in flight. Every query job here takes a second on the local BigQuery server;
 * the worker (concurrency 40) must have many of them running at once, and every run must end COMPLETED with
 * its rows in the warehouse. No timing is asserted: what is checked is how many jobs were in flight together.
 */
const TENANT = 'io_corp';
const RUNS = 60;
const TEMPLATE = `description: one query job
version: 1.0.0
timeout_minutes: 5
parameters:
  n: { type: integer, required: false, default: 0 }
steps:
  - id: one_query
    type: query
    sql: "SELECT @n AS n"
`;
/** The shipped plans cap runs at 10 at once; this one lets all of them be admitted. */
const PLAN = '  IO_TEST:\n    daily_limit: 100000\n    concurrent_limit: 100000\n    team_limit: 10\n    provider_limit: 10\n';

describe('worker with many I/O-bound runs in flight (BigQuery, slow query jobs)', function () {
  this.timeout(120_000);
  let bq: TestBigQuery;
  let t: TestSystem;
  let configs: { dir: string; cleanup(): void };

  before(async () => {
    const plans = fs.readFileSync(path.join(CONFIGS_DIR, 'plans.yml'), 'utf8');
    configs = configsWith({ 'gcp/cost/one_query.yml': TEMPLATE, 'plans.yml': `${plans.trimEnd()}\n${PLAN}` });
    bq = await createTestBigQuery();
    t = await startTestSystem({ role: 'api', warehouse: bq.warehouse, env: { CONFIGS_DIR: configs.dir, WORKER_CONCURRENCY: '40' } });
    await t.system.apiDeps().tenants.onboard({ tenant_id: TENANT, company_name: 'Io Inc', admin_email: 'admin@io.com', subscription_plan: 'IO_TEST' });
  });
  after(async () => {
    await t?.close();
    await bq?.cleanup();
    configs?.cleanup();
  });

  it('keeps many query jobs running at once and completes every run with its rows', async () => {
    const ids: string[] = [];
    for (let n = 0; n < RUNS; n++) {
      const r = await t.system.runs.trigger({ tenantId: TENANT, provider: 'gcp', domain: 'cost', templateName: 'one_query', parameters: { n }, userId: null, triggerType: 'api' });
      ids.push(r.pipelineLoggingId);
    }
    bq.server.setJobLatency(1000);
    bq.server.resetStats();
    await t.system.start('worker');
    await eventually('every run to end', async () => {
      const counts = await t.system.runs.queue.getJobCounts('completed', 'failed');
      return (counts.completed ?? 0) + (counts.failed ?? 0) >= RUNS ? true : undefined;
    }, 100_000, 100);
    await t.system.logWriter.flush();

    const stats = bq.server.stats();
    expect(stats.peakRunningJobs, 'query jobs in flight at once').to.be.at.least(10);
    // The tenant's provider settings are read once for all runs starting together, not once per run.
    const settingsReads = bq.server.requests.filter((r) => r.kind === 'queryJobs' && JSON.stringify(r.body).includes('encrypted_credentials')).length;
    expect(settingsReads).to.be.at.most(1);

    const { rows } = await bq.warehouse.query(`SELECT pipeline_logging_id, status FROM \`${TENANT}.x_meta_pipeline_runs\``);
    const status = new Map(rows.map((r) => [String(r['pipeline_logging_id']), String(r['status'])]));
    expect(ids.filter((id) => status.get(id) !== 'COMPLETED')).to.deep.equal([]);
    const steps = await bq.warehouse.query(`SELECT count(*) AS n FROM \`${TENANT}.x_meta_step_logs\` WHERE status = 'COMPLETED' AND rows_processed = 1`);
    expect(Number(steps.rows[0]?.['n'])).to.equal(RUNS);
  });
});
