import { expect } from 'chai';
import { createMetrics } from '../../src/observability/metrics';
import { executeRun } from '../../src/pipelines/executor';
import type { ExecutorDeps } from '../../src/pipelines/executor';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import type { RunLogWriter } from '../../src/pipelines/run-log-writer';
import { createTemplateRegistry } from '../../src/pipelines/template-registry';
import { ManualClock } from '../../src/shared/clock';
import { silentLogger } from '../../src/shared/logger';
import { buildCostGuard } from '../../src/system/cost-guard';
import { BytesBudget } from '../../src/tenants/bytes-budget';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import type { Config } from '../../src/config';
import { STARTER_PROFILE } from '../helpers/profiles';
import { eventually } from '../helpers/polling';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { createTestBigQuery } from '../helpers/warehouse';
import type { TestBigQuery } from '../helpers/warehouse';
import { createTenantTables, inlineTemplate, jobFor, quietLogger } from '../pipelines/helpers';
import { billedByServer, interceptBigQuery, isGetQueryResults, isJobsGet } from '../helpers/fake-bigquery/faults';
import type { BqFaults } from '../helpers/fake-bigquery/faults';

/**
 * Cost guardrails: the daily bytes budget counts every byte BigQuery billed for a tenant's pipeline steps, also for
 * a query job that ran (and billed) but whose results or billing figures could not be read — BigQuery answering
 * 5xx on jobs.get / getQueryResults for a moment. Such a job is cancelled and its reservation settled to what it
 * billed once BigQuery says (or, never told, to its whole grant), while the step retry runs a job of its own.
 */
const TENANT = 'acme_corp';
const MIB = 1024 * 1024;
const CAP = 100 * MIB;
const BUDGET = 300 * MIB;

const once = inlineTemplate(
  `
description: medium query, not retried
retry: { attempts: 1, backoff_seconds: 1 }
steps:
  - { id: scan, type: query, sql: "SELECT 'medium' AS size" }
`,
  'once',
);

const medium = inlineTemplate(
  `
description: medium query
retry: { attempts: 3, backoff_seconds: 1 }
steps:
  - { id: scan, type: query, sql: "SELECT 'medium' AS size" }
`,
  'medium',
);

describe('bytes budget when a billed job\'s figures cannot be read (BigQuery)', function () {
  this.timeout(60_000);
  let bq: TestBigQuery;
  let faults: BqFaults;
  let r: TestRedis;
  let budget: BytesBudget;
  let logWriter: RunLogWriter;
  let deps: ExecutorDeps;
  const clock = new ManualClock('2025-11-15T08:00:00Z');
  const options = () => ({ signal: new AbortController().signal, workerInstance: 'w', attempt: 1 });

  before(async () => {
    bq = await createTestBigQuery();
    faults = interceptBigQuery(bq.server);
    bq.server.setBytesRule((sql) => (sql.includes("'medium'") ? { processed: 60 * MIB, billed: 60 * MIB } : undefined));
    await createTenantTables(bq.warehouse, TENANT);
  });
  after(async () => bq.cleanup());

  beforeEach(async () => {
    r = await createTestRedis();
    await writeProfileCache(r.redis, r.keys, TENANT, { ...STARTER_PROFILE, maxBytesBilledPerQuery: CAP, dailyBytesBudget: BUDGET });
    budget = new BytesBudget({ redis: r.redis, keys: r.keys, clock });
    logWriter = createRunLogWriter({ warehouse: bq.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
    const costGuard = buildCostGuard({ config: { warehouse: { pricePerTibUsd: 6.25 } } as Config, warehouse: bq.warehouse, logger: silentLogger(), metrics: createMetrics() }, budget);
    deps = { warehouse: bq.warehouse, logWriter, logger: quietLogger, clock, templates: createTemplateRegistry([medium, once]), ...(costGuard ? { costGuard } : {}) };
  });
  afterEach(async () => {
    faults.clear();
    bq.server.setJobLatency(0);
    await logWriter.close();
    await r.cleanup();
  });

  it('counts the bytes of a job that completed when its jobs.get (billing figures) answered 503 through every retry', async () => {
    const before = billedByServer(bq.server, "'medium'");
    // The job runs and bills 60 MiB; only the read of its statistics fails (the adapter's 4 attempts).
    faults.add({ when: isJobsGet, fault: { status: 503, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' }, times: 4 });
    const outcome = await executeRun(deps, jobFor(medium, TENANT, {}), options());
    expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');

    const after = billedByServer(bq.server, "'medium'");
    const billedByBigQuery = after.billed - before.billed;
    expect(after.jobs - before.jobs, 'the step retry ran a second job').to.equal(2);
    expect(billedByBigQuery).to.equal(120 * MIB);
    const usage = await budget.usage(TENANT);
    expect(usage.billedToday, "the tenant's budget counts every byte BigQuery billed").to.equal(billedByBigQuery);
  });

  it('does not leave a job running (and billing) in BigQuery when its results could not be read, and counts what it billed', async () => {
    const before = billedByServer(bq.server, "'medium'");
    bq.server.setJobLatency(300); // the job is still RUNNING while its result polls fail
    faults.add({ when: isGetQueryResults, fault: { status: 503, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' }, times: 4 });
    const outcome = await executeRun(deps, jobFor(medium, TENANT, {}), options());
    expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
    await new Promise((resolve) => setTimeout(resolve, 500)); // the first job has finished in BigQuery by now

    const after = billedByServer(bq.server, "'medium'");
    const cancels = bq.server.requests.filter((q) => q.kind === 'cancels').length;
    const billedByBigQuery = after.billed - before.billed;
    const usage = await budget.usage(TENANT);
    // Either the abandoned job is cancelled (and what it billed settled), or its bill is counted: never neither.
    expect({ billedToday: usage.billedToday, reservedToday: usage.reservedToday }, `cancels sent: ${cancels}`).to.deep.equal({ billedToday: billedByBigQuery, reservedToday: 0 });
  });
  it('settles the whole grant (the most the job can bill) when BigQuery never says what the job billed', async () => {
    const before = billedByServer(bq.server, "'medium'");
    faults.add({ when: isJobsGet, fault: { status: 503, reason: 'backendError', message: 'Error encountered during execution. Retrying may solve the problem.' } });
    const outcome = await executeRun(deps, jobFor(once, TENANT, {}), options());
    expect(outcome.status).to.equal('FAILED');
    const usage = await eventually('the settle', async () => {
      const u = await budget.usage(TENANT);
      return u.reservedToday === 0 ? u : undefined;
    });
    const billedByBigQuery = billedByServer(bq.server, "'medium'").billed - before.billed;
    expect(billedByBigQuery).to.equal(60 * MIB);
    // The grant is the dry run's estimate plus headroom, never above the cap: at least what was billed.
    expect(usage.billedToday).to.be.at.least(billedByBigQuery).and.at.most(CAP);
  });
});
