import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const SLOW_TEMPLATE = `description: A query long enough to be cancelled mid-run
version: 1.0.0
timeout_minutes: 5
steps:
  - id: long_scan
    type: query
    sql: SELECT SUM(a.range * b.range) AS s FROM range(200000) a, range(200000) b
`;

/** A copy of configs/ plus a slow test template, pointed at by CONFIGS_DIR. */
function configsWithSlowTemplate(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-configs-'));
  fs.cpSync(path.resolve(__dirname, '../../configs'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'gcp/test'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'gcp/test/slow.yml'), SLOW_TEMPLATE);
  return dir;
}

describe('run lifecycle', () => {
  let t: TestSystem;
  let key: string;
  let configsDir: string;
  before(async () => {
    configsDir = configsWithSlowTemplate();
    t = await startTestSystem({ env: { CONFIGS_DIR: configsDir } });
    key = await onboard(t, 'life_corp', 'SCALE');
  });
  after(async () => {
    await t.close();
    fs.rmSync(configsDir, { recursive: true, force: true });
  });

  describe('DELETE on a running run', () => {
    it('aborts the step, cancels the warehouse query, ends CANCELLED and frees the slot', async () => {
      const res = await t.request.post('/api/v1/pipelines/run/life_corp/gcp/test/slow').set('X-API-Key', key);
      expect(res.status).to.equal(202);
      const id = res.body.pipeline_logging_id as string;
      for (;;) {
        const live = await t.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
        if (live.body.status === 'RUNNING' && (live.body.steps as Array<{ status: string }>)[0]?.status === 'RUNNING') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const cancel = await t.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
      expect(cancel.status).to.equal(200);
      const run = await waitForRun(t, key, id, 10000);
      expect(run.status).to.equal('CANCELLED');
      expect((run.steps as Array<{ status: string }>)[0]?.status).to.equal('CANCELLED');
      const quota = await t.request.get('/api/v1/tenants/life_corp/quota').set('X-API-Key', key);
      expect(quota.body.concurrent_pipelines_running).to.equal(0);
    });
  });

  describe('GET a run after Redis has forgotten it', () => {
    it('answers from the warehouse with the same status and steps', async () => {
      const res = await t.request.post('/api/v1/pipelines/run/life_corp/gcp/cost/dryrun').set('X-API-Key', key);
      const id = res.body.pipeline_logging_id as string;
      const live = await waitForRun(t, key, id);
      await t.system.logWriter.flush();
      await t.system.clients.redis.del(t.system.keys.run('life_corp', id));
      const stored = await t.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
      expect(stored.status).to.equal(200);
      expect(stored.body.status).to.equal(live.status);
      expect(stored.body.pipeline_id).to.equal('life_corp-gcp-cost-dryrun');
      expect((stored.body.steps as Array<{ id: string; status: string }>).map((s) => [s.id, s.status])).to.deep.equal([['check_infrastructure', 'COMPLETED']]);
      const other = await onboard(t, 'nosy_corp');
      expect((await t.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', other)).status).to.equal(404);
    });
  });
});

describe('DISABLE_AUTH (development mode)', () => {
  let t: TestSystem;
  before(async () => {
    t = await startTestSystem({ env: { DISABLE_AUTH: 'true' } });
  });
  after(async () => t.close());

  it('lets admin routes run without X-Admin-Key, as in the guide’s quick start', async () => {
    const res = await t.request.post('/api/v1/tenants/onboard').set('Content-Type', 'application/json').send({ tenant_id: 'test_corp', company_name: 'Test Corp', admin_email: 'admin@test.com' });
    expect(res.status).to.equal(201);
  });

  it('still requires a tenant API key on tenant routes', async () => {
    const res = await t.request.post('/api/v1/pipelines/run/test_corp/gcp/cost/dryrun');
    expect(res.status).to.equal(401);
  });
});
