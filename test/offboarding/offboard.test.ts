import fs from 'node:fs';
import { expect } from 'chai';
import { DuckDBInstance } from '@duckdb/node-api';
import { hashApiKey } from '../../src/security/api-keys';
import type { RedisClient } from '../../src/redis/connection';
import { defaultOffboardSteps } from '../../src/offboarding/steps';
import type { OffboardingFaults } from '../../src/offboarding/types';
import { eventually } from '../helpers/polling';
import { keysMatching } from '../helpers/redis';
import { forEachRedis } from '../helpers/redis-targets';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

const GONE = 'gone_corp';
const STAY = 'stay_corp';
const STEP_NAMES = defaultOffboardSteps().map((s) => s.name);

/**
 * Every key of the deployment's prefix (the product's and BullMQ's, on every master) whose name or content
 * mentions one of `needles` — independent of the offboarding's own key finder. BullMQ's capped event stream is
 * not read: it names job ids and template names only, never a tenant. The audit log's outbox is not read either: the
 * audit trail is kept on purpose (rows in the central `tenants.audit_log`, including the offboarding's own row, which
 * waits there until the next flush).
 */
async function mentions(redis: RedisClient, prefix: string, needles: string[]): Promise<string[]> {
  const all = [...(await keysMatching(redis, `${prefix}:*`)), ...(await keysMatching(redis, `{${prefix}:*`))];
  const keys = all.filter((k) => k !== `${prefix}:audit:outbox`);
  const found: string[] = [];
  const hit = (text: string): boolean => needles.some((n) => text.includes(n));
  for (const key of keys) {
    if (hit(key)) {
      found.push(key);
      continue;
    }
    const type = await redis.type(key);
    const values =
      type === 'string' ? [(await redis.get(key)) ?? '']
        : type === 'hash' ? Object.entries(await redis.hgetall(key)).flat()
          : type === 'set' ? await redis.smembers(key)
            : type === 'zset' ? await redis.zrange(key, 0, -1)
              : type === 'list' ? await redis.lrange(key, 0, -1)
                : [];
    if (values.some(hit)) found.push(`${key} (${type})`);
  }
  return found;
}

async function parquetRows(file: string): Promise<number> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    const reader = await conn.runAndReadAll(`SELECT COUNT(*) AS n FROM read_parquet('${file.replace(/'/g, "''")}')`);
    return Number(reader.getRows()[0]?.[0]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

forEachRedis('offboarding a tenant', function (redisUnderTest) {
  this.timeout(120_000);
  const faults: OffboardingFaults & { failAfter: string | null } = {
    failAfter: null,
    afterStep(name) {
      if (name === this.failAfter) throw new Error(`simulated crash after ${name}`);
    },
  };
  let a: TestSystem;
  let b: TestSystem;
  let redis: RedisClient;
  const admin = () => ({ 'X-Admin-Key': a.adminKey });
  const offboard = (tenantId: string, body: object = {}) => a.request.post(`/api/v1/admin/tenants/${tenantId}/offboard`).set(admin()).send(body);
  const quotaOn = (t: TestSystem, tenantId: string, key: string) => t.request.get(`/api/v1/tenants/${tenantId}/quota`).set('X-API-Key', key);

  before(async () => {
    const target = await redisUnderTest.target();
    // A long memory of keys: a refusal on B within the test can only come from the announcement.
    const env = { AUTH_CACHE_TTL_MS: '600000' };
    // API processes only, so triggered runs wait in the queue and the offboarding cancels them.
    a = await startTestSystem({ role: 'api', redis: target, env, offboardingFaults: faults });
    b = await startTestSystem({ role: 'api', redis: target, env, prefix: a.prefix, warehouse: a.warehouse });
    redis = a.system.clients.redis;
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  /** A tenant with everything offboarding must remove: runs, a schedule, a webhook, a backfill, provider credentials, a second key, loaded data. */
  async function populate(tenantId: string): Promise<{ key: string; runIds: string[]; configId: string }> {
    const key = await onboard(a, tenantId, 'SCALE');
    const tenant = { 'X-API-Key': key, 'X-User-ID': 'ana' };
    expect((await a.request.post(`/api/v1/admin/tenants/${tenantId}/sample-data`).set(admin()).send({ days: 2, rows_per_day: 7, end_date: '2025-11-14' })).status).to.equal(200);
    expect((await a.request.put(`/api/v1/tenants/${tenantId}/providers/gcp`).set(tenant).send({ settings: { project_id: 'their-project' }, credentials: { private_key: 'secret' } })).status).to.equal(200);
    expect((await a.request.post(`/api/v1/admin/tenants/${tenantId}/api-keys`).set(admin())).status).to.equal(201);
    const schedule = await a.request.post(`/api/v1/scheduler/customer/${tenantId}/pipelines`).set(tenant)
      .send({ provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '0 2 * * *' });
    expect(schedule.status).to.equal(201);
    const hook = await a.request.post(`/api/v1/tenants/${tenantId}/webhooks`).set(tenant).send({ url: 'https://93.184.216.34/hook', events: ['run.cancelled', 'run.completed'] });
    expect(hook.status, JSON.stringify(hook.body)).to.equal(201);
    const backfill = await a.request.post(`/api/v1/pipelines/backfill/${tenantId}/gcp/cost/billing_cost`).set(tenant).send({ start_date: '2025-11-01', end_date: '2025-11-03' });
    expect(backfill.status, JSON.stringify(backfill.body)).to.equal(202);
    const runIds: string[] = [];
    for (const [template, body] of [['dryrun', {}], ['billing_cost', { date: '2025-11-14' }]] as const) {
      const run = await a.request.post(`/api/v1/pipelines/run/${tenantId}/gcp/cost/${template}`).set({ ...tenant, 'Idempotency-Key': `run-${template}` }).send(body);
      expect(run.status).to.equal(202);
      runIds.push(String(run.body.pipeline_logging_id));
    }
    return { key, runIds, configId: String(schedule.body.config_id) };
  }

  describe('with dry_run', () => {
    it('lists every step it would run and changes nothing', async () => {
      const { key } = await populate('dry_corp');
      const before = { keys: await mentions(redis, a.prefix, ['dry_corp']), tables: await a.warehouse.listTables('dry_corp') };
      const res = await offboard('dry_corp', { dry_run: true });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ status: 'DRY_RUN', dry_run: true, offboard_id: null });
      expect(res.body.steps.map((s: { name: string; outcome: string }) => `${s.name}:${s.outcome}`)).to.deep.equal(STEP_NAMES.map((n) => `${n}:would_run`));
      expect(res.body.steps.find((s: { name: string }) => s.name === 'cancel_runs').detail).to.match(/^2 live runs/);
      expect(await mentions(redis, a.prefix, ['dry_corp'])).to.have.members(before.keys);
      expect(await a.warehouse.listTables('dry_corp')).to.deep.equal(before.tables);
      expect((await quotaOn(a, 'dry_corp', key)).status).to.equal(200);
      expect((await a.request.get('/api/v1/admin/tenants/dry_corp').set(admin())).body.status).to.equal('ACTIVE');
      const { rows } = await a.warehouse.query("SELECT COUNT(*) AS n FROM `tenants.tenant_offboardings` WHERE tenant_id = 'dry_corp'");
      expect(rows[0]?.['n']).to.equal(0);
    });
  });

  describe('killed after each step and called again', () => {
    let gone: { key: string; runIds: string[]; configId: string };
    let stayKey: string;
    let finished: Record<string, unknown> & { exported: Array<{ table: string; rows: number; destination: string }>; deleted: Record<string, number> };

    before(async function () {
      this.timeout(120_000);
      stayKey = await onboard(a, STAY, 'SCALE');
      gone = await populate(GONE);
      // B remembers the key before the offboarding starts.
      expect((await quotaOn(b, GONE, gone.key)).status).to.equal(200);
      for (const [i, step] of STEP_NAMES.entries()) {
        faults.failAfter = step;
        const res = await offboard(GONE);
        expect(res.status, `call crashing after ${step}`).to.equal(500);
        if (i === 0) {
          await eventually('the suspended key to be refused on the other API process', async () => ((await quotaOn(b, GONE, gone.key)).status === 401 ? true : undefined));
          // Nothing brings the tenant back half-way.
          const reactivate = await a.request.patch(`/api/v1/admin/tenants/${GONE}`).set(admin()).send({ status: 'ACTIVE' });
          expect([reactivate.status, reactivate.body.code]).to.deep.equal([409, 'OFFBOARD_IN_PROGRESS']);
          const issue = await a.request.post(`/api/v1/admin/tenants/${GONE}/api-keys`).set(admin());
          expect([issue.status, issue.body.code]).to.deep.equal([409, 'OFFBOARD_IN_PROGRESS']);
        }
      }
      faults.failAfter = null;
      const res = await offboard(GONE);
      expect(res.status).to.equal(200);
      finished = res.body;
    });

    it('finishes the job: earlier steps are skipped, the last crashed one runs again', () => {
      expect(finished['status']).to.equal('COMPLETED');
      const outcomes = (finished['steps'] as Array<{ name: string; outcome: string }>).map((s) => `${s.name}:${s.outcome}`);
      expect(outcomes).to.deep.equal(STEP_NAMES.map((n) => `${n}:${n === 'tombstone' ? 'done' : 'done_earlier'}`));
    });

    it('exports every table as Parquet that reads back with the rows it reported', async () => {
      const tables = finished.exported.map((e) => e.table);
      expect(tables).to.include.members(['gcp_billing_export_v1', 'x_meta_pipeline_runs_events', 'x_meta_step_logs_events', 'x_meta_dq_results_events']);
      expect(tables.filter((t) => !t.endsWith('_events') && t.startsWith('x_meta_')), 'views are not exported').to.deep.equal([]);
      for (const e of finished.exported) {
        expect(e.destination.startsWith(`${a.dataDir}/exports/${GONE}/`), e.destination).to.equal(true);
        expect(fs.existsSync(e.destination), e.destination).to.equal(true);
        expect(await parquetRows(e.destination), e.table).to.equal(e.rows);
      }
      expect(finished.exported.find((e) => e.table === 'gcp_billing_export_v1')?.rows).to.equal(14);
      // The two waiting runs were cancelled and their CANCELLED rows are in the export.
      const runs = finished.exported.find((e) => e.table === 'x_meta_pipeline_runs_events');
      expect(runs?.rows).to.be.greaterThan(0);
    });

    it('cancelled the waiting runs through the normal cancel', async () => {
      const runs = finished.exported.find((e) => e.table === 'x_meta_pipeline_runs_events');
      const instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      const reader = await conn.runAndReadAll(`SELECT DISTINCT pipeline_logging_id, status FROM read_parquet('${runs?.destination}') WHERE status = 'CANCELLED' ORDER BY 1`);
      conn.closeSync();
      instance.closeSync();
      expect(reader.getRows().map((r) => String(r[0]))).to.deep.equal([...gone.runIds].sort());
    });

    it('leaves no Redis key of the tenant: tagged keys, global indexes, key cache, queue jobs', async () => {
      expect(await mentions(redis, a.prefix, [GONE, ...gone.runIds, gone.configId])).to.deep.equal([]);
      expect(await redis.hget(a.system.keys.apiKey(hashApiKey(gone.key)), 'tenant_id')).to.not.equal(GONE);
    });

    it('leaves no dataset and none of its key, provider or schedule rows', async () => {
      expect(await a.warehouse.datasetExists(GONE)).to.equal(false);
      for (const table of ['`tenants.tenant_api_keys_events`', '`tenants.tenant_providers_events`', '`customers.customer_pipeline_configs_events`']) {
        const { rows } = await a.warehouse.query(`SELECT COUNT(*) AS n FROM ${table} WHERE tenant_id = @t`, { params: { t: GONE } });
        expect(rows[0]?.['n'], table).to.equal(0);
      }
      expect(finished.deleted).to.include({ api_keys: 2, providers: 1, schedules: 1 });
    });

    it('keeps the profile as a DELETED tombstone that nothing brings back', async () => {
      const read = await a.request.get(`/api/v1/admin/tenants/${GONE}`).set(admin());
      expect(read.status).to.equal(200);
      expect(read.body.status).to.equal('DELETED');
      const again = await a.request.post('/api/v1/tenants/onboard').set(admin())
        .send({ tenant_id: GONE, company_name: 'Back Inc', admin_email: 'a@back.com', force_recreate_dataset: true });
      expect(again.status).to.equal(409);
      expect(again.body.code).to.equal('TENANT_DELETED');
      const patch = await a.request.patch(`/api/v1/admin/tenants/${GONE}`).set(admin()).send({ status: 'ACTIVE' });
      expect([patch.status, patch.body.code]).to.deep.equal([409, 'TENANT_DELETED']);
      const issue = await a.request.post(`/api/v1/admin/tenants/${GONE}/api-keys`).set(admin());
      expect([issue.status, issue.body.code]).to.deep.equal([409, 'TENANT_DELETED']);
    });

    it('refuses the key on both API processes', async () => {
      for (const t of [a, b]) {
        const res = await quotaOn(t, GONE, gone.key);
        expect([res.status, res.body.code]).to.deep.equal([401, 'INVALID_API_KEY']);
      }
    });

    it('answers a second call with the stored result', async () => {
      const res = await offboard(GONE);
      expect(res.status).to.equal(200);
      expect(res.body.offboard_id).to.equal(finished['offboard_id']);
      expect(res.body.exported).to.deep.equal(finished.exported);
      expect(res.body.steps.every((s: { outcome: string }) => s.outcome === 'done_earlier')).to.equal(true);
    });

    it('leaves another tenant untouched', async () => {
      expect((await quotaOn(b, STAY, stayKey)).status).to.equal(200);
      expect(await a.warehouse.datasetExists(STAY)).to.equal(true);
      expect(await redis.sismember(a.system.keys.tenantIndex(), STAY)).to.equal(1);
    });
  });

  describe('errors', () => {
    it('answers 404 TENANT_NOT_FOUND for an unknown tenant and 422 for export_uri on the embedded warehouse', async () => {
      const missing = await offboard('nobody_corp');
      expect([missing.status, missing.body.code]).to.deep.equal([404, 'TENANT_NOT_FOUND']);
      await onboard(a, 'uri_corp');
      const uri = await offboard('uri_corp', { export_uri: 'gs://bucket/exports' });
      expect([uri.status, uri.body.code]).to.deep.equal([422, 'EXPORT_DESTINATION_INVALID']);
      const bad = await offboard('uri_corp', { dry_run: 'maybe' });
      expect([bad.status, bad.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
    });

    it('answers 409 OFFBOARD_IN_PROGRESS while another call holds the tenant', async () => {
      await onboard(a, 'busy_corp');
      await redis.set(a.system.keys.offboardLock('busy_corp'), 'someone', 'PX', 60_000);
      const res = await offboard('busy_corp');
      expect([res.status, res.body.code]).to.deep.equal([409, 'OFFBOARD_IN_PROGRESS']);
      expect((await a.request.get('/api/v1/admin/tenants/busy_corp').set(admin())).body.status).to.equal('ACTIVE');
      await redis.del(a.system.keys.offboardLock('busy_corp'));
    });

    it('needs the admin key', async () => {
      const res = await a.request.post(`/api/v1/admin/tenants/${STAY}/offboard`).send({});
      expect(res.status).to.equal(401);
    });
  });
});
