import { expect } from 'chai';
import type { Queue } from 'bullmq';
import { createMaintenanceQueue, syncMaintenanceSchedulers } from '../../src/queues/maintenance';
import type { MaintenanceQueue } from '../../src/queues/maintenance';
import { onboard, startTestSystem } from '../helpers/system';
import { syncBatchTick } from '../../src/queues/batch-dispatch';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 9.5: Bull Board was fully writable. "Add job" started a run for any tenant that skipped
 * admission (quota, concurrency, team), and empty/obliterate would strand runs holding concurrency
 * slots. Every write the board's own HTTP API offers is attempted here, with the right password,
 * against the run queue and the maintenance queue: each must be refused, and the queues must be
 * exactly as before (same jobs with the same data, same schedulers, not paused).
 */
const BOARD_API = '/admin/queues/api/queues';
const ALL_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused', 'waiting-children'] as const;

interface Snapshot {
  counts: Record<string, number>;
  paused: boolean;
  jobs: string[];
  schedulers: string[];
}

async function snapshot(queue: Queue): Promise<Snapshot> {
  const jobs = await queue.getJobs([...ALL_STATES]);
  return {
    counts: await queue.getJobCounts(...ALL_STATES),
    paused: await queue.isPaused(),
    jobs: jobs.map((j) => `${j.id ?? '?'} ${j.name} ${JSON.stringify(j.data)} delay=${j.opts.delay ?? 0} priority=${j.opts.priority ?? 0}`).sort(),
    schedulers: (await queue.getJobSchedulers()).map((s) => `${s.key} ${s.pattern ?? ''}`).sort(),
  };
}

/**
 * Every write endpoint of @bull-board/api's routes.ts with a body its own validation accepts (so the
 * refusal is the read-only rule, not a malformed request), for queue `q`, job `job`, delayed job
 * `delayed` and scheduler `scheduler`.
 */
function writeAttempts(q: string, job: string, delayed: string, scheduler: string): Array<[method: 'post' | 'put' | 'patch', path: string, body: object]> {
  return [
    ['post', `${q}/add`, { name: 'pipeline-run', data: { tenant_id: 'victim_corp', pipeline_id: 'victim_corp-gcp-cost-dryrun' }, options: {} }],
    ['put', `${q}/retry/failed`, {}],
    ['put', `${q}/retry/completed`, {}],
    ['put', `${q}/promote`, {}],
    ['put', `${q}/clean/waiting`, {}],
    ['put', `${q}/clean/delayed`, {}],
    ['put', `${q}/clean/completed`, {}],
    ['put', `${q}/pause`, {}],
    ['put', `${q}/resume`, {}],
    ['put', `${q}/empty`, {}],
    ['put', `${q}/obliterate`, { force: true }],
    ['put', `${q}/concurrency`, { concurrency: 1 }],
    ['put', `${q}/rate-limit`, { max: 1, duration: 60_000 }],
    ['put', `${q}/rate-limit/release`, {}],
    ['put', `${q}/${job}/retry`, {}],
    ['put', `${q}/${job}/clean`, {}],
    ['put', `${q}/${delayed}/promote`, {}],
    ['patch', `${q}/${job}/update-data`, { jobData: { tenant_id: 'victim_corp' } }],
    ['patch', `${q}/${delayed}/delay`, { runAt: Date.now() }],
    ['patch', `${q}/${job}/priority`, { priority: 1 }],
    ['put', `${q}/${job}/remove-unprocessed-children`, {}],
    ['put', `${q}/job-schedulers/${scheduler}/remove`, {}],
    ['put', `${q}/job-schedulers/${scheduler}/run`, {}],
    ['patch', `${q}/job-schedulers/${scheduler}`, { pattern: '* * * * *' }],
  ];
}

describe('the dashboard is read-only (issue 9.5)', () => {
  let t: TestSystem;
  let maintenance: MaintenanceQueue;
  let runQueue: Queue;
  let runId: string;
  before(async () => {
    // No worker: the admitted run stays waiting, so there is a live job to attack.
    t = await startTestSystem({ role: 'api' });
    const key = await onboard(t, 'board_corp', 'SCALE');
    const run = await t.request.post('/api/v1/pipelines/run/board_corp/gcp/cost/dryrun').set('X-API-Key', key);
    expect(run.status).to.equal(202);
    runId = run.body.pipeline_logging_id as string;
    runQueue = t.system.runs.queue as unknown as Queue;
    await runQueue.add('probe', { purpose: 'a delayed job to promote' }, { jobId: 'probe-delayed', delay: 3_600_000 });
    maintenance = createMaintenanceQueue(t.system.clients.bull, t.system.keys);
    // Installs the always-internal job schedulers, so there is a scheduler to attack too.
    await syncMaintenanceSchedulers(maintenance, 'external');
    // The batch-dispatch queue's repeatable tick, as a scheduler process installs it: something on that queue to attack.
    await syncBatchTick(t.system.batches.queue);
  });
  after(async () => {
    await maintenance?.close();
    await t?.close();
  });

  const board = (method: 'get' | 'post' | 'put' | 'patch', path: string) => t.request[method](`${BOARD_API}/${path}`).auth('admin', t.adminKey);

  it('reports every queue as read-only to the UI, so it offers no write buttons', async () => {
    const res = await t.request.get(BOARD_API).auth('admin', t.adminKey);
    expect(res.status).to.equal(200);
    const flags = (res.body.queues as Array<{ name: string; readOnlyMode: boolean; allowRetries: boolean }>).map((q) => [q.name, q.readOnlyMode, q.allowRetries]);
    expect(flags).to.have.deep.members([
      ['pipeline-runs', true, false],
      ['maintenance', true, false],
      ['batch-dispatch', true, false],
      ['webhook-deliveries', true, false],
    ]);
  });

  it('still shows the run queue’s jobs (reads stay allowed)', async () => {
    const res = await board('get', `pipeline-runs/${runId}`);
    expect(res.status).to.equal(200);
    expect(res.body.job.id).to.equal(runId);
  });

  for (const queueName of ['pipeline-runs', 'maintenance', 'batch-dispatch']) {
    it(`refuses every write of the board's API on the ${queueName} queue with 405, and leaves the queue untouched`, async () => {
      const queue = queueName === 'pipeline-runs' ? runQueue : queueName === 'maintenance' ? (maintenance as unknown as Queue) : (t.system.batches.queue as unknown as Queue);
      const before = await snapshot(queue);
      expect(before.jobs.length, 'the queue has jobs to attack').to.be.greaterThan(0);
      const [job, delayed, scheduler] = queueName === 'pipeline-runs' ? [runId, 'probe-delayed', 'none'] : [before.jobs[0]?.split(' ')[0] ?? '', before.jobs[0]?.split(' ')[0] ?? '', queueName === 'maintenance' ? 'usage-refresh' : 'batch-tick'];
      for (const [method, path, body] of writeAttempts(queueName, job, delayed, scheduler)) {
        const res = await board(method, path).send(body);
        expect([res.status, res.body.error?.key], `${method.toUpperCase()} ${path}`).to.deep.equal([405, 'ERRORS.QUEUE_READ_ONLY']);
      }
      expect(await snapshot(queue)).to.deep.equal(before);
    });
  }

  it('pauses no queue through "pause all" (the board skips read-only queues)', async () => {
    const res = await t.request.put(`${BOARD_API}/pause`).auth('admin', t.adminKey);
    expect(res.status).to.be.within(200, 299);
    expect([await runQueue.isPaused(), await maintenance.isPaused()]).to.deep.equal([false, false]);
  });
});
