import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { routeTable } from '../../src/api/app';
import type { RouteSpec } from '../../src/api/route-table';
import { USER_ID_PATTERN } from '../../src/shared/ids';
import { onboard, startTestSystem, waitForRun } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * SQL-injection strings in every parameter a client controls: path segments, query strings, body
 * fields, headers and run parameters. Identifiers are allow-listed (so these are refused with a 4xx),
 * free text and run parameters are bound (so they come back verbatim), and nothing is ever dropped.
 */
const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE tenants.tenant_profiles; --",
  '" OR ""="',
  '`; DROP SCHEMA tenants CASCADE; --',
  '1; SELECT * FROM tenants.tenant_api_keys',
  "x' UNION SELECT key_hash FROM `tenants.tenant_api_keys` --",
  "inj_corp' --",
  '{tenant_id}',
  '@label',
  '$1',
  "'); DELETE FROM inj_corp.x_meta_pipeline_runs_events; --",
  "\\'; DROP TABLE x; --",
];

/** A test-only template whose one string parameter reaches SQL (bound) and lands in a table. */
const ECHO_TEMPLATE = `
description: Echo a string parameter into a table (hostile-input test)
version: 1.0.0
parameters:
  label:
    type: string
    required: true
timeout_minutes: 1
steps:
  - id: echo
    type: query
    sql: "SELECT @label AS label"
    destination:
      table: echo_labels
      write_mode: append
      schema:
        columns:
          - { name: label, type: STRING }
`;

function configsWithEchoTemplate(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cv-inj-configs-'));
  fs.cpSync(path.resolve('configs'), dir, { recursive: true });
  fs.mkdirSync(path.join(dir, 'test', 'inject'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'test', 'inject', 'echo.yml'), ECHO_TEMPLATE);
  return dir;
}

describe('hostile input: SQL injection strings', function () {
  this.timeout(30_000);
  let t: TestSystem;
  let key: string;
  let configsDir: string;

  before(async () => {
    configsDir = configsWithEchoTemplate();
    t = await startTestSystem({ env: { CONFIGS_DIR: configsDir } });
    key = await onboard(t, 'inj_corp', 'SCALE');
  });
  after(async () => {
    await t.close();
    fs.rmSync(configsDir, { recursive: true, force: true });
  });

  const credentialed = (spec: RouteSpec, url: string) => {
    const req = t.request[spec.method](url);
    return spec.auth === 'admin' ? req.set('X-Admin-Key', t.adminKey) : req.set('X-API-Key', key);
  };

  describe('in every path parameter of every route', () => {
    it('answers a 4xx with a code (identifiers are allow-listed)', async () => {
      for (const spec of routeTable(t.system.apiDeps()).filter((r) => r.path.includes('/:'))) {
        const names = spec.path.split('/').filter((p) => p.startsWith(':'));
        for (const target of names) {
          for (const injection of INJECTIONS) {
            const url = spec.path
              .split('/')
              .map((part) => (part === target ? encodeURIComponent(injection) : part === ':tenant_id' ? 'inj_corp' : part.startsWith(':') ? 'dryrun' : part))
              .join('/')
              .replace('/dryrun/dryrun/dryrun', '/gcp/cost/dryrun');
            const res = await credentialed(spec, url).send({});
            expect(res.status, `${spec.method.toUpperCase()} ${url} → ${res.status}`).to.be.within(400, 499);
            expect(res.body.code).to.be.a('string');
          }
        }
      }
    });
  });

  describe('in the run-list query string', () => {
    it('answers 422 VALIDATION_ERROR for every filter', async () => {
      for (const field of ['pipeline_id', 'status', 'since', 'until', 'limit', 'cursor']) {
        for (const injection of INJECTIONS) {
          const res = await t.request.get('/api/v1/pipelines/runs').query({ [field]: injection }).set('X-API-Key', key);
          expect([res.status, res.body.code], `${field}=${injection}`).to.deep.equal([422, 'VALIDATION_ERROR']);
        }
      }
    });
  });

  describe('in headers', () => {
    it('X-User-ID and Idempotency-Key answer 422, X-API-Key 401, X-Admin-Key 403', async () => {
      for (const injection of INJECTIONS) {
        const run = (h: Record<string, string>) => t.request.post('/api/v1/pipelines/run/inj_corp/gcp/cost/dryrun').set(h).send({});
        // '@label' is a well-formed user id (audit text only, never SQL): admitted like any other.
        const asUser = (await run({ 'X-API-Key': key, 'X-User-ID': injection })).status;
        if (USER_ID_PATTERN.test(injection)) expect(asUser).to.be.oneOf([200, 202]);
        else expect(asUser).to.equal(422);
        expect((await run({ 'X-API-Key': key, 'Idempotency-Key': injection })).status).to.equal(422);
        expect((await run({ 'X-API-Key': injection })).status).to.equal(401);
        expect((await t.request.get('/api/v1/scheduler/status').set('X-Admin-Key', injection)).status).to.equal(403);
      }
    });
  });

  describe('in body fields that are identifiers', () => {
    it('onboarding and schedule bodies answer 422 naming the field', async () => {
      for (const injection of INJECTIONS) {
        const onboardRes = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send({ tenant_id: injection, company_name: 'x', admin_email: 'a@b.com' });
        expect(onboardRes.status).to.equal(422);
        expect(onboardRes.body.errors.map((e: { field: string }) => e.field)).to.include('tenant_id');
        for (const field of ['provider', 'domain', 'pipeline_template', 'schedule_cron', 'timezone']) {
          const body = { provider: 'gcp', domain: 'cost', pipeline_template: 'dryrun', schedule_cron: '0 2 * * *', timezone: 'UTC', [field]: injection };
          const res = await t.request.post('/api/v1/scheduler/customer/inj_corp/pipelines').set('X-API-Key', key).send(body);
          expect([res.status, field], injection).to.deep.equal([422, field]);
          expect(res.body.errors.map((e: { field: string }) => e.field)).to.include(field);
        }
      }
    });

    it('typed run parameters (a date) answer 422', async () => {
      for (const injection of INJECTIONS) {
        const res = await t.request.post('/api/v1/pipelines/run/inj_corp/gcp/cost/billing_cost').set('X-API-Key', key).send({ date: injection });
        expect([res.status, res.body.code]).to.deep.equal([422, 'VALIDATION_ERROR']);
      }
    });
  });

  describe('in free text that is stored', () => {
    it('a company name comes back verbatim', async () => {
      const name = INJECTIONS.slice(0, 4).join(' ');
      const res = await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', t.adminKey).send({ tenant_id: 'quote_corp', company_name: name, admin_email: 'a@quote.com' });
      expect(res.status).to.equal(201);
      const read = await t.request.get('/api/v1/admin/tenants/quote_corp').set('X-Admin-Key', t.adminKey);
      expect(JSON.stringify(read.body)).to.include(JSON.stringify(name).slice(1, -1));
    });

    it('provider settings that name no warehouse object come back verbatim', async () => {
      const settings = { note: INJECTIONS[1], display_name: INJECTIONS[5] };
      const put = await t.request.put('/api/v1/tenants/inj_corp/providers/gcp').set('X-API-Key', key).send({ settings });
      expect(put.status, JSON.stringify(put.body)).to.equal(200);
      const got = await t.request.get('/api/v1/tenants/inj_corp/providers/gcp').set('X-API-Key', key);
      expect(got.body.settings).to.deep.include(settings);
    });

    it('provider settings that name a table or project are identifiers: refused with 422 and not stored', async () => {
      const stored = async (): Promise<unknown> => ((await t.request.get('/api/v1/tenants/inj_corp/providers/gcp').set('X-API-Key', key)).body as { settings?: unknown }).settings;
      const before = await stored();
      for (const settings of [{ project_id: INJECTIONS[1] }, { billing_table: INJECTIONS[5] }, { billing_export_table: INJECTIONS[3] }]) {
        const put = await t.request.put('/api/v1/tenants/inj_corp/providers/gcp').set('X-API-Key', key).send({ settings });
        expect([put.status, put.body.code], JSON.stringify(put.body)).to.deep.equal([422, 'INVALID_TABLE_REFERENCE']);
      }
      expect(await stored()).to.deep.equal(before);
    });
  });

  describe('in a string run parameter that reaches SQL', () => {
    it('is bound, not spliced: every string lands in the table verbatim', async () => {
      for (const label of INJECTIONS) {
        const res = await t.request.post('/api/v1/pipelines/run/inj_corp/test/inject/echo').set('X-API-Key', key).send({ label });
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
        const run = await waitForRun(t, key, res.body.pipeline_logging_id as string);
        expect(run.status, JSON.stringify(run)).to.equal('COMPLETED');
      }
      const { rows } = await t.warehouse.query('SELECT label FROM `inj_corp.echo_labels`');
      expect(rows.map((r) => r.label).sort()).to.deep.equal([...INJECTIONS].sort());
    });
  });

  describe('afterwards', () => {
    it('every central and tenant table is still there and the tenant still works', async () => {
      for (const table of ['tenant_profiles', 'tenant_api_keys', 'tenant_subscriptions', 'tenant_usage_quotas']) {
        expect(await t.warehouse.tableExists({ dataset: 'tenants', table }), table).to.equal(true);
      }
      for (const table of ['x_meta_pipeline_runs', 'x_meta_step_logs', 'x_meta_dq_results']) {
        expect(await t.warehouse.tableExists({ dataset: 'inj_corp', table }), table).to.equal(true);
      }
      expect((await t.request.get('/api/v1/tenants/inj_corp').set('X-API-Key', key)).status).to.equal(200);
    });
  });
});
