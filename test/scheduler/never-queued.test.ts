import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { newRunId } from '../../src/shared/ids';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { NEVER_QUEUED_AFTER_MS } from '../../src/scheduler/orphan-cleanup';
import { startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { eventually } from '../helpers/polling';

/**
 * A run admitted whose job never reached the queue — its trigger's process died between the two, or the admission's
 * reply was lost and the trigger answered 503 — held its concurrency slot until its lease passed (template timeout
 * plus ORPHAN_MARGIN_MINUTES). Orphan cleanup now fails it NEVER_QUEUED_AFTER_MS after admission, and leaves alone a
 * run that is merely waiting in the queue.
 */
const TENANT = 'lost_corp';

describe('orphan cleanup of runs admitted but never queued', function () {
  this.timeout(30_000);
  const clock = new ManualClock(Date.now());
  let t: TestSystem;
  let apiKey: string;
  let hang = false;
  let hung: Promise<unknown> | undefined;

  before(async () => {
    t = await startTestSystem({
      role: 'api', // no worker: a queued run stays PENDING with its job
      clock,
      // The process "dies" between admission and enqueue: the enqueue never happens.
      runFaults: { beforeEnqueue: (_job: PipelineRunJob) => (hang ? new Promise<void>(() => undefined) : Promise.resolve()) },
    });
    const onboarded = await t.system.apiDeps().tenants.onboard({ tenant_id: TENANT, company_name: 'Lost Inc', admin_email: 'admin@lost.com', subscription_plan: 'STARTER' });
    apiKey = String((onboarded as unknown as Record<string, unknown>)['api_key']);
  });
  after(async () => t?.close());

  const cleanup = async (): Promise<Record<string, number>> => {
    const res = await t.request.post('/api/v1/scheduler/cleanup-orphaned-pipelines').set('X-Admin-Key', t.adminKey);
    expect(res.status).to.equal(200);
    return res.body as Record<string, number>;
  };
  const running = async (): Promise<number> => {
    const res = await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', apiKey);
    return Number(res.body['concurrent_pipelines_running']);
  };

  it('fails the run without a job once it is old enough, frees its slot, and keeps the queued one', async () => {
    hang = true;
    const trigger = { tenantId: TENANT, provider: 'gcp', domain: 'cost', userId: null, triggerType: 'api' as const };
    const lost = { pipelineLoggingId: newRunId() };
    hung = t.system.runs.trigger({ ...trigger, templateName: 'dryrun', parameters: {}, runId: lost.pipelineLoggingId });
    await eventually('the admitted run record', async () => (await t.system.runs.runStore.get(TENANT, lost.pipelineLoggingId)) ?? undefined);
    hang = false;
    const queued = await t.system.runs.trigger({ ...trigger, templateName: 'billing_cost', parameters: { date: '2026-12-01' } });
    expect(await running()).to.equal(2);

    clock.advance(NEVER_QUEUED_AFTER_MS - 60_000);
    expect((await cleanup())['never_queued'], 'too young: its trigger may still be enqueueing it').to.equal(0);
    expect((await t.system.runs.runStore.get(TENANT, lost.pipelineLoggingId))?.status).to.equal('PENDING');

    clock.advance(60_000);
    const summary = await cleanup();
    expect(summary).to.include({ never_queued: 1, orphaned: 0 });
    const failed = await t.system.runs.runStore.get(TENANT, lost.pipelineLoggingId);
    expect(failed?.status).to.equal('FAILED');
    expect(failed?.errorMessage).to.match(/^Never queued/);
    expect((await t.system.runs.runStore.get(TENANT, queued.pipelineLoggingId))?.status, 'a run waiting in the queue is left alone').to.equal('PENDING');
    expect(await running()).to.equal(1);
    expect((await cleanup())['never_queued'], 'a second pass finds nothing').to.equal(0);
    void hung;
  });
});
