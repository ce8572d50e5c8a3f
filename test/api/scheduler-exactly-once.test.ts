import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { scheduledRunId } from '../../src/scheduler/tick';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { forEachRedis } from '../helpers/redis-targets';

forEachRedis('scheduled fires are exactly once, whoever drives them', (redisUnderTest) => {
  const clock = new ManualClock('2026-01-05T10:02:00Z');
  let t: TestSystem;
  let key: string;
  const configIds: string[] = [];

  before(async () => {
    t = await startTestSystem({ role: 'api', clock, redis: await redisUnderTest.target() });
    key = await onboard(t, 'sched_corp', 'SCALE');
    for (let i = 0; i < 5; i += 1) {
      const res = await t.request
        .post('/api/v1/scheduler/customer/sched_corp/pipelines')
        .set('X-API-Key', key)
        .send({ provider: 'GCP', domain: 'COST', pipeline_template: 'billing_cost', schedule_cron: '*/5 * * * *', timezone: 'UTC', is_active: true, parameters: { date: `2025-12-0${i + 1}` } });
      expect(res.status).to.equal(201);
      expect(res.body.next_run_time).to.equal('2026-01-05T10:05:00.000Z');
      configIds.push(res.body.config_id);
    }
  });
  after(async () => t.close());

  it('10 concurrent POST /scheduler/trigger calls plus the internal tick for the same minute start one run per schedule', async () => {
    clock.set('2026-01-05T10:05:07Z');
    const calls = Array.from({ length: 10 }, () => t.request.post('/api/v1/scheduler/trigger').set('X-Admin-Key', t.adminKey));
    const [tick, ...responses] = await Promise.all([t.system.scheduler.routines.tick(clock.now()), ...calls]);
    for (const r of responses) expect(r.status).to.equal(200);
    const triggered = [tick as { triggered: number }, ...responses.map((r) => r.body as { triggered: number })].reduce((n, s) => n + s.triggered, 0);
    expect(triggered).to.equal(5);

    const fire = Date.parse('2026-01-05T10:05:00Z');
    for (const configId of configIds) {
      const runId = scheduledRunId(configId, fire);
      const run = await t.request.get(`/api/v1/pipelines/runs/${runId}`).set('X-API-Key', key);
      expect(run.status).to.equal(200);
      expect(run.body.status).to.equal('PENDING');
      expect(run.body.trigger_type).to.equal('scheduler');
    }
    const quota = await t.request.get('/api/v1/tenants/sched_corp/quota').set('X-API-Key', key);
    expect(quota.body.pipelines_run_today).to.equal(5);
    expect(await t.system.runs.queue.getJobCountByTypes('waiting', 'prioritized', 'delayed')).to.equal(5);
  });

  it('a retried call for the same minute (Cloud Scheduler retry) starts nothing more', async () => {
    const again = await t.request.post('/api/v1/scheduler/trigger').set('X-Admin-Key', t.adminKey);
    expect(again.body.triggered).to.equal(0);
    const quota = await t.request.get('/api/v1/tenants/sched_corp/quota').set('X-API-Key', key);
    expect(quota.body.pipelines_run_today).to.equal(5);
  });

  it('shows the schedules in the status and the next fire time moved on', async () => {
    const status = await t.request.get('/api/v1/scheduler/status').set('X-Admin-Key', t.adminKey);
    expect(status.body.total_active_pipelines).to.equal(5);
    expect(status.body.pipelines_due_now).to.equal(0);
    const config = await t.request.get(`/api/v1/scheduler/customer/sched_corp/pipelines/${configIds[0]}`).set('X-API-Key', key);
    expect(config.body.next_run_time).to.equal('2026-01-05T10:10:00.000Z');
  });
});
