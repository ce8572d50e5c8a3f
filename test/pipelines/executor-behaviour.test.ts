import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { executeRun } from '../../src/pipelines/executor';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import { createTemplateRegistry } from '../../src/pipelines/template-registry';
import type { ExecuteOptions } from '../../src/pipelines/executor';
import type { RunLogWriter } from '../../src/pipelines/run-log-writer';
import type { RunProgress, Template } from '../../src/pipelines/types';
import type { RunParameters } from '../../src/queues/pipeline-runs';
import { WarehouseError } from '../../src/warehouse/types';
import type { Warehouse } from '../../src/warehouse/types';
import { createTestDuckDb } from '../helpers/warehouse';
import type { TestWarehouse } from '../helpers/warehouse';
import { createTenantTables, inlineTemplate, instrument, jobFor, quietLogger, recordingSleep } from './helpers';

const TENANT = 'beta_corp';
/** A query DuckDB needs many seconds for: only an abort ends it quickly. */
const SLOW_SQL = 'SELECT SUM(a.range * b.range) AS s FROM range(2000000) a, range(2000000) b';

describe('executor', () => {
  let wh: TestWarehouse;
  let logWriter: RunLogWriter;
  const clock = new ManualClock('2025-11-15T08:00:00Z');

  before(async () => {
    wh = await createTestDuckDb();
    await createTenantTables(wh.warehouse, TENANT);
  });
  beforeEach(() => {
    logWriter = createRunLogWriter({ warehouse: wh.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
  });
  afterEach(async () => logWriter.close());
  after(async () => wh.cleanup());

  const execute = async (template: Template, params: RunParameters = {}, opts: Partial<ExecuteOptions> & { warehouse?: Warehouse; sleep?: (ms: number) => Promise<void> } = {}) => {
    const job = jobFor(template, TENANT, params);
    const outcome = await executeRun(
      { warehouse: opts.warehouse ?? wh.warehouse, logWriter, logger: quietLogger, clock, templates: createTemplateRegistry([template]), ...(opts.sleep ? { sleep: opts.sleep } : {}) },
      job,
      { signal: opts.signal ?? new AbortController().signal, workerInstance: 'w1', attempt: 1, ...(opts.onProgress ? { onProgress: opts.onProgress } : {}) },
    );
    return { job, outcome };
  };
  const statuses = (o: { steps: Array<{ id: string; status: string }> }) => Object.fromEntries(o.steps.map((s) => [s.id, s.status]));

  describe('independent steps', () => {
    it('run in parallel, and a dependant starts only after both', async () => {
      const template = inlineTemplate(`
description: fan-in
steps:
  - { id: left, type: query, sql: "SELECT 1 AS n" }
  - { id: right, type: query, sql: "SELECT 2 AS n" }
  - { id: join, type: query, sql: "SELECT 3 AS n", depends_on: [left, right] }
`);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const started: string[] = [];
      const spy = instrument(wh.warehouse, async (sql) => {
        started.push(sql);
        if (sql !== 'SELECT 3 AS n') {
          if (started.length === 2) release();
          await gate; // each of the first two waits until the other has started too
        }
      });
      const { outcome } = await execute(template, {}, { warehouse: spy });
      expect(outcome.status).to.equal('COMPLETED');
      expect(started.slice(0, 2).sort()).to.deep.equal(['SELECT 1 AS n', 'SELECT 2 AS n']);
      expect(started[2]).to.equal('SELECT 3 AS n');
    });
  });

  describe('data quality', () => {
    before(async () => {
      await wh.warehouse.query("CREATE TABLE `beta_corp.orders` AS SELECT * FROM (VALUES (1, 'open', 10.0), (2, 'closed', -5.0), (2, 'weird', NULL)) t(id, status, amount)");
    });
    const dqTemplate = (severity: string) =>
      inlineTemplate(`
description: checks on orders
steps:
  - id: checks
    type: data_quality
    table: orders
    checks:
      - { type: row_count, min: 1, severity: error }
      - { type: accepted_values, column: status, values: [open, closed], severity: ${severity} }
      - { type: range, column: amount, min: 0, severity: warn }
  - { id: after_checks, type: query, sql: "SELECT 1 AS n", depends_on: [checks] }
`);
    const dqRows = async (runId: string) =>
      (
        await wh.warehouse.query('SELECT check_name, severity, passed, overall_status, observed FROM `beta_corp.x_meta_dq_results` WHERE pipeline_logging_id = @id ORDER BY check_name', {
          params: { id: runId },
        })
      ).rows;

    it('records a failed warn check as WARNING and carries on', async () => {
      const { job, outcome } = await execute(dqTemplate('warn'));
      await logWriter.flush();
      expect(outcome.status).to.equal('COMPLETED');
      expect(statuses(outcome)).to.deep.equal({ checks: 'COMPLETED', after_checks: 'COMPLETED' });
      const rows = await dqRows(job.pipelineLoggingId);
      expect(rows.map((r) => [r['check_name'], r['passed'], r['overall_status']])).to.deep.equal([
        ['accepted_values_status', false, 'WARNING'],
        ['range_amount', false, 'WARNING'],
        ['row_count', true, 'WARNING'],
      ]);
      expect(rows[0]?.['observed']).to.deep.include({ failing_rows: 1 });
    });

    it('fails the step on a failed error check, skips its dependants and records FAIL', async () => {
      const { job, outcome } = await execute(dqTemplate('error'));
      await logWriter.flush();
      expect(outcome.status).to.equal('FAILED');
      expect(statuses(outcome)).to.deep.equal({ checks: 'FAILED', after_checks: 'SKIPPED' });
      expect(outcome.steps[0]?.errorMessage).to.equal('Data quality checks failed: accepted_values_status');
      expect(outcome.steps[0]?.attempt).to.equal(1);
      expect((await dqRows(job.pipelineLoggingId)).map((r) => r['overall_status'])).to.deep.equal(['FAIL', 'FAIL', 'FAIL']);
    });

    it('covers not_null, unique, freshness and custom checks', async () => {
      const template = inlineTemplate(`
description: more checks
steps:
  - id: checks
    type: data_quality
    table: orders
    filter: "id >= 1"
    checks:
      - { type: not_null, columns: [id, amount], severity: warn }
      - { type: unique, columns: [id], severity: warn }
      - { type: custom, name: negative_amounts, sql: "SELECT * FROM \`{tenant_id}.orders\` WHERE amount < 0", severity: warn }
      - { type: freshness, column: seen_at, max_age: 36h, severity: warn }
`);
      await wh.warehouse.query('ALTER TABLE `beta_corp.orders` ADD COLUMN IF NOT EXISTS seen_at TIMESTAMPTZ');
      await wh.warehouse.query('UPDATE `beta_corp.orders` SET seen_at = @t', { params: { t: new Date('2025-11-14T08:00:00Z') } });
      const { job, outcome } = await execute(template);
      await logWriter.flush();
      expect(outcome.status).to.equal('COMPLETED');
      const rows = await dqRows(job.pipelineLoggingId);
      const byName = Object.fromEntries(rows.map((r) => [r['check_name'], r]));
      expect(byName['not_null_id_amount']?.['observed']).to.deep.equal({ null_counts: { id: 0, amount: 1 } });
      expect(byName['unique_id']?.['observed']).to.deep.equal({ duplicate_keys: 1 });
      expect(byName['negative_amounts']?.['observed']).to.deep.equal({ failing_rows: 1 });
      expect(byName['freshness_seen_at']).to.deep.include({ passed: true });
      expect(byName['freshness_seen_at']?.['observed']).to.deep.include({ age_hours: 24 });
    });
  });

  describe('when a step exceeds its timeout', () => {
    it('aborts the step, cancels its warehouse query and fails the run', async () => {
      const template = inlineTemplate(`
description: slow
steps:
  - { id: slow, type: query, sql: "${SLOW_SQL}", timeout_minutes: 0.004 }
`);
      const spy = instrument(wh.warehouse);
      const { outcome } = await execute(template, {}, { warehouse: spy });
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.steps[0]).to.include({ status: 'FAILED', errorMessage: 'Step timed out after 0.004 minute(s)' });
      expect(spy.queries[0]?.signal?.aborted).to.equal(true);
      // The query itself ended as cancelled (DuckDB interrupt) before the run returned, not merely abandoned.
      expect(spy.queries[0]?.error).to.be.instanceOf(WarehouseError).with.property('reason', 'cancelled');
    });
  });

  describe('when a step fails transiently', () => {
    it('retries with exponential backoff (step retry overriding the template) and succeeds', async () => {
      const template = inlineTemplate(`
description: flaky
retry: { attempts: 1, backoff_seconds: 1 }
steps:
  - { id: flaky, type: query, sql: "SELECT 1 AS n", retry: { attempts: 4, backoff_seconds: 2 } }
`);
      let failures = 2;
      const spy = instrument(wh.warehouse, () => {
        if (failures-- > 0) throw new WarehouseError('backend error', 'unavailable');
      });
      const { sleep, waits } = recordingSleep();
      const { job, outcome } = await execute(template, {}, { warehouse: spy, sleep });
      expect(outcome.status).to.equal('COMPLETED');
      expect(outcome.steps[0]).to.include({ status: 'COMPLETED', attempt: 3 });
      expect(waits).to.deep.equal([2000, 4000]);
      await logWriter.flush();
      const step = await wh.warehouse.query('SELECT status, attempt FROM `beta_corp.x_meta_step_logs` WHERE pipeline_logging_id = @id', { params: { id: job.pipelineLoggingId } });
      expect(step.rows).to.deep.equal([{ status: 'COMPLETED', attempt: 3 }]);
    });

    it('gives up after the last attempt', async () => {
      const template = inlineTemplate(`
description: always down
retry: { attempts: 2, backoff_seconds: 1 }
steps:
  - { id: down, type: query, sql: "SELECT 1 AS n" }
`);
      const spy = instrument(wh.warehouse, () => {
        throw new WarehouseError('backend error', 'unavailable');
      });
      const { sleep, waits } = recordingSleep();
      const { outcome } = await execute(template, {}, { warehouse: spy, sleep });
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.steps[0]).to.include({ status: 'FAILED', attempt: 2, errorMessage: 'backend error' });
      expect(waits).to.deep.equal([1000]);
    });

    it('does not retry an error retrying cannot fix (a missing table)', async () => {
      const template = inlineTemplate(`
description: broken
retry: { attempts: 3, backoff_seconds: 1 }
steps:
  - { id: broken, type: query, sql: "SELECT * FROM \`{tenant_id}.missing_table\`" }
`);
      const { sleep, waits } = recordingSleep();
      const { outcome } = await execute(template, {}, { sleep });
      expect(outcome.steps[0]).to.include({ status: 'FAILED', attempt: 1 });
      expect(outcome.steps[0]?.errorMessage).to.match(/missing_table does not exist/);
      expect(waits).to.deep.equal([]);
    });

    for (const reason of ['access_denied', 'bytes_limit_exceeded'] as const) {
      it(`does not retry a refusal of the engine's isolation (${reason})`, async () => {
        const template = inlineTemplate(`
description: refused
retry: { attempts: 3, backoff_seconds: 1 }
steps:
  - { id: refused, type: query, sql: "SELECT 1 AS n" }
`);
        const spy = instrument(wh.warehouse, () => {
          throw new WarehouseError(`refused: ${reason}`, reason);
        });
        const { sleep, waits } = recordingSleep();
        const { outcome } = await execute(template, {}, { warehouse: spy, sleep });
        expect(outcome.steps[0]).to.include({ status: 'FAILED', attempt: 1, errorMessage: `refused: ${reason}` });
        expect(waits).to.deep.equal([]);
      });
    }
  });

  describe('on_failure', () => {
    const template = (mode: string) =>
      inlineTemplate(`
description: a failing branch
steps:
  - { id: bad, type: query, sql: "SELECT * FROM \`{tenant_id}.missing_table\`", on_failure: ${mode} }
  - { id: after_bad, type: query, sql: "SELECT 1 AS n", depends_on: [bad] }
  - { id: first, type: query, sql: "SELECT SUM(range) AS n FROM range(20000000)" }
  - { id: second, type: query, sql: "SELECT 1 AS n", depends_on: [first] }
`);
    // \`first\` is slow on purpose: \`bad\` fails at bind time, long before \`first\` ends, so in stop mode
    // \`second\` (ready only after \`first\`) must never start.

    it('continue: independent steps carry on and the run completes', async () => {
      const { outcome } = await execute(template('continue'));
      expect(outcome.status).to.equal('COMPLETED');
      expect(statuses(outcome)).to.deep.equal({ bad: 'FAILED', after_bad: 'SKIPPED', first: 'COMPLETED', second: 'COMPLETED' });
      expect(outcome.stepsDone).to.equal(4);
    });

    it('stop: no further step starts and the run fails naming the step', async () => {
      const { outcome } = await execute(template('stop'));
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.match(/^Step "bad" failed: /);
      expect(statuses(outcome)).to.deep.include({ bad: 'FAILED', after_bad: 'SKIPPED', second: 'SKIPPED' });
    });
  });

  describe('when the caller cancels a running run', () => {
    it('aborts the running query and ends CANCELLED', async () => {
      const template = inlineTemplate(`
description: cancellable
steps:
  - { id: slow, type: query, sql: "${SLOW_SQL}" }
  - { id: next, type: query, sql: "SELECT 1 AS n", depends_on: [slow] }
`);
      const controller = new AbortController();
      const spy = instrument(wh.warehouse, () => {
        setImmediate(() => controller.abort());
      });
      const progress: RunProgress[] = [];
      const { job, outcome } = await execute(template, {}, { warehouse: spy, signal: controller.signal, onProgress: (p) => progress.push(p) });
      expect(outcome.status).to.equal('CANCELLED');
      expect(statuses(outcome)).to.deep.equal({ slow: 'CANCELLED', next: 'CANCELLED' });
      expect(spy.queries[0]?.signal?.aborted).to.equal(true);
      expect(progress.at(-1)?.stepsDone).to.equal(2);
      await logWriter.flush();
      const run = await wh.warehouse.query('SELECT status, error_message FROM `beta_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', { params: { id: job.pipelineLoggingId } });
      expect(run.rows).to.deep.equal([{ status: 'CANCELLED', error_message: 'Run cancelled' }]);
    });
  });

  describe('when the run exceeds its own timeout', () => {
    it('aborts what runs and fails the run', async () => {
      const template = inlineTemplate(`
description: run timeout
timeout_minutes: 0.004
steps:
  - { id: slow, type: query, sql: "${SLOW_SQL}" }
`);
      const { outcome } = await execute(template);
      expect(outcome.status).to.equal('FAILED');
      expect(outcome.errorMessage).to.equal('Run timed out after 0.004 minute(s)');
    });
  });

  describe('query steps with a string parameter', () => {
    it('bind the value, so an injection attempt is stored as plain text', async () => {
      const template = inlineTemplate(`
description: labels
parameters:
  label: { type: string, required: true }
steps:
  - id: write
    type: query
    sql: "SELECT @label AS label"
    destination:
      table: labels
      write_mode: append
      schema: { columns: [{ name: label, type: STRING }] }
`);
      const evil = "x'); DROP TABLE beta_corp.x_meta_step_logs_events; --";
      const { outcome } = await execute(template, { label: evil });
      expect(outcome.status).to.equal('COMPLETED');
      expect((await wh.warehouse.query('SELECT label FROM `beta_corp.labels`')).rows).to.deep.equal([{ label: evil }]);
      expect(await wh.warehouse.tableExists({ dataset: TENANT, table: 'x_meta_step_logs_events' })).to.equal(true);
    });
  });

  describe('write modes', () => {
    const modeTemplate = (mode: string, extra = '') =>
      inlineTemplate(`
description: write modes
parameters:
  n: { type: integer, required: true }
steps:
  - id: write
    type: query
    sql: "SELECT @n AS id, CAST(@n AS STRING) AS v"
    destination:
      table: mode_${mode}
      write_mode: ${mode}
${extra}
      schema: { columns: [{ name: id, type: INT64 }, { name: v, type: STRING }] }
`);
    const rows = async (table: string) => (await wh.warehouse.query(`SELECT id, v FROM \`beta_corp.${table}\` ORDER BY id`)).rows;

    it('append adds rows, and a re-executed run replaces only its own', async () => {
      const t = modeTemplate('append');
      await execute(t, { n: 1 });
      const second = await execute(t, { n: 2 });
      await executeRun(
        { warehouse: wh.warehouse, logWriter, logger: quietLogger, clock, templates: createTemplateRegistry([t]) },
        second.job,
        { signal: new AbortController().signal, workerInstance: 'w2', attempt: 1 },
      );
      expect(await rows('mode_append')).to.deep.equal([{ id: 1, v: '1' }, { id: 2, v: '2' }]);
    });

    it('truncate keeps only the latest result', async () => {
      const t = modeTemplate('truncate');
      await execute(t, { n: 1 });
      await execute(t, { n: 2 });
      expect(await rows('mode_truncate')).to.deep.equal([{ id: 2, v: '2' }]);
    });

    it('merge updates matching keys and inserts new ones', async () => {
      const t = modeTemplate('merge', '      merge_keys: [id]');
      await execute(t, { n: 1 });
      await execute(t, { n: 1 });
      await execute(t, { n: 3 });
      expect(await rows('mode_merge')).to.deep.equal([{ id: 1, v: '1' }, { id: 3, v: '3' }]);
    });
  });

  describe('run logs', () => {
    it('write each state change once: no PENDING row for a step that starts at once, no RUNNING run row before the final one', async () => {
      const rows: string[] = [];
      const recorder: RunLogWriter = {
        writeRun: (_t, r) => void rows.push(`run ${r.status} ${r.steps_done}`),
        writeStep: (_t, r) => void rows.push(`step ${r.step_name} ${r.status}`),
        writeDq: () => undefined,
        flush: async () => undefined,
        flushIdle: () => undefined,
        close: async () => undefined,
        pendingCount: () => 0,
      };
      const template = inlineTemplate(`
description: two steps in a row
steps:
  - { id: first, type: query, sql: "SELECT 1 AS n" }
  - { id: second, type: query, sql: "SELECT 2 AS n", depends_on: [first] }
`);
      const job = jobFor(template, TENANT, {});
      const outcome = await executeRun({ warehouse: wh.warehouse, logWriter: recorder, logger: quietLogger, clock, templates: createTemplateRegistry([template]) }, job, {
        signal: new AbortController().signal,
        workerInstance: 'w',
        attempt: 1,
      });
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
      expect(rows).to.deep.equal([
        'run RUNNING 0',
        'step first RUNNING',
        'step second PENDING',
        'step first COMPLETED',
        'run RUNNING 1',
        'step second RUNNING',
        'step second COMPLETED',
        'run COMPLETED 2',
      ]);
    });

    it('go out as one insert per table for a whole run', async () => {
      const spy = instrument(wh.warehouse);
      const writer = createRunLogWriter({ warehouse: spy, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      const template = inlineTemplate(`
description: dryrun
steps:
  - { id: check, type: dryrun }
  - { id: q, type: query, sql: "SELECT 1 AS n", depends_on: [check] }
`);
      const job = jobFor(template, TENANT, {});
      const outcome = await executeRun({ warehouse: spy, logWriter: writer, logger: quietLogger, clock, templates: createTemplateRegistry([template]) }, job, {
        signal: new AbortController().signal,
        workerInstance: 'w',
        attempt: 1,
      });
      expect(outcome.status, outcome.errorMessage).to.equal('COMPLETED');
      await writer.close();
      expect(spy.inserts.map((i) => i.table).sort()).to.deep.equal(['beta_corp.x_meta_dq_results_events', 'beta_corp.x_meta_pipeline_runs_events', 'beta_corp.x_meta_step_logs_events']);
      const dq = await wh.warehouse.query('SELECT check_type, check_name, passed, overall_status FROM `beta_corp.x_meta_dq_results` WHERE pipeline_logging_id = @id', {
        params: { id: job.pipelineLoggingId },
      });
      expect(dq.rows).to.deep.equal([{ check_type: 'dryrun', check_name: 'tenant_infrastructure', passed: true, overall_status: 'PASS' }]);
    });
  });
});
