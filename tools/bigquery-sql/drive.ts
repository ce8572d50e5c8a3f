import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { batchRunId } from '../../src/batches/run-ids';
import { loadTemplateRegistry } from '../../src/pipelines/template-registry';
import type { Template } from '../../src/pipelines/types';
import { ManualClock, utcDay } from '../../src/shared/clock';
import { BigQueryWarehouse, localAuthClient } from '../../src/warehouse/bigquery';
import { BILLING_CREDITS_REWRITE } from '../../test/helpers/fake-bigquery/rewrites';
import { FakeBigQueryServer } from '../../test/helpers/fake-bigquery/server';
import type { RecordedRequest } from '../../test/helpers/fake-bigquery/server';
import { configsWith } from '../../test/helpers/processes';
import { onboard, startTestSystem, waitForRun } from '../../test/helpers/system';
import type { TestSystem } from '../../test/helpers/system';
import { createTestDuckDb } from '../../test/helpers/warehouse';
import { GUIDE_SQL } from './guide-sql';

/**
 * Drives the real product on the BigQuery adapter against the local BigQuery REST server and records
 * every request it sends, labelled with what the product was doing: boot (bootstrap), onboarding (and a
 * rolled-back one), tenant and key routes, sample data, validating and running every shipped template
 * plus the check's own every-write-mode fixture, run history, schedules and the scheduler routines,
 * usage refresh, and the admin query with the guide's SQL. The server's own analysis is off here: the
 * check analyzes what was recorded against the catalog derived from the code, all errors at once.
 * Needs the Redis the tests use (TEST_REDIS_URL, default 127.0.0.1:6379).
 */
export interface Recorded {
  source: string;
  request: RecordedRequest;
}

export interface DriveResult {
  recorded: Recorded[];
  /** Every template the drive could run: the shipped ones and the check's fixture. */
  templates: Template[];
}

const FIXTURES = path.join(__dirname, 'templates');

export async function driveBigQueryAdapter(tenantId: string): Promise<DriveResult> {
  const backing = await createTestDuckDb();
  const server = await new FakeBigQueryServer(backing.warehouse, 'test-project', 'US', { analyzer: null, duckDbRewrites: [BILLING_CREDITS_REWRITE] }).start();
  const configs = configsWith(fixtureFiles());
  const clock = new ManualClock(Date.now());
  let failOnboarding = false;
  let t: TestSystem | null = null;
  try {
    const warehouse = await BigQueryWarehouse.create({ projectId: server.projectId, location: server.location, apiEndpoint: server.url, authClient: localAuthClient() });
    t = await startTestSystem({
      warehouse,
      clock,
      env: { CONFIGS_DIR: configs.dir },
      onboardingFaults: { beforeStep: (step) => { if (failOnboarding && step === 'dataset') throw new Error('fault injected by the BigQuery SQL check'); } },
    });
    const sys = t;
    const recorded: Recorded[] = [];
    let seen = 0;
    const phase = async (source: string, work: () => Promise<unknown>): Promise<void> => {
      await work();
      for (const request of server.requests.slice(seen)) recorded.push({ source, request });
      seen = server.requests.length;
    };
    const call = async (method: 'get' | 'post' | 'put' | 'patch' | 'delete', url: string, expected: number, body?: object, key?: string): Promise<Record<string, unknown>> => {
      let req = sys.request[method](url).set('X-Admin-Key', sys.adminKey).set('X-User-ID', 'bq_check');
      if (key) req = req.set('X-API-Key', key);
      const res = await (body ? req.send(body) : req);
      if (res.status !== expected) throw new Error(`drive: ${method.toUpperCase()} ${url} answered ${res.status}, expected ${expected}: ${JSON.stringify(res.body)}`);
      return res.body as Record<string, unknown>;
    };
    const registry = loadTemplateRegistry(configs.dir);
    const templates = registry.list().map((s) => registry.get(s.provider, s.domain, s.name) as Template);
    const yesterday = utcDay(new Date(clock.now().getTime() - 86_400_000));
    const T = `/api/v1/tenants/${tenantId}`;
    let key = '';

    await phase('bootstrap (central datasets, events tables, latest-row views)', async () => undefined);
    await phase('onboarding (profile, key, subscription, usage row, tenant dataset and meta tables)', async () => {
      await call('post', '/api/v1/tenants/dryrun', 200, { tenant_id: tenantId, company_name: 'ACME', admin_email: 'admin@acmecorp.com' });
      key = await onboard(sys, tenantId, 'SCALE');
      await call('post', '/api/v1/tenants/onboard', 201, { tenant_id: tenantId, company_name: 'ACME', admin_email: 'admin@acmecorp.com', force_recreate_tables: true });
    });
    await phase('onboarding that fails and is rolled back', async () => {
      failOnboarding = true;
      await call('post', '/api/v1/tenants/onboard', 500, { tenant_id: 'rollback_corp', company_name: 'Rollback', admin_email: 'admin@rollback.com' });
      failOnboarding = false;
    });
    await phase('tenant routes, provider settings, API keys, plan change', async () => {
      await call('get', T, 200, undefined, key);
      await call('get', `${T}/quota`, 200, undefined, key);
      await call('put', `${T}/providers/gcp`, 200, { settings: { billing_export_table: `${tenantId}.gcp_billing_export_v1` } }, key);
      await call('get', `${T}/providers/gcp`, 200, undefined, key);
      const issued = await call('post', `/api/v1/admin/tenants/${tenantId}/api-keys`, 201);
      await call('delete', `/api/v1/admin/api-keys/${String(issued['key_id'])}`, 200);
      key = String((await call('post', `${T}/api-keys/rotate`, 201, {}, key))['api_key']);
      await call('patch', `/api/v1/admin/tenants/${tenantId}`, 200, { subscription_plan: 'SCALE' });
      await call('get', `/api/v1/admin/tenants/${tenantId}`, 200);
    });
    await phase('sample billing data', () => call('post', `/api/v1/admin/tenants/${tenantId}/sample-data`, 200, { days: 3, rows_per_day: 50 }));
    for (const tpl of templates) {
      const path = `${tpl.provider}/${tpl.domain}/${tpl.name}`;
      const params = sampleParameters(tpl, yesterday);
      await phase(`validate ${path} (dry run of each query step)`, () => call('post', `/api/v1/pipelines/validate/${tenantId}/${path}`, 200, params, key));
      await phase(`run ${path} (steps, destination MERGE, data-quality checks, logs)`, async () => {
        const started = await call('post', `/api/v1/pipelines/run/${tenantId}/${path}`, 202, params, key);
        const run = await waitForRun(sys, key, String(started['pipeline_logging_id']), 60_000);
        if (run['status'] !== 'COMPLETED') throw new Error(`drive: ${path} ended ${String(run['status'])}: ${String(run['error'] ?? run['error_message'] ?? '')}`);
        await sys.system.logWriter.flush();
      });
    }
    await phase('run history from the warehouse (GET run, list with filters and cursor)', async () => {
      await call('get', `/api/v1/pipelines/runs/${randomUUID()}`, 404, undefined, key);
      const since = new Date(clock.now().getTime() - 3_600_000).toISOString();
      const until = new Date(clock.now().getTime() + 3_600_000).toISOString();
      await call('get', `/api/v1/pipelines/runs?limit=5&status=COMPLETED&pipeline_id=${tenantId}-gcp-cost-dryrun&since=${since}&until=${until}`, 200, undefined, key);
      const page = await call('get', '/api/v1/pipelines/runs?limit=1', 200, undefined, key);
      const cursor = page['next_cursor'];
      if (typeof cursor !== 'string') throw new Error('drive: expected a second page of runs');
      await call('get', `/api/v1/pipelines/runs?limit=1&cursor=${encodeURIComponent(cursor)}`, 200, undefined, key);
    });
    await phase('backfill with skip_completed (completed dates from x_meta_pipeline_runs) and an admin fan-out (tenants from tenant_profiles)', async () => {
      const backfill = await call('post', `/api/v1/pipelines/backfill/${tenantId}/gcp/cost/billing_cost`, 202, { start_date: yesterday, end_date: yesterday, skip_completed: true }, key);
      await call('get', `/api/v1/pipelines/backfills/${String(backfill['backfill_id'])}`, 200, undefined, key);
      // Once its Redis hash is gone (30 days after the end) the GET reads the latest customers.backfills row.
      await sys.system.clients.redis.del(sys.system.keys.backfill(tenantId, String(backfill['backfill_id'])));
      await call('get', `/api/v1/pipelines/backfills/${String(backfill['backfill_id'])}`, 200, undefined, key);
      const fanout = await call('post', '/api/v1/admin/fanout/gcp/cost/dryrun', 202, { selector: { all_active: true }, spread_seconds: 0 });
      const fanoutId = String(fanout['fanout_id']);
      await call('get', `/api/v1/admin/fanouts/${fanoutId}`, 200);
      // A fan-out without the recorded end of a run whose live record left Redis (one from before ends were recorded):
      // the GET reads the runs' rows in one statement over the tenants' x_meta_pipeline_runs.
      const runId = batchRunId('fanout', fanoutId, tenantId);
      await waitForRun(sys, key, runId, 60_000);
      await sys.system.logWriter.flush();
      await sys.system.clients.redis.del(sys.system.keys.run(tenantId, runId));
      await sys.system.clients.redis.hdel(sys.system.keys.fanout(fanoutId), `r:${tenantId}`);
      const old = await call('get', `/api/v1/admin/fanouts/${fanoutId}`, 200);
      if (!JSON.stringify(old['tenants']).includes('"run_status":"COMPLETED"')) throw new Error(`drive: the fan-out's run status was not read from the warehouse: ${JSON.stringify(old['tenants'])}`);
    });
    await phase('a second API process with a cold cache (API key and tenant from the warehouse)', async () => {
      const cold = await startTestSystem({ warehouse, clock, role: 'api', env: { CONFIGS_DIR: configs.dir } });
      try {
        const res = await cold.request.get(`${T}/quota`).set('X-API-Key', key);
        if (res.status !== 200) throw new Error(`drive: cold-cache GET quota answered ${res.status}: ${JSON.stringify(res.body)}`);
      } finally {
        await cold.close();
      }
    });
    await phase('schedules and the scheduler routines', async () => {
      const base = `/api/v1/scheduler/customer/${tenantId}/pipelines`;
      const created = await call('post', base, 201, { provider: 'GCP', domain: 'COST', pipeline_template: 'dryrun', schedule_cron: '*/5 * * * *', timezone: 'America/New_York', is_active: true }, key);
      const id = String(created['config_id']);
      await call('get', base, 200, undefined, key);
      await call('get', `${base}/${id}`, 200, undefined, key);
      await call('patch', `${base}/${id}`, 200, { overlap_policy: 'allow' }, key);
      clock.advance(11 * 60_000);
      for (const routine of ['trigger', 'process-queue', 'reset-daily-quotas', 'cleanup-orphaned-pipelines']) await call('post', `/api/v1/scheduler/${routine}`, 200);
      await call('get', '/api/v1/scheduler/status', 200);
      await sys.system.scheduler.routines.refreshUsage(clock.now());
      await call('delete', `${base}/${id}`, 204, undefined, key);
    });
    await phase('admin warehouse query with the guide’s SQL', async () => {
      for (const g of GUIDE_SQL) await call('post', '/api/v1/admin/warehouse/query', 200, { sql: g.sql });
    });
    await phase('log writer and outbox', () => sys.system.logWriter.flush());
    await phase('audit log: outbox flush, admin and tenant reads with every filter and the cursor', async () => {
      await sys.system.auditLog.flush();
      const from = new Date(clock.now().getTime() - 3_600_000).toISOString();
      const to = new Date(clock.now().getTime() + 3_600_000).toISOString();
      await call('get', `/api/v1/admin/audit?tenant_id=${tenantId}&action=api_key.revoke&actor=admin&outcome=success&from=${from}&to=${to}`, 200);
      const page = await call('get', '/api/v1/admin/audit?limit=1', 200);
      if (typeof page['next_cursor'] !== 'string') throw new Error('drive: expected a second page of audit rows');
      await call('get', `/api/v1/admin/audit?limit=1&cursor=${page['next_cursor']}`, 200);
      await call('get', `${T}/audit?limit=5`, 200, undefined, key);
    });
    return { recorded, templates };
  } finally {
    await t?.close();
    await server.stop();
    await backing.cleanup();
    configs.cleanup();
  }
}

/** A value for every declared parameter: dates are yesterday (the sample data's last day), the rest any valid value. */
function sampleParameters(template: Template, yesterday: string): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const p of template.parameters) {
    if (p.type === 'date') values[p.name] = yesterday;
    else if (p.default !== undefined && p.default !== null) values[p.name] = p.default;
    else if (p.type === 'enum') values[p.name] = p.values?.[0];
    else values[p.name] = p.type === 'boolean' ? true : p.type === 'integer' || p.type === 'number' ? (p.min ?? 1) : 'x';
  }
  return values;
}

/** The check's own templates (tools/bigquery-sql/templates/{provider}/{domain}/{name}.yml), added to a copy of configs/. */
function fixtureFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.yml')) out[path.relative(FIXTURES, full)] = fs.readFileSync(full, 'utf8');
    }
  };
  walk(FIXTURES);
  return out;
}
