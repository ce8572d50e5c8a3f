/**
 * Micro-benchmark (issue 14.2, not part of `npm run bench`): what one run log flush costs DuckDB when its rows are spread over many
 * tenants' tables (fair dispatch's mix) against the same rows in one tenant's tables (a FIFO burst).
 *   npx tsx bench/append-mix.ts
 */
import { createRunLogWriter } from '../src/pipelines/run-log-writer';
import { silentLogger } from '../src/shared/logger';
import { dqResults, eventsTableName, eventsTableSpec, pipelineRuns, stepLogs } from '../src/warehouse/tables';
import { createTestDuckDb } from '../test/helpers/warehouse';
import { cpuMsOf } from './support';

const TENANTS = 20;
const FLUSHES = Number(process.env.FLUSHES ?? 40);

async function main(): Promise<void> {
  const duck = await createTestDuckDb();
  const wh = duck.warehouse;
  let calls = 0;
  const insertRows = wh.insertRows.bind(wh);
  wh.insertRows = (ref, rows, o) => {
    calls += 1;
    return insertRows(ref, rows, o);
  };
  const ids = Array.from({ length: TENANTS }, (_, i) => `mix_${i}`);
  for (const t of ids) {
    await wh.createDataset(t);
    for (const st of [pipelineRuns, stepLogs, dqResults]) await wh.createTable({ dataset: t, table: eventsTableName(st) }, eventsTableSpec(st));
  }
  const writer = createRunLogWriter({ warehouse: wh, logger: silentLogger(), flushIntervalMs: 1e9, maxBatchRows: 1e9 });
  let n = 0;
  const oneRun = (tenantId: string): void => {
    n += 1;
    const id = `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`;
    const now = new Date().toISOString();
    const run = { pipeline_logging_id: id, pipeline_id: 'p', tenant_id: tenantId, user_id: null, trigger_type: 'api', status: 'RUNNING', start_time: now, end_time: null, duration_ms: null, parameters: { n }, error_message: null, worker_instance: 'w', steps_total: 1, steps_done: 0, created_at: now, bytes_processed: null, bytes_billed: null, estimated_cost_usd: null };
    const step = { pipeline_logging_id: id, step_name: 's', step_type: 'dryrun', step_index: 0, status: 'PENDING', start_time: null, end_time: null, duration_ms: null, rows_processed: null, bytes_processed: null, bytes_billed: null, estimated_cost_usd: null, error_message: null, attempt: 0 };
    writer.writeRun(tenantId, run, 1);
    writer.writeStep(tenantId, step, 2);
    writer.writeStep(tenantId, { ...step, status: 'RUNNING', attempt: 1 }, 3);
    writer.writeStep(tenantId, { ...step, status: 'COMPLETED', attempt: 1 }, 4);
    writer.writeRun(tenantId, run, 5);
    writer.writeDq(tenantId, [{ pipeline_logging_id: id, step_name: 's', target_table: 't', check_name: 'c', check_type: 'dryrun', severity: 'error', passed: true, observed: {}, executed_at: now, overall_status: 'PASS' }]);
    writer.writeRun(tenantId, { ...run, status: 'COMPLETED', end_time: now, duration_ms: 1, steps_done: 1 }, 6);
  };
  const RUNS_PER_FLUSH = Number(process.env.RUNS_PER_FLUSH ?? 20);
  const measure = async (mix: boolean): Promise<{ cpu: number; wall: number; calls: number }> => {
    const c0 = cpuMsOf(process.pid);
    const t0 = process.hrtime.bigint();
    const k0 = calls;
    for (let f = 0; f < FLUSHES; f += 1) {
      for (let r = 0; r < RUNS_PER_FLUSH; r += 1) oneRun(mix ? (ids[r % TENANTS] as string) : (ids[f % TENANTS] as string));
      await writer.flush();
    }
    const runs = FLUSHES * RUNS_PER_FLUSH;
    return { cpu: (cpuMsOf(process.pid) - c0) / runs, wall: Number(process.hrtime.bigint() - t0) / 1e6 / runs, calls: (calls - k0) / runs };
  };
  await measure(true);
  await measure(false);
  for (let i = 0; i < 3; i += 1) {
    for (const mix of [true, false]) {
      const m = await measure(mix);
      console.log(`${mix ? 'mix  ' : 'burst'} per run: cpu ${m.cpu.toFixed(3)} ms, wall ${m.wall.toFixed(3)} ms, insert calls ${m.calls.toFixed(2)}`);
    }
  }
  await writer.close();
  await duck.cleanup();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
