import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const GUIDE_BODY = `{
    "provider": "GCP",
    "domain": "COST",
    "pipeline_template": "billing_cost",
    "schedule_cron": "0 2 * * *",
    "timezone": "America/New_York",
    "is_active": true
  }`;

describe('scheduler over HTTP', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
    key = await onboard(t, 'acme_corp', 'PROFESSIONAL');
  });
  after(async () => t.close());

  describe('POST /api/v1/scheduler/customer/{tenant_id}/pipelines with the guide’s curl body (sent as curl -d sends it)', () => {
    let configId: string;
    it('answers 201 with next_run_time and the next five fire times', async () => {
      const res = await t.request
        .post('/api/v1/scheduler/customer/acme_corp/pipelines')
        .set('X-API-Key', key)
        .set('X-User-ID', 'alice_uuid_123')
        .set('Content-Type', 'application/x-www-form-urlencoded')
        .send(GUIDE_BODY);
      expect(res.status).to.equal(201);
      expect(res.body.provider).to.equal('gcp');
      expect(res.body.domain).to.equal('cost');
      expect(res.body.next_run_time).to.be.a('string');
      expect(res.body.next_run_times).to.have.length(5);
      // 02:00 in New York is 06:00 or 07:00 UTC depending on daylight saving.
      expect(new Date(res.body.next_run_time as string).getUTCHours()).to.be.oneOf([6, 7]);
      configId = res.body.config_id;
    });

    it('lists, reads, patches and deletes the config', async () => {
      const list = await t.request.get('/api/v1/scheduler/customer/acme_corp/pipelines').set('X-API-Key', key);
      expect(list.status).to.equal(200);
      expect((list.body.pipelines as Array<{ config_id: string }>).map((p) => p.config_id)).to.include(configId);
      const patched = await t.request.patch(`/api/v1/scheduler/customer/acme_corp/pipelines/${configId}`).set('X-API-Key', key).send({ schedule_cron: '0 */6 * * *' });
      expect(patched.status).to.equal(200);
      expect(patched.body.schedule_cron).to.equal('0 */6 * * *');
      const removed = await t.request.delete(`/api/v1/scheduler/customer/acme_corp/pipelines/${configId}`).set('X-API-Key', key);
      expect(removed.status).to.equal(204);
      const gone = await t.request.get(`/api/v1/scheduler/customer/acme_corp/pipelines/${configId}`).set('X-API-Key', key);
      expect(gone.status).to.equal(404);
    });

    it('answers 422 for a bad cron and for an unknown timezone, 404 for an unknown template', async () => {
      const base = { provider: 'GCP', domain: 'COST', pipeline_template: 'billing_cost', schedule_cron: '0 2 * * *', timezone: 'UTC' };
      const cron = await t.request.post('/api/v1/scheduler/customer/acme_corp/pipelines').set('X-API-Key', key).send({ ...base, schedule_cron: '61 2 * * *' });
      expect(cron.status).to.equal(422);
      const tz = await t.request.post('/api/v1/scheduler/customer/acme_corp/pipelines').set('X-API-Key', key).send({ ...base, timezone: 'Mars/Olympus' });
      expect(tz.status).to.equal(422);
      const tpl = await t.request.post('/api/v1/scheduler/customer/acme_corp/pipelines').set('X-API-Key', key).send({ ...base, pipeline_template: 'nope' });
      expect(tpl.status).to.equal(404);
      expect(tpl.body.code).to.equal('TEMPLATE_NOT_FOUND');
    });
  });

  describe('admin endpoints', () => {
    for (const path of ['trigger', 'process-queue', 'reset-daily-quotas', 'cleanup-orphaned-pipelines']) {
      it(`POST /api/v1/scheduler/${path} needs X-Admin-Key and answers 200 with it`, async () => {
        expect((await t.request.post(`/api/v1/scheduler/${path}`)).status).to.equal(401);
        const res = await t.request.post(`/api/v1/scheduler/${path}`).set('X-Admin-Key', t.adminKey);
        expect(res.status).to.equal(200);
        expect(res.body).to.be.an('object');
      });
    }

    it('GET /api/v1/scheduler/status answers the guide’s fields', async () => {
      const res = await t.request.get('/api/v1/scheduler/status').set('X-Admin-Key', t.adminKey);
      expect(res.status).to.equal(200);
      for (const field of ['total_active_pipelines', 'pipelines_due_now', 'pipelines_queued', 'pipelines_completed_today', 'pipelines_running', 'pipelines_failed_today', 'avg_execution_time_seconds']) {
        expect(res.body, field).to.have.property(field);
      }
    });

    it('reset-daily-quotas is idempotent: the second call changes nothing', async () => {
      const first = await t.request.post('/api/v1/scheduler/reset-daily-quotas').set('X-Admin-Key', t.adminKey);
      const second = await t.request.post('/api/v1/scheduler/reset-daily-quotas').set('X-Admin-Key', t.adminKey);
      expect(first.status).to.equal(200);
      expect(first.body.closed_day).to.be.a('string');
      expect(second.body.already_closed).to.equal(true);
      expect(second.body.closed_day).to.equal(first.body.closed_day);
    });
  });
});
