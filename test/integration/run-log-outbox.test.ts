import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * A worker that dies after finishing a run but before its buffered log rows reached the warehouse:
 * the run is tracked as unconfirmed before it is marked terminal, and reconciliation rewrites its rows
 * from the run's live record in Redis.
 */
/** The confirmation is fire-and-forget after the insert: give it a moment to land before reading the count. */
async function settledPending(t: TestSystem): Promise<number> {
  const deadline = Date.now() + 2000;
  let pending = await t.system.outbox.pending();
  while (pending > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    pending = await t.system.outbox.pending();
  }
  return pending;
}

describe('run log outbox', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
    key = await onboard(t, 'outbox_corp', 'SCALE');
  });
  after(async () => t.close());

  it('rewrites the warehouse rows of a finished run whose worker died before flushing, then forgets it', async () => {
    const res = await t.request.post('/api/v1/pipelines/run/outbox_corp/gcp/cost/dryrun').set('X-API-Key', key).set('X-User-ID', 'alice');
    const id = res.body.pipeline_logging_id as string;
    // What the dead worker got done: the run finished in Redis (steps included); nothing reached the warehouse.
    const ended = new Date(Date.now() - 120_000);
    expect((await t.system.runs.runStore.start('outbox_corp', id, new Date(ended.getTime() - 50), 'dead-worker')).outcome).to.equal('started');
    await t.system.runs.runStore.recordProgress('outbox_corp', id, { stepsDone: 1, stepsTotal: 1, steps: [{ id: 'check_infrastructure', type: 'dryrun', status: 'COMPLETED', attempt: 1, durationMs: 40 }] });
    await t.system.outbox.track('outbox_corp', id, ended);
    expect(await t.system.runs.runStore.markTerminal('outbox_corp', id, { status: 'COMPLETED', at: ended, durationMs: 50 })).to.equal(true);
    await t.system.logWriter.flush();
    const before = await t.warehouse.query('SELECT status FROM `outbox_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', { params: { id } });
    expect(before.rows).to.deep.equal([]);
    expect(await t.system.outbox.pending()).to.equal(1);

    const summary = await t.system.scheduler.routines.reconcileLogs(new Date());
    expect(summary).to.deep.equal({ checked: 1, rewritten: 1, expired: 0 });
    const runs = await t.warehouse.query('SELECT status, user_id, worker_instance FROM `outbox_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', { params: { id } });
    expect(runs.rows).to.deep.equal([{ status: 'COMPLETED', user_id: 'alice', worker_instance: 'dead-worker' }]);
    const steps = await t.warehouse.query('SELECT step_name, status FROM `outbox_corp.x_meta_step_logs` WHERE pipeline_logging_id = @id', { params: { id } });
    expect(steps.rows).to.deep.equal([{ step_name: 'check_infrastructure', status: 'COMPLETED' }]);
    expect(await settledPending(t)).to.equal(0);
  });

  it('confirms normally finished runs as soon as their rows are written', async () => {
    const worker = await startTestSystem();
    try {
      const k = await onboard(worker, 'flow_corp', 'SCALE');
      const res = await worker.request.post('/api/v1/pipelines/run/flow_corp/gcp/cost/dryrun').set('X-API-Key', k);
      for (;;) {
        const run = await worker.request.get(`/api/v1/pipelines/runs/${res.body.pipeline_logging_id}`).set('X-API-Key', k);
        if (run.body.status === 'COMPLETED') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      await worker.system.logWriter.flush();
      expect(await settledPending(worker)).to.equal(0);
    } finally {
      await worker.close();
    }
  });
});
