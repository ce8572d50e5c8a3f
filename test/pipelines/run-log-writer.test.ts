import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { createRunLogWriter } from '../../src/pipelines/run-log-writer';
import type { RunSnapshot, StepSnapshot } from '../../src/pipelines/run-log-writer';
import { WarehouseError } from '../../src/warehouse/types';
import type { InsertOptions, Row, TableRef, Warehouse } from '../../src/warehouse/types';
import { quietLogger } from './helpers';

/** Records insertRows calls; fails the next `failNext` of them. */
function fakeWarehouse() {
  const calls: Array<{ table: string; rows: Row[]; insertIds: string[] }> = [];
  const waiters: Array<() => void> = [];
  const state = { failNext: 0 };
  const warehouse = {
    kind: 'duckdb',
    async insertRows(ref: TableRef, rows: Row[], options?: InsertOptions) {
      if (state.failNext > 0) {
        state.failNext--;
        throw new WarehouseError('backend unavailable', 'unavailable');
      }
      calls.push({ table: `${ref.dataset}.${ref.table}`, rows, insertIds: options?.insertIds ?? [] });
      waiters.splice(0).forEach((w) => w());
    },
  } as unknown as Warehouse;
  const nextInsert = () => new Promise<void>((resolve) => waiters.push(resolve));
  return { warehouse, calls, state, nextInsert };
}

const run = (id: string, status: string): RunSnapshot => ({
  pipeline_logging_id: id,
  pipeline_id: 'acme_corp-gcp-cost-dryrun',
  tenant_id: 'acme_corp',
  user_id: null,
  trigger_type: 'api',
  status,
  start_time: '2025-11-15T08:00:00.000Z',
  end_time: null,
  duration_ms: null,
  parameters: {},
  error_message: null,
  worker_instance: 'w',
  steps_total: 1,
  steps_done: 0,
  created_at: null,
  bytes_processed: null,
  bytes_billed: null,
  estimated_cost_usd: null,
});
const step = (id: string, name: string): StepSnapshot => ({
  pipeline_logging_id: id,
  step_name: name,
  step_type: 'dryrun',
  step_index: 0,
  status: 'RUNNING',
  start_time: null,
  end_time: null,
  duration_ms: null,
  rows_processed: null,
  bytes_processed: null,
  bytes_billed: null,
  estimated_cost_usd: null,
  error_message: null,
  attempt: 1,
});

describe('run log writer', () => {
  const clock = new ManualClock('2025-11-15T08:00:00Z');

  describe('when several runs write within one interval', () => {
    it('sends one insert per (dataset, table) with event time and seq on every row', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      writer.writeRun('acme_corp', run('r2', 'RUNNING'), 10);
      writer.writeStep('acme_corp', step('r1', 'a'), 11);
      writer.writeRun('beta_corp', run('r3', 'RUNNING'), 10);
      expect(writer.pendingCount()).to.equal(4);
      await writer.flush();
      expect(fake.calls.map((c) => [c.table, c.rows.length]).sort()).to.deep.equal([
        ['acme_corp.x_meta_pipeline_runs_events', 2],
        ['acme_corp.x_meta_step_logs_events', 1],
        ['beta_corp.x_meta_pipeline_runs_events', 1],
      ]);
      expect(fake.calls[0]?.rows[0]).to.include({ event_time: '2025-11-15T08:00:00.000Z', event_seq: 10 });
      expect(new Set(fake.calls.flatMap((c) => c.insertIds)).size).to.equal(4);
      expect(writer.pendingCount()).to.equal(0);
      await writer.close();
    });
  });

  describe('when the interval passes', () => {
    it('flushes by itself', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 5 });
      const inserted = fake.nextInsert();
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      await inserted;
      expect(fake.calls).to.have.length(1);
      await writer.close();
    });
  });

  describe('when the worker goes idle (flushIdle)', () => {
    it('writes what waits now instead of at the paced time', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 10);
      const inserted = fake.nextInsert();
      writer.flushIdle();
      await inserted;
      expect(fake.calls.map((c) => c.rows.length)).to.deep.equal([1]);
      writer.flushIdle(); // nothing waits: no insert
      await writer.close();
      expect(fake.calls).to.have.length(1);
    });

    it('leaves a table that is backing off to its retry time', async () => {
      const fake = fakeWarehouse();
      fake.state.failNext = 1;
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000, retryBaseMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 10);
      await writer.flush().catch(() => undefined); // fails: retry in a minute
      writer.flushIdle();
      await new Promise((r) => setTimeout(r, 20));
      expect(fake.calls, 'no insert before the retry time').to.have.length(0);
      expect(writer.pendingCount()).to.equal(1);
      await writer.close();
      expect(fake.calls).to.have.length(1);
    });
  });

  describe('when many tables wait (the flush pacer)', () => {
    // 2 ms expected per table, 20 x: one table keeps the 20 ms base, 40 tables gather for 1.6 s. Timers only ever
    // fire late, so "not yet" after 300 ms holds on any machine.
    const paced = (fake: ReturnType<typeof fakeWarehouse>) =>
      createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 20, maxFlushIntervalMs: 60_000, flushCostPerTableMs: 2 });
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    it('lets rows of many tables gather for the expected cost of their flush, then writes them in one flush', async () => {
      const fake = fakeWarehouse();
      const writer = paced(fake);
      for (let i = 0; i < 40; i += 1) writer.writeRun(`tenant_${i}`, run(`r${i}`, 'COMPLETED'), 1);
      await pause(300);
      expect(fake.calls).to.have.length(0);
      const inserted = fake.nextInsert();
      await inserted;
      await writer.close();
      expect(fake.calls).to.have.length(40);
    });

    it('keeps the base interval for a flush of few tables', async () => {
      const fake = fakeWarehouse();
      const writer = paced(fake);
      const inserted = fake.nextInsert();
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 1);
      await inserted;
      expect(fake.calls).to.have.length(1);
      await writer.close();
    });
  });

  describe('when maxBatchRows rows are buffered', () => {
    it('flushes without waiting for the interval', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000, maxBatchRows: 3 });
      const inserted = fake.nextInsert();
      for (let i = 0; i < 3; i++) writer.writeRun('acme_corp', run(`r${i}`, 'RUNNING'), 10);
      await inserted;
      expect(fake.calls[0]?.rows).to.have.length(3);
      await writer.close();
    });
  });

  describe('when a snapshot is superseded before its flush', () => {
    it('sends only the latest snapshot per key, with its own insert id', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      writer.writeStep('acme_corp', step('r1', 'a'), 11);
      writer.writeStep('acme_corp', { ...step('r1', 'a'), status: 'COMPLETED' }, 12);
      writer.writeStep('acme_corp', step('r1', 'b'), 13);
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 14);
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 9); // older than what waits: the view would never show it
      expect(writer.pendingCount()).to.equal(3);
      await writer.flush();
      const sent = (table: string) => fake.calls.find((c) => c.table === `acme_corp.${table}`);
      expect(sent('x_meta_pipeline_runs_events')?.rows.map((r) => [r['status'], r['event_seq']])).to.deep.equal([['COMPLETED', 14]]);
      expect(sent('x_meta_pipeline_runs_events')?.insertIds).to.deep.equal(['run:r1:14']);
      expect(sent('x_meta_step_logs_events')?.rows.map((r) => [r['step_name'], r['status']])).to.deep.equal([
        ['a', 'COMPLETED'],
        ['b', 'RUNNING'],
      ]);
      await writer.close();
    });

    it('sends every row saying a run ended, so a run that ended two ways stays visible in the events table', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 20);
      writer.writeRun('acme_corp', run('r1', 'CANCELLED'), 30);
      writer.writeRun('acme_corp', run('r1', 'FAILED'), 5);
      await writer.flush();
      expect(fake.calls[0]?.rows.map((r) => r['status'])).to.deep.equal(['COMPLETED', 'CANCELLED', 'FAILED']);
      await writer.close();
    });

    it('never drops a row already sent: a later snapshot goes in the next flush', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      const first = writer.flush();
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 20);
      await first;
      await writer.flush();
      expect(fake.calls.map((c) => c.rows.map((r) => r['status']))).to.deep.equal([['RUNNING'], ['COMPLETED']]);
      await writer.close();
    });
  });

  describe('when the warehouse fails', () => {
    it('keeps the rows, reports them pending, and writes them in order once it recovers', async () => {
      const fake = fakeWarehouse();
      fake.state.failNext = 2;
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000, retryBaseMs: 60_000 });
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      await writer.flush().then(
        () => expect.fail('flush should reject'),
        (err: Error) => expect(err.message).to.match(/1 rows pending/),
      );
      writer.writeRun('acme_corp', run('r2', 'RUNNING'), 20);
      expect(writer.pendingCount()).to.equal(2);
      await writer.flush().catch(() => undefined);
      expect(writer.pendingCount()).to.equal(2);
      // Written while the failed row waits for its retry: it replaces r1's snapshot (the view shows only the latest).
      writer.writeRun('acme_corp', run('r1', 'COMPLETED'), 1000);
      expect(writer.pendingCount()).to.equal(2);
      await writer.flush();
      expect(writer.pendingCount()).to.equal(0);
      expect(fake.calls).to.have.length(1);
      expect(fake.calls[0]?.rows.map((r) => [r['pipeline_logging_id'], r['status']])).to.deep.equal([
        ['r1', 'COMPLETED'],
        ['r2', 'RUNNING'],
      ]);
      await writer.close();
    });

    it('retries on its own with backoff', async () => {
      const fake = fakeWarehouse();
      fake.state.failNext = 1;
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 1, retryBaseMs: 1 });
      const inserted = fake.nextInsert();
      writer.writeRun('acme_corp', run('r1', 'RUNNING'), 10);
      await inserted;
      await writer.flush(); // lets the in-flight retry finish its bookkeeping
      expect(writer.pendingCount()).to.equal(0);
      expect(fake.calls).to.have.length(1);
      await writer.close();
    });

    it("backs off per table, so one tenant's missing dataset does not hold back another's logs", async () => {
      const fake = fakeWarehouse();
      const inner = fake.warehouse.insertRows.bind(fake.warehouse);
      const errors: unknown[] = [];
      const logger = Object.assign(Object.create(quietLogger), { error: (o: unknown) => errors.push(o) });
      fake.warehouse.insertRows = async (ref, rows, options) => {
        if (ref.dataset === 'ghost_corp') throw new WarehouseError('Not found: Dataset ghost_corp', 'not_found');
        return inner(ref, rows, options);
      };
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger, clock, flushIntervalMs: 1, retryBaseMs: 60_000, maxNotFoundAttempts: 2 });
      writer.writeRun('ghost_corp', run('g1', 'RUNNING'), 10);
      await writer.flush().catch(() => undefined);
      const inserted = fake.nextInsert();
      writer.writeRun('acme_corp', run('a1', 'RUNNING'), 10);
      await inserted; // the timed flush went out although ghost_corp is backing off for a minute
      await new Promise((resolve) => setImmediate(resolve)); // the insert's bookkeeping completes
      expect(fake.calls.map((c) => c.table)).to.deep.equal(['acme_corp.x_meta_pipeline_runs_events']);
      expect(writer.pendingCount()).to.equal(1);
      await writer.flush().catch(() => undefined);
      expect(writer.pendingCount()).to.equal(0);
      expect(errors[0]).to.deep.include({ table: 'ghost_corp.x_meta_pipeline_runs_events', dropped: 1 });
      await writer.close();
    });

    it('drops rows only past maxBufferedRows, and says so', async () => {
      const fake = fakeWarehouse();
      fake.state.failNext = 100;
      const errors: unknown[] = [];
      const logger = Object.assign(Object.create(quietLogger), { error: (o: unknown) => errors.push(o) });
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger, clock, flushIntervalMs: 60_000, retryBaseMs: 60_000, maxBufferedRows: 2, closeAttempts: 1 });
      for (let i = 0; i < 3; i++) writer.writeRun('acme_corp', run(`r${i}`, 'RUNNING'), 10);
      expect(writer.pendingCount()).to.equal(2);
      expect(errors[0]).to.deep.include({ dropped: 1 });
      await writer.close();
      expect(errors.at(-1)).to.deep.include({ pending: 2 });
    });
  });

  describe('a backlog larger than maxRowsPerInsert (after an outage)', () => {
    it('goes as several insert calls of at most that many rows, oldest first, each row once', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000, maxBatchRows: 1000, maxRowsPerInsert: 10 });
      for (let i = 0; i < 25; i++) writer.writeRun('acme_corp', run(`r${String(i).padStart(2, '0')}`, 'COMPLETED'), 10);
      await writer.flush();
      expect(fake.calls.map((c) => c.rows.length)).to.deep.equal([10, 10, 5]);
      expect(fake.calls.flatMap((c) => c.rows.map((r) => r.pipeline_logging_id))).to.deep.equal(Array.from({ length: 25 }, (_, i) => `r${String(i).padStart(2, '0')}`));
      expect(writer.pendingCount()).to.equal(0);
      await writer.close();
    });

    it('a failed call keeps its rows and the ones after it, in order, for the next flush', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000, retryBaseMs: 60_000, maxBatchRows: 1000, maxRowsPerInsert: 10 });
      for (let i = 0; i < 25; i++) writer.writeRun('acme_corp', run(`r${String(i).padStart(2, '0')}`, 'COMPLETED'), 10);
      const first = fake.nextInsert().then(() => {
        fake.state.failNext = 1;
      });
      await writer.flush().catch(() => undefined);
      await first;
      expect(fake.calls.map((c) => c.rows.length), 'the first call went, the second failed').to.deep.equal([10]);
      expect(writer.pendingCount()).to.equal(15);
      await writer.flush();
      expect(fake.calls.map((c) => c.rows.length)).to.deep.equal([10, 10, 5]);
      expect(fake.calls.flatMap((c) => c.rows.map((r) => r.pipeline_logging_id))).to.deep.equal(Array.from({ length: 25 }, (_, i) => `r${String(i).padStart(2, '0')}`));
      await writer.close();
    });
  });

  describe('close', () => {
    it('writes what is buffered', async () => {
      const fake = fakeWarehouse();
      const writer = createRunLogWriter({ warehouse: fake.warehouse, logger: quietLogger, clock, flushIntervalMs: 60_000 });
      writer.writeDq('acme_corp', [
        {
          pipeline_logging_id: 'r1',
          step_name: 'dq',
          target_table: 'acme_corp.t',
          check_name: 'has_rows',
          check_type: 'row_count',
          severity: 'error',
          passed: true,
          observed: { row_count: 3 },
          executed_at: '2025-11-15T08:00:00.000Z',
          overall_status: 'PASS',
        },
      ]);
      await writer.close();
      expect(fake.calls.map((c) => c.table)).to.deep.equal(['acme_corp.x_meta_dq_results_events']);
    });
  });
});
