import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { costUsd } from '../../src/shared/bytes-limit';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { CONFIGS_DIR } from '../helpers/tenant-deps';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';

/**
 * Issue 14.1 end to end on BigQuery (the adapter against the local REST server): the plan's byte limits reach the
 * worker's steps, the run and step bodies, the quota view, the validate answer and /metrics.
 */
const TENANT = 'spend_corp';
const MIB = 1024 * 1024;
const scan = (size: string): string => `description: a ${size} scan\nversion: 1.0.0\nsteps:\n  - { id: scan, type: query, sql: "SELECT '${size}' AS size" }\n`;
const PLAN = '  COST_TEST:\n    daily_limit: 1000\n    concurrent_limit: 100\n    team_limit: 10\n    provider_limit: 10\n    max_bytes_billed_per_query: 100 MiB\n    daily_bytes_budget: 300 MiB\n';

describe('cost guardrails through the API on BigQuery', function () {
  this.timeout(60_000);
  let bq: TestBigQuery;
  let t: TestSystem;
  let key: string;
  let configs: { dir: string; cleanup(): void };
  const run = async (template: string) => {
    const res = await t.request.post(`/api/v1/pipelines/run/${TENANT}/gcp/cost/${template}`).set('X-API-Key', key).set('X-User-ID', 'alice').send({});
    expect(res.status, JSON.stringify(res.body)).to.equal(202);
    return waitForRun(t, key, res.body.pipeline_logging_id as string);
  };

  before(async () => {
    const plans = fs.readFileSync(path.join(CONFIGS_DIR, 'plans.yml'), 'utf8');
    configs = configsWith({ 'gcp/cost/scan_huge.yml': scan('huge'), 'gcp/cost/scan_medium.yml': scan('medium'), 'plans.yml': `${plans.trimEnd()}\n${PLAN}` });
    bq = await createTestBigQuery();
    bq.server.setBytesRule((sql) => (sql.includes("'huge'") ? { processed: 200 * MIB } : sql.includes("'medium'") ? { processed: 60 * MIB, billed: 60 * MIB } : undefined));
    t = await startTestSystem({ warehouse: bq.warehouse, env: { CONFIGS_DIR: configs.dir } });
    key = await onboard(t, TENANT, 'COST_TEST');
  });
  after(async () => {
    await t?.close();
    await bq?.cleanup();
    configs?.cleanup();
  });

  it('validate answers the estimate, the limits and that a run over the cap would not fit', async () => {
    const res = await t.request.post(`/api/v1/pipelines/validate/${TENANT}/gcp/cost/scan_huge`).set('X-API-Key', key).send({});
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ estimated_bytes: 200 * MIB, fits_budget: false, max_bytes_billed_per_query: 100 * MIB, daily_bytes_budget: 300 * MIB, remaining_bytes_today: 300 * MIB });
  });

  it('fails a run over the cap with BYTES_LIMIT_EXCEEDED in the run and its step; a run within it records bytes and cost', async () => {
    const refused = await run('scan_huge');
    expect(refused.status).to.equal('FAILED');
    expect(refused.error_message).to.contain('BYTES_LIMIT_EXCEEDED').and.contain(`${200 * MIB} bytes`).and.contain(`${100 * MIB} bytes`);
    const [refusedStep] = refused.steps as Array<Record<string, unknown>>;
    expect(refusedStep).to.include({ status: 'FAILED', bytes_billed: 0 });
    expect(refusedStep?.['error_message']).to.contain('BYTES_LIMIT_EXCEEDED');

    const done = await run('scan_medium');
    expect(done.status, String(done.error_message)).to.equal('COMPLETED');
    expect((done.steps as Array<Record<string, unknown>>)[0]).to.include({ bytes_processed: 60 * MIB, bytes_billed: 60 * MIB, estimated_cost_usd: costUsd(60 * MIB, 6.25) });

    const quota = await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key);
    expect(quota.body).to.include({ bytes_billed_today: 60 * MIB, daily_bytes_budget: 300 * MIB, remaining_bytes_today: 240 * MIB });

    const metric = await eventually('bytes billed on /metrics', async () => {
      const text = (await t.request.get('/metrics').set('X-Admin-Key', t.adminKey)).text;
      return text.split('\n').find((line) => line.startsWith('warehouse_bytes_billed_total{plan="COST_TEST"}'));
    });
    expect(metric).to.equal(`warehouse_bytes_billed_total{plan="COST_TEST"} ${60 * MIB}`);

    await t.system.logWriter.flush();
    const { rows } = await bq.warehouse.query(`SELECT status, bytes_billed, estimated_cost_usd FROM \`${TENANT}.x_meta_pipeline_runs\` ORDER BY start_time`);
    expect(rows).to.deep.equal([
      { status: 'FAILED', bytes_billed: 0, estimated_cost_usd: 0 },
      { status: 'COMPLETED', bytes_billed: 60 * MIB, estimated_cost_usd: costUsd(60 * MIB, 6.25) },
    ]);
  });
});
