import path from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { executeRun } from '../../src/pipelines/executor';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import { generateDayRows, loadSampleBillingData, seededRandom } from '../../src/pipelines/sample-billing';
import { loadTemplateRegistry } from '../../src/pipelines/template-registry';
import { validateRunParameters } from '../../src/pipelines/parameters';
import { validatePipeline } from '../../src/pipelines/validate';
import type { RunLogWriter } from '../../src/pipelines/run-log-writer';
import type { Template } from '../../src/pipelines/types';
import type { Row } from '../../src/warehouse/types';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { createTenantTables, instrument, jobFor, quietLogger } from './helpers';
import { resolveTenantTable } from '../../src/warehouse/tenant-table';

const TENANT = 'acme_corp';
const registry = loadTemplateRegistry(path.resolve(__dirname, '../../configs'));
const billingCost = registry.get('gcp', 'cost', 'billing_cost') as Template;
const SEED = 7;
const DAYS = 3;
const ROWS_PER_DAY = 150;
const END = '2025-11-14';
const dayList = ['2025-11-12', '2025-11-13', '2025-11-14'];

/** The rows the loader wrote, regenerated in JS to compute the expected sums independently of SQL. */
function expectedFor(day: string): { cost: number; credits: number; keys: number } {
  const rand = seededRandom(SEED);
  let rows: Row[] = [];
  for (const d of dayList) {
    const generated = generateDayRows(TENANT, d, ROWS_PER_DAY, rand);
    if (d === day) rows = generated;
  }
  const keys = new Set(rows.map((r) => [r['service_id'], r['sku_id'], r['project_id'], r['usage_unit']].join('|')));
  const credits = rows.flatMap((r) => r['credits'] as Array<{ amount: number }>).reduce((s, c) => s + c.amount, 0);
  return { cost: rows.reduce((s, r) => s + Number(r['cost']), 0), credits, keys: keys.size };
}

describe('executor: gcp/cost/billing_cost on DuckDB', () => {
  let wh: TestWarehouse;
  let logWriter: RunLogWriter;
  const clock = new ManualClock('2025-11-15T08:00:00Z');

  before(async () => {
    wh = await createTestDuckDb();
    await createTenantTables(wh.warehouse, TENANT);
    const loaded = await loadSampleBillingData(wh.warehouse, TENANT, { days: DAYS, rowsPerDay: ROWS_PER_DAY, seed: SEED, endDate: END });
    expect(loaded).to.deep.equal({ table: `${TENANT}.gcp_billing_export_v1`, rows: DAYS * ROWS_PER_DAY, fromDate: '2025-11-12', toDate: END });
  });
  beforeEach(() => {
    logWriter = createRunLogWriter({ warehouse: wh.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
  });
  afterEach(async () => logWriter.close());
  after(async () => wh.cleanup());

  const run = async (params: Record<string, unknown>, jobOverrides = {}) => {
    const job = jobFor(billingCost, TENANT, validateRunParameters(billingCost, params, clock.now()), jobOverrides);
    const outcome = await executeRun({ warehouse: wh.warehouse, logWriter, logger: quietLogger, clock, templates: registry }, job, {
      signal: new AbortController().signal,
      workerInstance: 'worker-test',
      attempt: 1,
    });
    await logWriter.flush();
    return { job, outcome };
  };
  const dayTotals = async (day: string) =>
    (
      await wh.warehouse.query(
        'SELECT COUNT(*) AS n, ROUND(SUM(cost), 6) AS cost, ROUND(SUM(credits), 6) AS credits, ROUND(SUM(net_cost), 6) AS net FROM `acme_corp.gcp_cost_daily` WHERE cost_date = @d',
        { params: { d: day }, paramTypes: { d: 'DATE' } },
      )
    ).rows[0] ?? {};

  describe('when run for a day of sample data', () => {
    it('writes the daily cost per service, SKU and project with the right sums', async () => {
      const { outcome } = await run({ date: '2025-11-13' });
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
      expect(outcome.steps.map((s) => [s.id, s.status])).to.deep.equal([
        ['daily_cost', 'COMPLETED'],
        ['daily_cost_quality', 'COMPLETED'],
      ]);
      const expected = expectedFor('2025-11-13');
      const totals = await dayTotals('2025-11-13');
      expect(totals['n']).to.equal(expected.keys);
      expect(outcome.steps[0]?.rowsProcessed).to.equal(expected.keys);
      expect(Number(totals['cost'])).to.be.closeTo(expected.cost, 1e-3);
      expect(Number(totals['credits'])).to.be.closeTo(expected.credits, 1e-3);
      expect(expected.credits).to.be.lessThan(0);
      expect(Number(totals['net'])).to.be.closeTo(expected.cost + expected.credits, 1e-3);
    });

    it('records the data-quality results as PASS rows', async () => {
      const { job } = await run({ date: '2025-11-13' });
      const { rows } = await wh.warehouse.query('SELECT check_name, passed, overall_status FROM `acme_corp.x_meta_dq_results` WHERE pipeline_logging_id = @id ORDER BY check_name', {
        params: { id: job.pipelineLoggingId },
      });
      expect(rows.map((r) => r['check_name'])).to.deep.equal([
        'accepted_values_currency',
        'cost_not_negative',
        'credits_exceed_cost',
        'has_rows',
        'not_null_project_id',
        'not_null_service_id_sku_id_currency',
        'one_row_per_service_sku_project',
      ]);
      expect(rows.every((r) => r['passed'] === true && r['overall_status'] === 'PASS')).to.equal(true);
    });

    it('keeps one data-quality row per check when the same run executes again (a re-delivered job)', async () => {
      const { job } = await run({ date: '2025-11-13' });
      clock.advance(5_000);
      await run({ date: '2025-11-13' }, { pipelineLoggingId: job.pipelineLoggingId });
      const { rows } = await wh.warehouse.query('SELECT check_name, COUNT(*) AS n FROM `acme_corp.x_meta_dq_results` WHERE pipeline_logging_id = @id GROUP BY check_name', {
        params: { id: job.pipelineLoggingId },
      });
      expect(rows).to.have.length(7);
      expect(rows.every((r) => Number(r['n']) === 1)).to.equal(true);
      const events = await wh.warehouse.query('SELECT COUNT(*) AS n FROM `acme_corp.x_meta_dq_results_events` WHERE pipeline_logging_id = @id', { params: { id: job.pipelineLoggingId } });
      expect(Number(events.rows[0]?.['n'])).to.equal(14);
    });

    it("answers the guide's run and step log queries with one current row each", async () => {
      const { job } = await run({ date: '2025-11-12' });
      const runs = await wh.warehouse.query(
        `SELECT pipeline_logging_id, pipeline_id, tenant_id, user_id, status, start_time, duration_ms
         FROM \`acme_corp.x_meta_pipeline_runs\` WHERE pipeline_logging_id = @id ORDER BY start_time DESC LIMIT 10`,
        { params: { id: job.pipelineLoggingId } },
      );
      expect(runs.rows).to.have.length(1);
      expect(runs.rows[0]).to.include({ pipeline_id: 'acme_corp-gcp-cost-billing_cost', tenant_id: TENANT, user_id: 'alice_uuid_123', status: 'COMPLETED' });
      const steps = await wh.warehouse.query(
        `SELECT pipeline_logging_id, step_name, status, rows_processed, duration_ms
         FROM \`acme_corp.x_meta_step_logs\` WHERE pipeline_logging_id = @id ORDER BY start_time`,
        { params: { id: job.pipelineLoggingId } },
      );
      expect(steps.rows.map((r) => [r['step_name'], r['status']])).to.deep.equal([
        ['daily_cost', 'COMPLETED'],
        ['daily_cost_quality', 'COMPLETED'],
      ]);
    });
  });

  describe('when a day is run again', () => {
    it('replaces the partition instead of duplicating it, and leaves other days alone', async () => {
      await run({ date: '2025-11-14' });
      await run({ date: '2025-11-13' });
      const before13 = await dayTotals('2025-11-13');
      const before14 = await dayTotals('2025-11-14');
      await run({ date: '2025-11-14' });
      expect(await dayTotals('2025-11-14')).to.deep.equal(before14);
      expect(await dayTotals('2025-11-13')).to.deep.equal(before13);
    });

    it('does not duplicate when the same run is executed twice (job re-delivered after a crash)', async () => {
      const first = await run({ date: '2025-11-14' });
      const before = await dayTotals('2025-11-14');
      await run({ date: '2025-11-14' }, { pipelineLoggingId: first.job.pipelineLoggingId });
      expect(await dayTotals('2025-11-14')).to.deep.equal(before);
      const view = await wh.warehouse.query('SELECT status FROM `acme_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', {
        params: { id: first.job.pipelineLoggingId },
      });
      expect(view.rows).to.deep.equal([{ status: 'COMPLETED' }]);
    });
  });

  describe('when the day has no billing data', () => {
    it('fails the row_count check (severity error) and the run', async () => {
      const { outcome } = await run({ date: '2025-10-01' });
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.match(/Step "daily_cost_quality" failed: Data quality checks failed: has_rows/);
    });
  });

  describe('when the request tries to pick another dataset', () => {
    it('is refused before anything runs, and a forged job writes nothing anywhere', async () => {
      expect(() => validateRunParameters(billingCost, { date: '2025-11-13', dataset: 'other_corp' }, clock.now())).to.throw(/not a parameter/);
      const spy = instrument(wh.warehouse);
      const job = jobFor(billingCost, TENANT, { date: '2025-11-13', tenant_id: 'other_corp', dataset: 'other_corp' });
      const outcome = await executeRun({ warehouse: spy, logWriter, logger: quietLogger, clock, templates: registry }, job, {
        signal: new AbortController().signal,
        workerInstance: 'w',
        attempt: 1,
      });
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.match(/"tenant_id" is not a parameter/);
      expect(spy.queries).to.deep.equal([]);
      expect(await wh.warehouse.datasetExists('other_corp')).to.equal(false);
    });
  });

  describe('validatePipeline', () => {
    it('renders each step without running it', async () => {
      const report = await validatePipeline({ warehouse: wh.warehouse }, billingCost, { date: '2025-11-13' }, { tenantId: TENANT });
      expect(report.valid, JSON.stringify(report.problems)).to.equal(true);
      expect(report.steps.map((s) => s.id)).to.deep.equal(['daily_cost', 'daily_cost_quality']);
      expect(report.steps[0]?.sql).to.contain('FROM `acme_corp.gcp_billing_export_v1`');
      expect(report.steps[0]?.estimated_bytes, 'DuckDB has no byte estimate: unknown').to.equal(null);
    });

    it('reports a missing source table as a problem of its step', async () => {
      const report = await validatePipeline({ warehouse: wh.warehouse }, billingCost, { date: '2025-11-13' }, { tenantId: TENANT, source_table: resolveTenantTable({ kind: 'duckdb' }, TENANT, 'acme_corp.no_such_export') });
      expect(report.valid).to.equal(false);
      expect(report.problems[0]?.step).to.equal('daily_cost');
    });
  });
});
