import { expect } from 'chai';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Issue 9.6: /metrics labels carry tenant ids (runs by tenant), so in production they are not for
 * anyone who can reach the port. NODE_ENV=production puts /metrics behind X-Admin-Key unless the
 * operator sets METRICS_AUTH=none on purpose.
 */
describe('/metrics exposure (issue 9.6)', () => {
  describe('with NODE_ENV=production and METRICS_AUTH unset', () => {
    let t: TestSystem;
    before(async () => {
      t = await startTestSystem({ env: { NODE_ENV: 'production' } });
      const key = await onboard(t, 'metrics_corp');
      // A finished run puts the tenant id into the pipeline_runs_total labels.
      const run = await t.request.post('/api/v1/pipelines/run/metrics_corp/gcp/cost/dryrun').set('X-API-Key', key);
      await waitForRun(t, key, run.body.pipeline_logging_id as string);
    });
    after(async () => t.close());

    it('answers 401 ADMIN_KEY_REQUIRED without the admin key, naming no tenant', async () => {
      const res = await t.request.get('/metrics');
      expect([res.status, res.body.code]).to.deep.equal([401, 'ADMIN_KEY_REQUIRED']);
      expect(res.text).not.to.include('metrics_corp');
    });

    it('answers 403 for a wrong admin key', async () => {
      const res = await t.request.get('/metrics').set('X-Admin-Key', 'not-the-admin-key-000000');
      expect([res.status, res.body.code]).to.deep.equal([403, 'INVALID_ADMIN_KEY']);
      expect(res.text).not.to.include('http_requests_total');
    });

    it('serves the metrics, tenant labels included, to the admin key', async () => {
      const res = await t.request.get('/metrics').set('X-Admin-Key', t.adminKey);
      expect(res.status).to.equal(200);
      expect(res.text).to.include('tenant_id="metrics_corp"');
    });
  });

  describe('with NODE_ENV=production and METRICS_AUTH=none (an explicit choice)', () => {
    let t: TestSystem;
    before(async () => {
      t = await startTestSystem({ role: 'api', env: { NODE_ENV: 'production', METRICS_AUTH: 'none' } });
    });
    after(async () => t.close());

    it('serves the metrics without a key', async () => {
      const res = await t.request.get('/metrics');
      expect(res.status).to.equal(200);
      expect(res.text).to.include('http_requests_total');
    });
  });
});
