import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const trigger = (t: TestSystem, key: string, date: string, userId?: string) => {
  const req = t.request.post('/api/v1/pipelines/run/quota_corp/gcp/cost/billing_cost').set('X-API-Key', key);
  if (userId) req.set('X-User-ID', userId);
  return req.send({ date });
};

describe('plans and quotas over HTTP (no worker: runs stay in flight)', () => {
  let t: TestSystem;
  let key: string;
  /** When set, the queue write after admission fails (what a Redis drop right then looks like). */
  let enqueueFault: (() => void) | null = null;
  beforeEach(async () => {
    t = await startTestSystem({ role: 'api', runFaults: { beforeEnqueue: async () => enqueueFault?.() } });
    key = await onboard(t, 'quota_corp', 'STARTER');
  });
  afterEach(async () => t.close());

  describe('when the concurrent limit (STARTER: 3) is used up', () => {
    it('answers 429 CONCURRENT_LIMIT_REACHED with the guide’s text and Retry-After', async () => {
      for (const d of ['2025-01-01', '2025-01-02', '2025-01-03']) expect((await trigger(t, key, d)).status).to.equal(202);
      const res = await trigger(t, key, '2025-01-04');
      expect(res.status).to.equal(429);
      expect(res.body.code).to.equal('CONCURRENT_LIMIT_REACHED');
      expect(res.body.detail).to.equal('Concurrent pipeline limit reached. Wait for running pipelines to complete.');
      expect(Number(res.headers['retry-after'])).to.be.greaterThan(0);
      const quota = await t.request.get('/api/v1/tenants/quota_corp/quota').set('X-API-Key', key);
      expect(quota.body).to.include({ pipelines_run_today: 3, daily_limit: 6, remaining_today: 3, concurrent_pipelines_running: 3 });
      const metrics = await t.request.get('/metrics');
      expect(metrics.text).to.include('quota_rejections_total{reason="CONCURRENT_LIMIT_REACHED"} 1');
    });

    it('obeys a plan change on the very next trigger', async () => {
      for (const d of ['2025-01-01', '2025-01-02', '2025-01-03']) await trigger(t, key, d);
      expect((await trigger(t, key, '2025-01-04')).status).to.equal(429);
      const patch = await t.request.patch('/api/v1/admin/tenants/quota_corp').set('X-Admin-Key', t.adminKey).send({ subscription_plan: 'professional' });
      expect(patch.status).to.equal(200);
      expect((await trigger(t, key, '2025-01-04')).status).to.equal(202);
      const quota = await t.request.get('/api/v1/tenants/quota_corp/quota').set('X-API-Key', key);
      expect(quota.body).to.include({ plan: 'PROFESSIONAL', daily_limit: 25, concurrent_limit: 5 });
    });
  });

  describe('when the daily quota is used up', () => {
    it('answers 429 DAILY_QUOTA_EXCEEDED with the guide’s text once 6 runs were admitted today', async () => {
      for (let i = 1; i <= 6; i += 1) {
        const res = await trigger(t, key, `2025-02-0${i}`);
        expect(res.status).to.equal(202);
        const cancel = await t.request.delete(`/api/v1/pipelines/runs/${res.body.pipeline_logging_id}`).set('X-API-Key', key);
        expect(cancel.body.status).to.equal('CANCELLED');
      }
      const res = await trigger(t, key, '2025-02-07');
      expect(res.status).to.equal(429);
      expect(res.body.code).to.equal('DAILY_QUOTA_EXCEEDED');
      expect(res.body.detail).to.equal('Daily pipeline quota exceeded. Upgrade or wait until tomorrow.');
      expect(Number(res.headers['retry-after'])).to.be.within(1, 86400);
    });
  });

  describe('team limit (STARTER: 2 distinct X-User-IDs that act)', () => {
    const seats = async (): Promise<number> => (await t.request.get('/api/v1/tenants/quota_corp/quota').set('X-API-Key', key)).body.team_members as number;

    it('takes no seat for reads, however many new X-User-IDs send them', async () => {
      for (let i = 0; i < 8; i += 1) {
        const user = `reader${i}`;
        expect((await t.request.get('/api/v1/tenants/quota_corp').set('X-API-Key', key).set('X-User-ID', user)).status).to.equal(200);
        expect((await t.request.get('/api/v1/tenants/quota_corp/quota').set('X-API-Key', key).set('X-User-ID', user)).status).to.equal(200);
        expect((await t.request.get('/api/v1/pipelines/runs').set('X-API-Key', key).set('X-User-ID', user)).status).to.equal(200);
        expect((await t.request.get('/api/v1/pipelines/templates').set('X-API-Key', key).set('X-User-ID', user)).status).to.equal(200);
      }
      expect(await seats()).to.equal(0);
      // Readers did not use up the seats: two users can still act.
      expect((await trigger(t, key, '2025-05-01', 'alice')).status).to.equal(202);
      expect((await t.request.put('/api/v1/tenants/quota_corp/providers/gcp').set('X-API-Key', key).set('X-User-ID', 'bob').send({ settings: {} })).status).to.equal(200);
      expect(await seats()).to.equal(2);
    });

    it('answers 403 TEAM_LIMIT_REACHED for a third user who acts, and keeps serving the first two', async () => {
      const alices = await trigger(t, key, '2025-05-01', 'alice');
      expect(alices.status).to.equal(202);
      const schedule = await t.request.post('/api/v1/scheduler/customer/quota_corp/pipelines').set('X-API-Key', key).set('X-User-ID', 'bob')
        .send({ provider: 'gcp', domain: 'cost', pipeline_template: 'billing_cost', schedule_cron: '0 6 * * *' });
      expect(schedule.status, JSON.stringify(schedule.body)).to.equal(201);
      const carol = await trigger(t, key, '2025-05-02', 'carol');
      expect([carol.status, carol.body.code]).to.deep.equal([403, 'TEAM_LIMIT_REACHED']);
      // A cancel of a live run (alice's is still PENDING: no worker here) is an act, so it needs a seat.
      const carolCancels = await t.request.delete(`/api/v1/pipelines/runs/${String(alices.body.pipeline_logging_id)}`).set('X-API-Key', key).set('X-User-ID', 'carol');
      expect([carolCancels.status, carolCancels.body.code]).to.deep.equal([403, 'TEAM_LIMIT_REACHED']);
      // Carol may still read; the members who hold seats may still act.
      expect((await t.request.get('/api/v1/tenants/quota_corp').set('X-API-Key', key).set('X-User-ID', 'carol')).status).to.equal(200);
      expect((await trigger(t, key, '2025-05-02', 'alice')).status).to.equal(202);
      expect((await trigger(t, key, '2025-05-03', 'bob')).status).to.equal(202);
      expect(await seats()).to.equal(2);
    });

    it('takes no seat for a request refused by its own validation (422, unknown template or schedule 404)', async () => {
      const bad = await trigger(t, key, 'not-a-date', 'dave');
      expect(bad.status).to.equal(422);
      const missing = await t.request.post('/api/v1/pipelines/run/quota_corp/gcp/cost/no_such_template').set('X-API-Key', key).set('X-User-ID', 'erin').send({});
      expect([missing.status, missing.body.code]).to.deep.equal([404, 'TEMPLATE_NOT_FOUND']);
      const badSchedule = await t.request.post('/api/v1/scheduler/customer/quota_corp/pipelines').set('X-API-Key', key).set('X-User-ID', 'frank').send({ schedule_cron: 'never' });
      expect(badSchedule.status).to.equal(422);
      const scheduleBody = { provider: 'gcp', domain: 'cost', pipeline_template: 'no_such_template', schedule_cron: '0 6 * * *', timezone: 'UTC', parameters: {} };
      const unknownTemplateSchedule = await t.request.post('/api/v1/scheduler/customer/quota_corp/pipelines').set('X-API-Key', key).set('X-User-ID', 'heidi').send(scheduleBody);
      expect([unknownTemplateSchedule.status, unknownTemplateSchedule.body.code]).to.deep.equal([404, 'TEMPLATE_NOT_FOUND']);
      const unknownConfig = '/api/v1/scheduler/customer/quota_corp/pipelines/00000000-0000-4000-8000-000000000000';
      const patchMissing = await t.request.patch(unknownConfig).set('X-API-Key', key).set('X-User-ID', 'ivan').send({ is_active: false });
      const deleteMissing = await t.request.delete(unknownConfig).set('X-API-Key', key).set('X-User-ID', 'judy');
      expect([patchMissing.status, deleteMissing.status]).to.deep.equal([404, 404]);
      const hook = '/api/v1/tenants/quota_corp/webhooks/wh_00000000000000000000000000000000';
      const asUser = (req: ReturnType<typeof t.request.post>, user: string) => req.set('X-API-Key', key).set('X-User-ID', user);
      const webhookCalls = await Promise.all([
        asUser(t.request.patch(hook), 'kim').send({ events: ['run.failed'] }),
        asUser(t.request.delete(hook), 'lee'),
        asUser(t.request.post(`${hook}/rotate-secret`), 'max').send({}),
        asUser(t.request.post(`${hook}/deliveries/whd_0/redeliver`), 'ned'),
      ]);
      expect(webhookCalls.map((r) => `${r.status} ${String(r.body.code)}`)).to.deep.equal(Array(4).fill('404 WEBHOOK_NOT_FOUND'));
      const privateHook = await asUser(t.request.post('/api/v1/tenants/quota_corp/webhooks'), 'rob').send({ url: 'https://10.0.0.5/hook', events: ['run.failed'] });
      expect([privateHook.status, privateHook.body.code]).to.deep.equal([422, 'WEBHOOK_URL_NOT_ALLOWED']);
      const backfillBody = { start_date: '2025-11-01', end_date: '2025-11-02' };
      const noTemplate = await asUser(t.request.post('/api/v1/pipelines/backfill/quota_corp/gcp/cost/no_such_template'), 'oli').send(backfillBody);
      const noDate = await asUser(t.request.post('/api/v1/pipelines/backfill/quota_corp/gcp/cost/dryrun'), 'pam').send(backfillBody);
      const noBackfill = await asUser(t.request.delete('/api/v1/pipelines/backfills/00000000-0000-4000-8000-000000000000'), 'quin');
      expect([noTemplate, noDate, noBackfill].map((r) => `${r.status} ${String(r.body.code)}`))
        .to.deep.equal(['404 TEMPLATE_NOT_FOUND', '422 BACKFILL_NEEDS_DATE_PARAMETER', '404 BACKFILL_NOT_FOUND']);
      const unknownRun = await t.request.delete('/api/v1/pipelines/runs/00000000-0000-4000-8000-000000000000').set('X-API-Key', key).set('X-User-ID', 'grace');
      expect([unknownRun.status, unknownRun.body.code]).to.deep.equal([404, 'RUN_NOT_FOUND']);
      expect(await seats()).to.equal(0);
    });

    it('documents 403 TEAM_LIMIT_REACHED on acting routes only', async () => {
      const doc = (await t.request.get('/openapi.json')).body as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
      const seat = (p: string, m: string): boolean => /TEAM_LIMIT_REACHED/.test(doc.paths[p]?.[m]?.responses['403']?.description ?? '');
      expect(seat('/api/v1/pipelines/run/{tenant_id}/{provider}/{domain}/{template_name}', 'post')).to.equal(true);
      expect(seat('/api/v1/pipelines/runs/{run_id}', 'delete')).to.equal(true);
      expect(seat('/api/v1/scheduler/customer/{tenant_id}/pipelines', 'post')).to.equal(true);
      expect(seat('/api/v1/tenants/{tenant_id}/providers/{provider}', 'put')).to.equal(true);
      expect(seat('/api/v1/tenants/{tenant_id}/providers/{provider}', 'get')).to.equal(false);
      expect(seat('/api/v1/tenants/{tenant_id}', 'get')).to.equal(false);
      expect(seat('/api/v1/pipelines/runs/{run_id}', 'get')).to.equal(false);
    });
  });

  describe('provider limit (STARTER: 3 providers)', () => {
    it('answers 403 PROVIDER_LIMIT_REACHED for a fourth provider', async () => {
      for (const p of ['gcp', 'aws', 'azure']) {
        expect((await t.request.put(`/api/v1/tenants/quota_corp/providers/${p}`).set('X-API-Key', key).send({ settings: {} })).status).to.equal(200);
      }
      const res = await t.request.put('/api/v1/tenants/quota_corp/providers/snowflake').set('X-API-Key', key).send({ settings: {} });
      expect(res.status).to.equal(403);
      expect(res.body.code).to.equal('PROVIDER_LIMIT_REACHED');
    });
  });

  describe('when the enqueue fails after admission', () => {
    it('answers 503 and refunds the run: usage and running set are unchanged', async () => {
      enqueueFault = () => {
        throw new Error('Connection is closed.');
      };
      try {
        const res = await trigger(t, key, '2025-03-01');
        expect(res.status).to.equal(503);
        expect(res.body.code).to.equal('DEPENDENCY_UNAVAILABLE');
      } finally {
        enqueueFault = null;
      }
      const quota = await t.request.get('/api/v1/tenants/quota_corp/quota').set('X-API-Key', key);
      expect(quota.body).to.include({ pipelines_run_today: 0, concurrent_pipelines_running: 0 });
      expect((await trigger(t, key, '2025-03-01')).status).to.equal(202);
    });
  });

  describe('key rotation', () => {
    it('stops the old key on the next request and serves the new one', async () => {
      const rotated = await t.request.post('/api/v1/tenants/quota_corp/api-keys/rotate').set('X-API-Key', key).send({});
      expect(rotated.status).to.equal(201);
      expect(rotated.body.api_key).to.match(/^quota_corp_api_[A-Za-z0-9]{16}$/);
      expect((await t.request.get('/api/v1/tenants/quota_corp').set('X-API-Key', key)).status).to.equal(401);
      expect((await t.request.get('/api/v1/tenants/quota_corp').set('X-API-Key', rotated.body.api_key)).status).to.equal(200);
    });
  });
});
