import { expect } from 'chai';
import { createMetrics } from '../../src/observability/metrics';
import { executeRun } from '../../src/pipelines/executor';
import type { ExecutorDeps } from '../../src/pipelines/executor';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import type { RunLogWriter } from '../../src/pipelines/run-log-writer';
import { createTemplateRegistry } from '../../src/pipelines/template-registry';
import { validatePipeline } from '../../src/pipelines/validate';
import { costEstimate } from '../../src/pipelines/validate-cost';
import type { Template } from '../../src/pipelines/types';
import { costUsd } from '../../src/shared/bytes-limit';
import { ManualClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import { buildCostGuard } from '../../src/system/cost-guard';
import { BytesBudget } from '../../src/tenants/bytes-budget';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { getQuotaView } from '../../src/tenants/quota-view';
import type { Config } from '../../src/config';
import type { Warehouse } from '../../src/warehouse/types';
import { eventually } from '../helpers/polling';
import { STARTER_PROFILE } from '../helpers/profiles';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { createTestBigQuery, createTestDuckDb } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { createTenantTables, inlineTemplate, jobFor, quietLogger } from './helpers';

/**
 * Issue 14.1 through the BigQuery adapter against the local REST server, whose bytes rule the tests set:
 * each template's SQL names a size class, and the server reports (and bills) that many bytes.
 */
const TENANT = 'acme_corp';
const MIB = 1024 * 1024;
const CAP = 100 * MIB;
const BUDGET = 300 * MIB;
const PRICE = 6.25;

const template = (name: string, size: string, extra = ''): Template =>
  inlineTemplate(
    `
description: ${size} query
retry: { attempts: 3, backoff_seconds: 1 }
steps:
  - { id: scan, type: query, sql: "SELECT '${size}' AS size" }
${extra}`,
    name,
  );
const huge = template('huge', 'huge');
const sneaky = template('sneaky', 'sneaky');
const medium = template('medium', 'medium');
const partial = template('partial', 'partial');

/**
 * 'huge': 200 MiB, over the cap. 'sneaky': estimated 20 MiB, bills 400 MiB. 'medium': 60 MiB. Cancelled while
 * running, 'medium' has billed nothing yet and 'partial' (60 MiB when it completes) has billed 25 MiB.
 */
function bytesRule(sql: string, phase: { dryRun: boolean; cancelled?: boolean }): { processed: number; billed?: number } | undefined {
  if (phase.cancelled) return sql.includes("'partial'") ? { processed: 25 * MIB, billed: 25 * MIB } : undefined;
  if (sql.includes("'partial'")) return { processed: 60 * MIB, billed: 60 * MIB };
  if (sql.includes("'huge'")) return { processed: 200 * MIB };
  if (sql.includes("'sneaky'")) return phase.dryRun ? { processed: 20 * MIB } : { processed: 400 * MIB };
  if (sql.includes("'medium'")) return { processed: 60 * MIB, billed: 60 * MIB };
  return undefined;
}

describe('cost guardrails (issue 14.1)', function () {
  this.timeout(60_000);
  let bq: TestBigQuery;
  let r: TestRedis;
  let budget: BytesBudget;
  let logWriter: RunLogWriter;
  let deps: ExecutorDeps;
  const metrics = createMetrics();
  const clock = new ManualClock('2025-11-15T08:00:00Z');
  const options = () => ({ signal: new AbortController().signal, workerInstance: 'w', attempt: 1 });
  const queryJobs = () => bq.server.stats().queryJobs;
  type JobInsert = { body: { configuration: { dryRun?: boolean; query: { maximumBytesBilled?: string } } } };
  /** Job inserts that ran something (the server records dry runs under the same route). */
  const jobsSent = (): JobInsert[] => (bq.server.requests.filter((q) => q.kind === 'queryJobs') as JobInsert[]).filter((q) => !q.body.configuration.dryRun);

  before(async () => {
    bq = await createTestBigQuery();
    bq.server.setBytesRule(bytesRule);
    await createTenantTables(bq.warehouse, TENANT);
  });
  after(async () => bq.cleanup());

  beforeEach(async () => {
    r = await createTestRedis();
    await writeProfileCache(r.redis, r.keys, TENANT, { ...STARTER_PROFILE, maxBytesBilledPerQuery: CAP, dailyBytesBudget: BUDGET });
    budget = new BytesBudget({ redis: r.redis, keys: r.keys, clock });
    logWriter = createRunLogWriter({ warehouse: bq.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
    const config = { warehouse: { pricePerTibUsd: PRICE } } as Config;
    const costGuard = buildCostGuard(
      { config, warehouse: bq.warehouse, logger: silentLogger(), metrics },
      budget,
    );
    deps = {
      warehouse: bq.warehouse, logWriter, logger: quietLogger, clock, templates: createTemplateRegistry([huge, sneaky, medium, partial]),
      ...(costGuard ? { costGuard } : {}),
    };
  });
  afterEach(async () => {
    bq.server.setJobLatency(0);
    await logWriter.close();
    await r.cleanup();
  });

  const quota = async () => {
    const view = await getQuotaView({ redis: r.redis, keys: r.keys, clock }, TENANT);
    if (!view) throw new Error('no quota view');
    return view;
  };
  const stepRow = async (runId: string) =>
    (await bq.warehouse.query('SELECT * FROM `acme_corp.x_meta_step_logs` WHERE pipeline_logging_id = @id', { params: { id: runId } })).rows[0];
  const runRow = async (runId: string) =>
    (await bq.warehouse.query('SELECT * FROM `acme_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', { params: { id: runId } })).rows[0];

  describe('when the dry-run estimate is over the per-query cap', () => {
    it('fails the run with BYTES_LIMIT_EXCEEDED naming estimate and limit, without running the query', async () => {
      const jobsBefore = queryJobs();
      const job = jobFor(huge, TENANT, {});
      const outcome = await executeRun(deps, job, options());

      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.match(/^Step "scan" failed: BYTES_LIMIT_EXCEEDED: /);
      expect(outcome.errorMessage).to.contain(`estimated ${200 * MIB} bytes`).and.contain(`per-query cap of ${CAP} bytes`);
      expect(queryJobs() - jobsBefore, 'query jobs started').to.equal(0);
      expect(outcome.steps[0]?.attempt, 'a refusal is not retried').to.equal(1);

      await logWriter.flush();
      const step = await stepRow(job.pipelineLoggingId);
      expect(step?.['status']).to.equal('FAILED');
      expect(step?.['error_message']).to.contain('BYTES_LIMIT_EXCEEDED');
      expect(step?.['bytes_billed']).to.equal(0);
      expect((await runRow(job.pipelineLoggingId))?.['error_message']).to.contain('BYTES_LIMIT_EXCEEDED');
      expect((await quota()).remaining_bytes_today).to.equal(BUDGET);
    });
  });

  describe('when the estimate was low and the job would bill more than its maximumBytesBilled', () => {
    it('is refused by BigQuery (bytesBilledLimitExceeded), fails BYTES_LIMIT_EXCEEDED without retrying, and bills nothing', async () => {
      bq.server.resetStats();
      const jobsBefore = queryJobs();
      const outcome = await executeRun(deps, jobFor(sneaky, TENANT, {}), options());

      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.contain('BYTES_LIMIT_EXCEEDED').and.contain('maximumBytesBilled').and.contain(`estimated ${20 * MIB} bytes`);
      expect(queryJobs() - jobsBefore, 'one job, not retried').to.equal(1);
      const cap = Number(jobsSent()[0]?.body.configuration.query.maximumBytesBilled);
      expect(cap, 'the grant: estimate plus headroom').to.be.within(20 * MIB, 400 * MIB - 1);
      const view = await quota();
      expect(view.bytes_billed_today).to.equal(0);
      expect(view.remaining_bytes_today, 'the reservation was released').to.equal(BUDGET);
    });
  });

  describe('when a query step runs', () => {
    it('carries maximumBytesBilled, records bytes and cost in the x_meta tables, the quota view and the per-plan metric', async () => {
      bq.server.resetStats();
      const job = jobFor(medium, TENANT, {});
      const outcome = await executeRun(deps, job, options());
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');

      const sent = jobsSent();
      expect(sent.length).to.equal(1);
      expect(Number(sent[0]?.body.configuration.query.maximumBytesBilled)).to.be.within(60 * MIB, CAP);

      const cost = costUsd(60 * MIB, PRICE);
      expect(outcome.steps[0]).to.include({ bytesProcessed: 60 * MIB, bytesBilled: 60 * MIB, estimatedCostUsd: cost });
      await logWriter.flush();
      expect(await stepRow(job.pipelineLoggingId)).to.include({ bytes_processed: 60 * MIB, bytes_billed: 60 * MIB, estimated_cost_usd: cost });
      expect(await runRow(job.pipelineLoggingId)).to.include({ status: 'COMPLETED', bytes_processed: 60 * MIB, bytes_billed: 60 * MIB, estimated_cost_usd: cost });

      expect(await quota()).to.include({ bytes_billed_today: 60 * MIB, daily_bytes_budget: BUDGET, remaining_bytes_today: BUDGET - 60 * MIB });
      await eventually('the bytes-billed metric', async () => {
        const text = await metrics.registry.getSingleMetricAsString('warehouse_bytes_billed_total');
        return text.includes('plan="STARTER"') ? text : undefined;
      });
      const text = await metrics.registry.getSingleMetricAsString('warehouse_bytes_billed_total');
      expect(text).to.not.contain('tenant');
    });
  });

  describe('when many runs of one tenant start at once', () => {
    it('never bills past the daily budget; the refused runs fail cleanly with BYTES_LIMIT_EXCEEDED', async () => {
      bq.server.setJobLatency(100); // the jobs overlap: every run reserves while others hold grants
      const jobs = Array.from({ length: 10 }, () => jobFor(medium, TENANT, {}));
      const outcomes = await Promise.all(jobs.map((job) => executeRun(deps, job, options())));

      const completed = outcomes.filter((o) => o.status === 'COMPLETED');
      const refused = outcomes.filter((o) => o.status === 'FAILED');
      expect(completed.length + refused.length).to.equal(10);
      expect(completed.length, 'some ran').to.be.greaterThan(0);
      expect(refused.length, 'ten 60 MiB runs do not fit 300 MiB').to.be.greaterThan(0);
      for (const o of refused) expect(o.errorMessage).to.contain('BYTES_LIMIT_EXCEEDED').and.contain("left of today's bytes budget");

      const billed = outcomes.reduce((sum, o) => sum + (o.steps[0]?.bytesBilled ?? 0), 0);
      expect(billed).to.equal(completed.length * 60 * MIB);
      expect(billed).to.be.at.most(BUDGET);
      const view = await quota();
      expect(view.bytes_billed_today).to.equal(billed);
      expect(view.remaining_bytes_today).to.equal(BUDGET - billed);
    });
  });

  describe('when a run is cancelled after its job reserved bytes but before it billed', () => {
    it('releases the reservation once BigQuery reports the job billed nothing: the remaining budget returns', async () => {
      bq.server.setJobLatency(10 * 60_000); // the job runs until it is cancelled
      const controller = new AbortController();
      const running = executeRun(deps, jobFor(medium, TENANT, {}), { ...options(), signal: controller.signal });
      await eventually('the reservation', async () => ((await quota()).remaining_bytes_today < BUDGET ? true : undefined));
      expect((await budget.usage(TENANT)).reservedToday).to.be.greaterThan(0);

      controller.abort();
      const outcome = await running;
      expect(outcome.status).to.equal('CANCELLED');
      const settled = await eventually('the settle', async () => {
        const usage = await budget.usage(TENANT);
        return usage.reservedToday === 0 ? usage : undefined;
      });
      expect(settled).to.deep.equal({ billedToday: 0, reservedToday: 0 });
      expect((await quota()).remaining_bytes_today).to.equal(BUDGET);
    });
  });

  describe('when a run is cancelled after its job began billing', () => {
    it('charges the budget what the cancelled job billed, once BigQuery reports it', async () => {
      bq.server.setJobLatency(10 * 60_000); // the job runs until it is cancelled
      const controller = new AbortController();
      const running = executeRun(deps, jobFor(partial, TENANT, {}), { ...options(), signal: controller.signal });
      await eventually('the reservation', async () => ((await quota()).remaining_bytes_today < BUDGET ? true : undefined));

      controller.abort();
      expect((await running).status).to.equal('CANCELLED');
      const settled = await eventually('the settle', async () => {
        const usage = await budget.usage(TENANT);
        return usage.reservedToday === 0 ? usage : undefined;
      });
      expect(settled).to.deep.equal({ billedToday: 25 * MIB, reservedToday: 0 });
      expect((await quota()).remaining_bytes_today).to.equal(BUDGET - 25 * MIB);
    });

    it('writes those bytes into the step and run rows, after the CANCELLED rows', async () => {
      bq.server.setJobLatency(10 * 60_000);
      const controller = new AbortController();
      const job = jobFor(partial, TENANT, {});
      const running = executeRun(deps, job, { ...options(), signal: controller.signal });
      await eventually('the reservation', async () => ((await quota()).remaining_bytes_today < BUDGET ? true : undefined));
      controller.abort();
      const outcome = await running;
      expect(outcome.status).to.equal('CANCELLED');
      expect(outcome.steps[0]?.bytesBilled, 'not known when the run ends').to.equal(0);
      bq.server.setJobLatency(0); // the rows are read by query jobs

      const step = await eventually('the step row with the billed bytes', async () => {
        await logWriter.flush();
        const row = await stepRow(job.pipelineLoggingId);
        return row?.['bytes_billed'] === 25 * MIB ? row : undefined;
      });
      expect(step).to.include({ status: 'CANCELLED', estimated_cost_usd: costUsd(25 * MIB, PRICE) });
      expect(await runRow(job.pipelineLoggingId)).to.include({ status: 'CANCELLED', bytes_billed: 25 * MIB, estimated_cost_usd: costUsd(25 * MIB, PRICE) });
      // And for the live record, which the finaliser writes again once the run ended (run-late-steps.test.ts).
      expect((await outcome.late)?.[0]).to.include({ status: 'CANCELLED', bytesBilled: 25 * MIB });
    });
  });

  describe('validate', () => {
    it('returns the estimate and whether the run fits the cap and the remaining budget', async () => {
      const limits = await budget.limits(TENANT);
      const fits = costEstimate(await validatePipeline({ warehouse: bq.warehouse }, medium, {}, { tenantId: TENANT }), limits);
      expect(fits).to.deep.equal({ estimated_bytes: 60 * MIB, fits_budget: true, max_bytes_billed_per_query: CAP, daily_bytes_budget: BUDGET, remaining_bytes_today: BUDGET });
      const over = costEstimate(await validatePipeline({ warehouse: bq.warehouse }, huge, {}, { tenantId: TENANT }), limits);
      expect(over).to.include({ estimated_bytes: 200 * MIB, fits_budget: false });
    });
  });
});

describe('cost guardrails on the embedded warehouse', function () {
  this.timeout(30_000);

  it('reports bytes as unknown (null), never invented, in the step and run rows and in validate', async () => {
    const duck = await createTestDuckDb();
    const r = await createTestRedis();
    const clock = new ManualClock('2025-11-15T08:00:00Z');
    try {
      const warehouse: Warehouse = duck.warehouse;
      await createTenantTables(warehouse, TENANT);
      await writeProfileCache(r.redis, r.keys, TENANT, { ...STARTER_PROFILE, maxBytesBilledPerQuery: CAP, dailyBytesBudget: BUDGET });
      const budget = new BytesBudget({ redis: r.redis, keys: r.keys, clock });
      const logWriter = createRunLogWriter({ warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      const costGuard = buildCostGuard(
        { config: { warehouse: { pricePerTibUsd: PRICE } } as Config, warehouse, logger: silentLogger(), metrics: createMetrics() },
        budget,
      );
      expect(costGuard, 'DuckDB bills nothing: no guard').to.equal(null);
      const job = jobFor(medium, TENANT, {});
      const outcome = await executeRun({ warehouse, logWriter, logger: quietLogger, clock, templates: createTemplateRegistry([medium]) }, job, { signal: new AbortController().signal, workerInstance: 'w', attempt: 1 });
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
      await logWriter.close();
      const step = (await warehouse.query('SELECT * FROM `acme_corp.x_meta_step_logs` WHERE pipeline_logging_id = @id', { params: { id: job.pipelineLoggingId } })).rows[0];
      expect(step).to.include({ bytes_processed: null, bytes_billed: null, estimated_cost_usd: null });
      const run = (await warehouse.query('SELECT * FROM `acme_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', { params: { id: job.pipelineLoggingId } })).rows[0];
      expect(run).to.include({ bytes_processed: null, bytes_billed: null, estimated_cost_usd: null });

      const report = await validatePipeline({ warehouse }, medium, {}, { tenantId: TENANT });
      expect(report.steps[0]?.estimated_bytes).to.equal(null);
      expect(costEstimate(report, await budget.limits(TENANT))).to.include({ estimated_bytes: null, fits_budget: null, daily_bytes_budget: BUDGET });
    } finally {
      await r.cleanup();
      await duck.cleanup();
    }
  });
});
