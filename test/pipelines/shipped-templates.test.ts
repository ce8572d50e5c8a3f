import path from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { executeRun } from '../../src/pipelines/executor';
import { validateRunParameters } from '../../src/pipelines/parameters';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import { generateDayRows, loadSampleBillingData, seededRandom } from '../../src/pipelines/sample-billing';
import { loadTemplateRegistry } from '../../src/pipelines/template-registry';
import type { Template } from '../../src/pipelines/types';
import type { Row } from '../../src/warehouse/types';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { createTenantTables, jobFor, quietLogger } from './helpers';
import { resolveTenantTable } from '../../src/warehouse/tenant-table';

const registry = loadTemplateRegistry(path.resolve(__dirname, '../../configs'));
const clock = new ManualClock('2025-12-03T06:00:00Z');

describe('shipped templates on DuckDB', () => {
  let wh: TestWarehouse;
  before(async () => {
    wh = await createTestDuckDb();
  });
  after(async () => wh.cleanup());

  const run = async (template: Template, tenantId: string, body: Record<string, unknown>, sourceTable?: string) => {
    const logWriter = createRunLogWriter({ warehouse: wh.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000, retryBaseMs: 1 });
    const job = jobFor(template, tenantId, validateRunParameters(template, body, clock.now()));
    const outcome = await executeRun({ warehouse: wh.warehouse, logWriter, logger: quietLogger, clock, templates: registry }, job, {
      signal: new AbortController().signal,
      workerInstance: 'w',
      attempt: 1,
      ...(sourceTable ? { overrides: async () => ({ source_table: resolveTenantTable({ kind: 'duckdb' }, tenantId, sourceTable) }) } : {}),
    });
    await logWriter.close();
    return { job, outcome };
  };

  describe('gcp/cost/dryrun', () => {
    const dryrun = registry.get('gcp', 'cost', 'dryrun') as Template;

    it("completes with the guide's empty body for an onboarded tenant and records its validation row", async () => {
      await createTenantTables(wh.warehouse, 'test_corp');
      const { job, outcome } = await run(dryrun, 'test_corp', {});
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
      const { rows } = await wh.warehouse.query('SELECT check_type, passed, overall_status FROM `test_corp.x_meta_dq_results` WHERE pipeline_logging_id = @id', {
        params: { id: job.pipelineLoggingId },
      });
      expect(rows).to.deep.equal([{ check_type: 'dryrun', passed: true, overall_status: 'PASS' }]);
    });

    it('fails naming the fix when the tenant dataset is missing', async () => {
      const { outcome } = await run(dryrun, 'ghost_corp', {});
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.match(/Dataset "ghost_corp" not found\. Re-onboard with force_recreate_dataset=true/);
    });
  });

  describe('gcp/cost/mtd_cost_by_project', () => {
    const mtd = registry.get('gcp', 'cost', 'mtd_cost_by_project') as Template;
    const days = ['2025-11-29', '2025-11-30', '2025-12-01', '2025-12-02'];

    /** Net cost per project and day, from the generated rows themselves. */
    function netByProjectDay(): Map<string, number> {
      const rand = seededRandom(5);
      const out = new Map<string, number>();
      for (const day of days) {
        for (const r of generateDayRows('mtd_corp', day, 80, rand) as Row[]) {
          const credits = (r['credits'] as Array<{ amount: number }>).reduce((s, c) => s + c.amount, 0);
          const key = `${String(r['project_id'])}|${day}`;
          out.set(key, (out.get(key) ?? 0) + Number(r['cost']) + credits);
        }
      }
      return out;
    }

    it('sums the month to date (default: yesterday) and compares with the day before, across the month boundary', async () => {
      await createTenantTables(wh.warehouse, 'mtd_corp');
      await loadSampleBillingData(wh.warehouse, 'mtd_corp', { days: 4, rowsPerDay: 80, seed: 5, endDate: '2025-12-02' });
      const { outcome } = await run(mtd, 'mtd_corp', {});
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
      const { rows } = await wh.warehouse.query("SELECT * FROM `mtd_corp.gcp_cost_mtd_by_project` WHERE project_id = 'mtd-corp-prod-web'");
      const net = netByProjectDay();
      const day = (d: string) => net.get(`mtd-corp-prod-web|${d}`) ?? 0;
      expect(rows).to.have.length(1);
      const row = rows[0] ?? {};
      expect(row).to.include({ as_of_date: '2025-12-02', month_start: '2025-12-01', days_with_usage: 2 });
      expect(Number(row['mtd_net_cost'])).to.be.closeTo(day('2025-12-01') + day('2025-12-02'), 1e-3);
      expect(Number(row['prev_day_net_cost'])).to.be.closeTo(day('2025-12-01'), 1e-3);
      expect(Number(row['day_over_day_change'])).to.be.closeTo(day('2025-12-02') - day('2025-12-01'), 1e-3);

      const first = await run(mtd, 'mtd_corp', { date: '2025-12-01' });
      expect(first.outcome.status).to.equal('COMPLETED');
      const dec1 = await wh.warehouse.query("SELECT mtd_net_cost, prev_day_net_cost FROM `mtd_corp.gcp_cost_mtd_by_project` WHERE project_id = 'mtd-corp-prod-web' AND as_of_date = DATE '2025-12-01'");
      expect(Number(dec1.rows[0]?.['mtd_net_cost'])).to.be.closeTo(day('2025-12-01'), 1e-3);
      expect(Number(dec1.rows[0]?.['prev_day_net_cost'])).to.be.closeTo(day('2025-11-30'), 1e-3);
    });

    it('reads the source table the tenant settings name', async () => {
      await wh.warehouse.query("CREATE TABLE `mtd_corp.custom_export` AS SELECT * FROM `mtd_corp.gcp_billing_export_v1` WHERE project_id = 'mtd-corp-staging'");
      await run(mtd, 'mtd_corp', { date: '2025-11-30' }, 'mtd_corp.custom_export');
      const { rows } = await wh.warehouse.query("SELECT DISTINCT project_id FROM `mtd_corp.gcp_cost_mtd_by_project` WHERE as_of_date = DATE '2025-11-30'");
      expect(rows).to.deep.equal([{ project_id: 'mtd-corp-staging' }]);
    });
  });
});
