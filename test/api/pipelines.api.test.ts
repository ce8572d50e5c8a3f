import { expect } from 'chai';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';
import { warehouseOutage } from '../helpers/warehouse-outage';
import type { WarehouseOutage } from '../helpers/warehouse-outage';

const RUN = '/api/v1/pipelines/run/acme_corp/gcp/cost';

describe('pipeline runs over HTTP', () => {
  describe('with a worker in the process', () => {
    let t: TestSystem;
    let key: string;
    before(async () => {
      t = await startTestSystem();
      key = await onboard(t, 'acme_corp', 'SCALE');
    });
    after(async () => t.close());

    it('runs the guide’s quick-start dryrun call: 202 PENDING, then COMPLETED with its step', async () => {
      const res = await t.request.post(`${RUN}/dryrun`).set('X-API-Key', key).set('X-User-ID', 'user123');
      expect(res.status).to.equal(202);
      expect(res.body.status).to.equal('PENDING');
      expect(res.body.pipeline_id).to.equal('acme_corp-gcp-cost-dryrun');
      expect(res.body.pipeline_logging_id).to.match(/^[0-9a-f-]{36}$/);
      const run = await waitForRun(t, key, res.body.pipeline_logging_id);
      expect(run.status).to.equal('COMPLETED');
      expect(run.user_id).to.equal('user123');
      expect(run.progress).to.deep.equal({ steps_done: 1, steps_total: 1, percent: 100 });
      expect((run.steps as Array<{ status: string }>)[0]?.status).to.equal('COMPLETED');
    });

    it('writes one row per run to x_meta_pipeline_runs that the guide’s SQL returns', async () => {
      const res = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: '2025-11-14' });
      expect(res.status).to.equal(202);
      const id = res.body.pipeline_logging_id as string;
      await waitForRun(t, key, id);
      await t.system.logWriter.flush();
      const runs = await t.warehouse.query(
        'SELECT pipeline_logging_id, pipeline_id, tenant_id, user_id, status, start_time, duration_ms FROM `acme_corp.x_meta_pipeline_runs` ORDER BY start_time DESC LIMIT 10',
      );
      const mine = runs.rows.filter((r) => r.pipeline_logging_id === id);
      expect(mine).to.have.length(1);
      expect(mine[0]?.status).to.be.oneOf(['COMPLETED', 'FAILED']);
      const steps = await t.warehouse.query(
        `SELECT pipeline_logging_id, step_name, status, rows_processed, duration_ms FROM \`acme_corp.x_meta_step_logs\` WHERE pipeline_logging_id = '${id}' ORDER BY start_time`,
      );
      expect(steps.rows.length).to.be.greaterThan(0);
      expect(new Set(steps.rows.map((r) => r.step_name)).size).to.equal(steps.rows.length);
    });

    it('answers 404 TEMPLATE_NOT_FOUND for an unknown template', async () => {
      const res = await t.request.post(`${RUN}/nope`).set('X-API-Key', key);
      expect(res.status).to.equal(404);
      expect(res.body.code).to.equal('TEMPLATE_NOT_FOUND');
    });

    it('answers 422 naming an unknown parameter', async () => {
      const res = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: '2025-11-14', colour: 'red' });
      expect(res.status).to.equal(422);
      expect(JSON.stringify(res.body.errors)).to.include('colour');
    });

    it('answers 422 naming an ill-typed parameter', async () => {
      const res = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: 'yesterday; DROP TABLE x' });
      expect(res.status).to.equal(422);
      expect(JSON.stringify(res.body.errors)).to.include('date');
    });

    it('accepts provider and domain in upper case', async () => {
      const res = await t.request.post('/api/v1/pipelines/run/acme_corp/GCP/COST/dryrun').set('X-API-Key', key).send({});
      expect(res.status).to.be.oneOf([200, 202]);
      expect(res.body.pipeline_id).to.equal('acme_corp-gcp-cost-dryrun');
    });

    it('lists the templates with their declared parameters', async () => {
      const res = await t.request.get('/api/v1/pipelines/templates').set('X-API-Key', key);
      expect(res.status).to.equal(200);
      const names = (res.body.templates as Array<{ name: string }>).map((x) => x.name);
      expect(names).to.include.members(['dryrun', 'billing_cost']);
      const billing = (res.body.templates as Array<{ name: string; parameters: Array<{ name: string }> }>).find((x) => x.name === 'billing_cost');
      expect(billing?.parameters.map((p) => p.name)).to.include('date');
    });

    it('validates without running', async () => {
      const res = await t.request.post('/api/v1/pipelines/validate/acme_corp/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: '2025-11-14' });
      expect(res.status).to.equal(200);
      expect(res.body).to.have.property('valid');
      expect(res.body.steps).to.be.an('array').that.is.not.empty;
    });

    it('pages through runs newest first with an opaque cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        const res = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: `2025-10-0${i + 1}` });
        expect(res.status).to.equal(202);
        ids.push(res.body.pipeline_logging_id);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: { status: number; body: { runs: Array<{ pipeline_logging_id: string }>; next_cursor: string | null } } = await t.request.get('/api/v1/pipelines/runs').query({ limit: 2, ...(cursor ? { cursor } : {}) }).set('X-API-Key', key);
        expect(res.status).to.equal(200);
        expect(res.body.runs.length).to.be.at.most(2);
        seen.push(...(res.body.runs as Array<{ pipeline_logging_id: string }>).map((r) => r.pipeline_logging_id));
        cursor = res.body.next_cursor;
      } while (cursor);
      expect(new Set(seen).size).to.equal(seen.length);
      expect(seen).to.include.members(ids);
      expect(seen.indexOf(ids[2] ?? '')).to.be.lessThan(seen.indexOf(ids[0] ?? ''));
    });

    it('answers 422 for a forged cursor', async () => {
      const res = await t.request.get('/api/v1/pipelines/runs').query({ cursor: 'bm90LWEtY3Vyc29y' }).set('X-API-Key', key);
      expect(res.status).to.equal(422);
    });
  });

  describe('with no worker running (runs stay PENDING)', () => {
    let t: TestSystem;
    let key: string;
    let duck: Awaited<ReturnType<typeof createTestDuckDb>>;
    let outage: WarehouseOutage;
    before(async () => {
      duck = await createTestDuckDb();
      outage = warehouseOutage(duck.warehouse);
      t = await startTestSystem({ role: 'api', warehouse: outage.warehouse });
      key = await onboard(t, 'acme_corp', 'SCALE');
    });
    after(async () => {
      await t.close();
      await duck.cleanup();
    });

    it('returns the run in flight for an identical second trigger (200, same id)', async () => {
      const first = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: '2025-11-14' });
      const second = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: '2025-11-14' });
      expect(first.status).to.equal(202);
      expect(second.status).to.equal(200);
      expect(second.body.pipeline_logging_id).to.equal(first.body.pipeline_logging_id);
      expect(second.body.status).to.equal('PENDING');
    });

    it('replays an Idempotency-Key to the same run', async () => {
      const a = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).set('Idempotency-Key', 'req-42').send({ date: '2025-11-01' });
      const b = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).set('Idempotency-Key', 'req-42').send({ date: '2025-11-01' });
      expect(a.status).to.equal(202);
      expect(b.body.pipeline_logging_id).to.equal(a.body.pipeline_logging_id);
    });

    it('answers 409 IDEMPOTENCY_CONFLICT when the same key comes with other parameters', async () => {
      const a = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).set('Idempotency-Key', 'req-43').send({ date: '2025-11-02' });
      const b = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).set('Idempotency-Key', 'req-43').send({ date: '2025-11-03' });
      expect(a.status).to.equal(202);
      expect(b.status).to.equal(409);
      expect(b.body.code).to.equal('IDEMPOTENCY_CONFLICT');
    });

    it('cancels a waiting run: CANCELLED, slot released, then 409 on a second cancel', async () => {
      const run = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: '2025-09-09' });
      const id = run.body.pipeline_logging_id as string;
      const before = await t.request.get('/api/v1/tenants/acme_corp/quota').set('X-API-Key', key);
      const cancel = await t.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
      expect(cancel.status).to.equal(200);
      expect(cancel.body.status).to.equal('CANCELLED');
      const after = await t.request.get('/api/v1/tenants/acme_corp/quota').set('X-API-Key', key);
      expect(after.body.concurrent_pipelines_running).to.equal(before.body.concurrent_pipelines_running - 1);
      const again = await t.request.delete(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
      expect(again.status).to.equal(409);
      expect(again.body.code).to.equal('RUN_ALREADY_FINISHED');
      const job = await t.system.runs.queue.getJob(id);
      expect(job).to.equal(undefined);
      await t.system.logWriter.flush();
      const stored = await t.warehouse.query('SELECT status, error_message FROM `acme_corp.x_meta_pipeline_runs` WHERE pipeline_logging_id = @id', { params: { id } });
      expect(stored.rows).to.deep.equal([{ status: 'CANCELLED', error_message: 'Cancelled by user' }]);
    });

    it('still admits and enqueues while the warehouse is failing (the trigger path touches only Redis)', async () => {
      outage.down(['query', 'insertRows', 'datasetExists', 'tableExists', 'createTable', 'ping']);
      try {
        const res = await t.request.post(`${RUN}/billing_cost`).set('X-API-Key', key).send({ date: '2025-08-08' });
        expect(res.status).to.equal(202);
        expect(await t.system.runs.queue.getJob(res.body.pipeline_logging_id)).to.not.equal(undefined);
      } finally {
        outage.up();
      }
    });
  });
});
