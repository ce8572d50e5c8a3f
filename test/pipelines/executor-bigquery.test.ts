import path from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { executeRun } from '../../src/pipelines/executor';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import { loadSampleBillingData } from '../../src/pipelines/sample-billing';
import { createTemplateRegistry, loadTemplateRegistry } from '../../src/pipelines/template-registry';
import { validatePipeline } from '../../src/pipelines/validate';
import type { Template } from '../../src/pipelines/types';
import { BILLING_CREDITS_REWRITE } from '../helpers/fake-bigquery/rewrites';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { createTenantTables, jobFor, quietLogger } from './helpers';

const TENANT = 'acme_corp';
const billingCost = loadTemplateRegistry(path.resolve(__dirname, '../../configs')).get('gcp', 'cost', 'billing_cost') as Template;

/**
 * The fake BigQuery server analyzes the template's BigQuery text with ZetaSQL, then runs it on DuckDB,
 * which has no JSON_QUERY_ARRAY: the one credits expression is swapped for its DuckDB twin there
 * (templates.test.ts keeps the two texts identical apart from it). Everything else — parameters, DML,
 * table creation with partitioning, streaming log inserts — goes through the BigQuery client.
 */

describe('executor: gcp/cost/billing_cost through the BigQuery adapter', () => {
  let bq: TestBigQuery;
  const clock = new ManualClock('2025-11-15T08:00:00Z');

  before(async () => {
    bq = await createTestBigQuery({ duckDbRewrites: [BILLING_CREDITS_REWRITE] });
    await createTenantTables(bq.warehouse, TENANT);
    await loadSampleBillingData(bq.warehouse, TENANT, { days: 2, rowsPerDay: 100, seed: 3, endDate: '2025-11-14' });
  });
  after(async () => bq.cleanup());

  it('completes, writes the day once however often it runs, and logs with ≤ 3 streaming inserts and no DML', async () => {
    const logWriter = createRunLogWriter({ warehouse: bq.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
    const deps = { warehouse: bq.warehouse, logWriter, logger: quietLogger, clock, templates: createTemplateRegistry([billingCost]) };
    const options = { signal: new AbortController().signal, workerInstance: 'w', attempt: 1 };
    const first = await executeRun(deps, jobFor(billingCost, TENANT, { date: '2025-11-14' }), options);
    expect(first.status, first.errorMessage).to.equal('COMPLETED');

    const before = bq.server.stats();
    await logWriter.flush();
    const after = bq.server.stats();
    expect(after.insertAll - before.insertAll).to.be.at.most(3);
    expect(after.dml - before.dml).to.equal(0);
    // The step's own write is one DML statement: a MERGE that replaces the day's partition atomically.
    expect(before.dmlByKind).to.deep.equal({ MERGE: 1 });

    const second = await executeRun(deps, jobFor(billingCost, TENANT, { date: '2025-11-14' }), options);
    expect(second.status).to.equal('COMPLETED');
    await logWriter.close();
    const { rows } = await bq.warehouse.query('SELECT COUNT(*) AS n, COUNT(DISTINCT _pipeline_logging_id) AS runs FROM `acme_corp.gcp_cost_daily` WHERE cost_date = @d', {
      params: { d: '2025-11-14' },
      paramTypes: { d: 'DATE' },
    });
    expect(rows[0]?.['runs']).to.equal(1);
    expect(Number(rows[0]?.['n'])).to.equal(first.steps[0]?.rowsProcessed);
    const runs = await bq.warehouse.query('SELECT status FROM `acme_corp.x_meta_pipeline_runs` ORDER BY start_time');
    expect(runs.rows.map((r) => r['status'])).to.deep.equal(['COMPLETED', 'COMPLETED']);
  });

  it('estimates bytes per query step when validating', async () => {
    const report = await validatePipeline({ warehouse: bq.warehouse }, billingCost, { date: '2025-11-14' }, { tenantId: TENANT });
    expect(report.valid, JSON.stringify(report.problems)).to.equal(true);
    expect(report.steps[0]?.estimated_bytes).to.be.a('number');
  });
});
