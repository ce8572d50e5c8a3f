import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import supertest from 'supertest';
import type { Response } from 'supertest';
import { createApp } from '../../src/api/app';
import { MAX_BODY_BYTES } from '../../src/api/middleware/json-body';
import { createRateLimiters } from '../../src/api/middleware/rate-limit';
import { RedisKeys } from '../../src/redis/keys';
import { WarehouseError } from '../../src/warehouse/types';
import type { Warehouse } from '../../src/warehouse/types';
import { readmeErrorRows } from '../helpers/readme-error-codes';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { createTestDuckDb } from '../helpers/warehouse';

/**
 * /openapi.json's error answers are true: every code an operation documents is a README "Error codes" code with
 * that status, and real calls — the answers a review found undocumented — answer a status and code the document
 * lists for their operation.
 */

type Json = Record<string, unknown>;
interface Op {
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Json }>;
  responses: Record<string, { description?: unknown; content?: Record<string, { schema?: Json }> }>;
  security?: Array<Record<string, unknown>>;
}
interface Doc {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, Json>; securitySchemes: Record<string, Json> };
}

const ROOT = path.resolve(__dirname, '../..');
const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const ops = (doc: Doc): Array<[string, string, Op]> => Object.entries(doc.paths).flatMap(([p, byMethod]) => Object.entries(byMethod).map(([m, op]): [string, string, Op] => [m, p, op]));

/** The codes an error response lists: the `code` enum of its schema (allOf: the Error schema, then the enum). */
function codesOf(response: Op['responses'][string] | undefined): string[] | null {
  const schema = response?.content?.['application/json']?.schema as { allOf?: Array<{ $ref?: string; properties?: { code?: { enum?: unknown } } }> } | undefined;
  const [base, narrowed] = schema?.allOf ?? [];
  if (base?.$ref !== '#/components/schemas/Error' || !Array.isArray(narrowed?.properties?.code?.enum)) return null;
  return narrowed.properties.code.enum as string[];
}

/** What OpenAPI 3.0 asks of the parts this generator emits; no validator package is a dependency (see the report). */
function structuralProblems(doc: Doc): string[] {
  const problems: string[] = [];
  const resolves = (ref: string): boolean => ref.startsWith('#/') && ref.slice(2).split('/').reduce<unknown>((node, key) => (node as Json | undefined)?.[key], doc) !== undefined;
  const schema = (s: unknown, at: string): void => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return void problems.push(`${at}: a schema must be an object`);
    const o = s as Json;
    if (typeof o.$ref === 'string' && !resolves(o.$ref)) problems.push(`${at}: $ref ${o.$ref} resolves to nothing`);
    if (o.type !== undefined && !['string', 'number', 'integer', 'boolean', 'array', 'object'].includes(o.type as string)) problems.push(`${at}: type ${JSON.stringify(o.type)} is not an OpenAPI 3.0 type`);
    for (const k of ['const', '$schema', 'prefixItems']) if (k in o) problems.push(`${at}: ${k} is not OpenAPI 3.0`);
    if (o.enum !== undefined && (!Array.isArray(o.enum) || o.enum.length === 0)) problems.push(`${at}: enum must be a non-empty array`);
    if (o.type === 'array' && o.items === undefined) problems.push(`${at}: an array schema needs items`);
    for (const [k, sub] of Object.entries((o.properties as Json | undefined) ?? {})) schema(sub, `${at}.properties.${k}`);
    for (const k of ['items', 'not']) if (o[k] !== undefined) schema(o[k], `${at}.${k}`);
    if (typeof o.additionalProperties === 'object') schema(o.additionalProperties, `${at}.additionalProperties`);
    for (const k of ['allOf', 'anyOf', 'oneOf']) {
      if (o[k] === undefined) continue;
      if (!Array.isArray(o[k]) || (o[k] as unknown[]).length === 0) problems.push(`${at}.${k}: must be a non-empty array`);
      else (o[k] as unknown[]).forEach((sub, i) => schema(sub, `${at}.${k}[${i}]`));
    }
  };
  if (!/^3\.0\.\d+$/.test(doc.openapi)) problems.push(`openapi ${doc.openapi} is not 3.0.x`);
  if (typeof doc.info?.title !== 'string' || typeof doc.info?.version !== 'string') problems.push('info needs title and version');
  for (const [name, s] of Object.entries(doc.components.schemas)) schema(s, `components.schemas.${name}`);
  for (const [p, byMethod] of Object.entries(doc.paths)) {
    if (!p.startsWith('/')) problems.push(`${p}: a path starts with /`);
    const templated = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const [m, op] of Object.entries(byMethod)) {
      const at = `${m} ${p}`;
      if (!METHODS.has(m)) problems.push(`${at}: not an HTTP method`);
      const params = op.parameters ?? [];
      const seen = new Set<string>();
      for (const [i, prm] of params.entries()) {
        if (!['path', 'query', 'header', 'cookie'].includes(prm.in)) problems.push(`${at}: parameter ${prm.name} in ${prm.in}`);
        if (seen.size === seen.add(`${prm.in}:${prm.name}`).size) problems.push(`${at}: parameter ${prm.in} ${prm.name} twice`);
        if (prm.in === 'path' && prm.required !== true) problems.push(`${at}: path parameter ${prm.name} must be required`);
        schema(prm.schema, `${at} parameters[${i}].schema`);
      }
      const pathParams = params.filter((prm) => prm.in === 'path').map((prm) => prm.name).sort();
      if (pathParams.join() !== templated.join()) problems.push(`${at}: path parameters ${pathParams.join()}, template ${templated.join()}`);
      if (Object.keys(op.responses ?? {}).length === 0) problems.push(`${at}: no responses`);
      for (const [status, r] of Object.entries(op.responses ?? {})) {
        if (!/^([1-5]\d\d|[1-5]XX|default)$/.test(status)) problems.push(`${at}: response key ${status}`);
        if (typeof r.description !== 'string') problems.push(`${at} ${status}: description is required`);
        for (const [type, media] of Object.entries(r.content ?? {})) schema(media.schema, `${at} ${status} ${type}`);
      }
      for (const requirement of op.security ?? []) {
        for (const name of Object.keys(requirement)) if (!doc.components.securitySchemes[name]) problems.push(`${at}: security scheme ${name} undefined`);
      }
    }
  }
  return problems;
}

/** Until `check` returns a value (a change announced within the process takes effect at once, or nearly). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i += 1) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`waited in vain for ${what}`);
}

describe('/openapi.json error answers', function () {
  this.timeout(120_000);
  let t: TestSystem;
  let duck: Awaited<ReturnType<typeof createTestDuckDb>>;
  let doc: Doc;
  /** While set, every warehouse query of the system fails with it. */
  let refusal: Error | null = null;
  const onboardFails = { armed: false };
  const offboardCrashes = { armed: false };
  const admin = (): Record<string, string> => ({ 'X-Admin-Key': t.adminKey });

  before(async () => {
    duck = await createTestDuckDb();
    const inner = duck.warehouse;
    const warehouse = new Proxy(inner, {
      get(target, prop, receiver) {
        const value: unknown = Reflect.get(target, prop, receiver);
        if (prop === 'query') return (...args: unknown[]) => (refusal ? Promise.reject(refusal) : (value as (...a: unknown[]) => unknown).apply(target, args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as Warehouse;
    t = await startTestSystem({
      role: 'api',
      warehouse,
      onboardingFaults: { beforeStep: (step) => { if (onboardFails.armed && step === 'subscription') throw new Error('simulated failure'); } },
      offboardingFaults: { afterStep: (name) => { if (offboardCrashes.armed && name === 'suspend') throw new Error('simulated crash after suspend'); } },
    });
    const res = await t.request.get('/openapi.json');
    expect(res.status).to.equal(200);
    doc = res.body as Doc;
  });
  after(async () => {
    await t?.close();
    await duck?.cleanup();
  });

  /** The operation a call reaches: the documented path whose template matches, for its method. */
  const opOf = (method: string, url: string): [string, Op] => {
    const pathOnly = url.split('?')[0] ?? url;
    const found = Object.entries(doc.paths).find(([p, byMethod]) => byMethod[method] && new RegExp(`^${p.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(pathOnly));
    if (!found) throw new Error(`no documented operation for ${method} ${pathOnly}`);
    return [`${method} ${found[0]}`, found[1][method] as Op];
  };

  /** The answer is one its operation documents: the status, and the code among that status's codes. */
  const documented = (method: string, url: string, res: Response, expected: [number, string]): void => {
    expect([res.status, res.body?.code], `${method} ${url}: ${JSON.stringify(res.body)}`).to.deep.equal(expected);
    const [name, op] = opOf(method, url);
    expect(codesOf(op.responses[String(res.status)]) ?? [], `the codes ${name} documents for ${res.status}`).to.include(res.body.code);
    const fields = Object.keys((doc.components.schemas.Error as { properties: Json }).properties);
    expect(fields, `${name} ${res.status} ${String(res.body.code)}: every field of the body is in the Error schema`).to.include.members(Object.keys(res.body as Json));
  };

  describe('the document', () => {
    it('is OpenAPI 3.0 in every part this generator emits (schemas, parameters, responses, $refs, security)', () => {
      expect(structuralProblems(doc)).to.deep.equal([]);
    });

    it('gives every error status of every operation its codes, as the `code` enum and as the description', () => {
      const wrong: string[] = [];
      for (const [m, p, op] of ops(doc)) {
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) < 400 || (p === '/health/ready' && status === '503')) continue;
          const codes = codesOf(r);
          if (!codes || codes.length === 0) {
            wrong.push(`${m} ${p} ${status}: no code enum`);
            continue;
          }
          const listed = String(r.description).split('\n').map((l) => /^- `([A-Z_]+)`: \S/.exec(l)?.[1]);
          if (listed.join() !== codes.join()) wrong.push(`${m} ${p} ${status}: described ${listed.join()}, enum ${codes.join()}`);
        }
      }
      expect(wrong).to.deep.equal([]);
    });

    it('documents only codes README "Error codes" has, each with the status README gives it', () => {
      const rows = readmeErrorRows(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
      const statuses = new Map(rows.map((r) => [r.code, r.statuses]));
      const wrong: string[] = [];
      let seen = 0;
      for (const [m, p, op] of ops(doc)) {
        for (const [status, r] of Object.entries(op.responses)) {
          for (const code of codesOf(r) ?? []) {
            seen += 1;
            const readme = statuses.get(code);
            if (readme === undefined) wrong.push(`${m} ${p} ${status} ${code}: not in README`);
            else if (readme === null || !readme.includes(Number(status))) wrong.push(`${m} ${p} ${status} ${code}: README says ${readme?.join('/') ?? 'never an HTTP answer'}`);
          }
        }
      }
      expect(wrong).to.deep.equal([]);
      expect(seen).to.be.greaterThan(300);
    });

    it('documents the answers the review found missing or wrong', () => {
      const lacking: string[] = [];
      const needs = (m: string, p: string, op: Op, status: number, ...codes: string[]): void => {
        const listed = codesOf(op.responses[String(status)]) ?? [];
        for (const code of codes) if (!listed.includes(code)) lacking.push(`${m} ${p}: ${status} ${code}`);
      };
      for (const [m, p, op] of ops(doc)) {
        if (!p.startsWith('/api/')) continue;
        needs(m, p, op, 500, 'INTERNAL_ERROR');
        needs(m, p, op, 503, 'SHUTTING_DOWN', 'DEPENDENCY_UNAVAILABLE');
        if (m !== 'get') needs(m, p, op, 400, 'INVALID_JSON');
        if (m !== 'get') needs(m, p, op, 413, 'PAYLOAD_TOO_LARGE');
        if (op.security?.[0]?.AdminKey) {
          needs(m, p, op, 401, 'ADMIN_KEY_REQUIRED');
          needs(m, p, op, 403, 'INVALID_ADMIN_KEY');
          needs(m, p, op, 429, 'RATE_LIMITED', 'AUTH_RATE_LIMITED');
        }
        if (op.security?.[0]?.ApiKey) {
          needs(m, p, op, 401, 'INVALID_API_KEY');
          needs(m, p, op, 422, 'VALIDATION_ERROR');
          needs(m, p, op, 429, 'RATE_LIMITED', 'AUTH_RATE_LIMITED');
          // A suspended tenant is refused as an unknown key (401), never with a 403.
          expect(String(op.responses['403']?.description ?? ''), `${m} ${p} 403`).to.not.match(/suspend/i);
          expect(String(op.responses['401']?.description), `${m} ${p} 401`).to.match(/suspended/);
        }
      }
      needs('post', '/api/v1/tenants/onboard', doc.paths['/api/v1/tenants/onboard']?.post as Op, 409, 'TENANT_EXISTS', 'TENANT_DELETED', 'OFFBOARD_IN_PROGRESS');
      const query = doc.paths['/api/v1/admin/warehouse/query']?.post as Op;
      needs('post', '/api/v1/admin/warehouse/query', query, 422, 'WAREHOUSE_ERROR', 'SQL_NOT_SINGLE_STATEMENT', 'SQL_NOT_READ_ONLY', 'SQL_FUNCTION_NOT_ALLOWED', 'SQL_EXTERNAL_ACCESS_DENIED', 'SQL_BYTES_LIMIT_EXCEEDED');
      expect(lacking).to.deep.equal([]);
      expect(Object.keys((doc.components.schemas.Error as { properties: Json }).properties)).to.include.members(['status', 'step', 'errors']);
      // A tenant route with no tenant in its path cannot answer TENANT_MISMATCH, and one that does not act takes no seat: no 403.
      expect(doc.paths['/api/v1/pipelines/templates']?.get?.responses).to.not.have.property('403');
    });
  });

  describe('real answers', () => {
    it('admin routes: 401 ADMIN_KEY_REQUIRED without the key, 403 INVALID_ADMIN_KEY with a wrong one', async () => {
      documented('get', '/api/v1/admin/tenants/acme_corp', await t.request.get('/api/v1/admin/tenants/acme_corp'), [401, 'ADMIN_KEY_REQUIRED']);
      documented('get', '/api/v1/admin/tenants/acme_corp', await t.request.get('/api/v1/admin/tenants/acme_corp').set('X-Admin-Key', 'wrong'), [403, 'INVALID_ADMIN_KEY']);
      const body = { tenant_id: 'nokey_corp', company_name: 'No Key', admin_email: 'a@nokey.com', subscription_plan: 'STARTER' };
      documented('post', '/api/v1/tenants/onboard', await t.request.post('/api/v1/tenants/onboard').set('X-Admin-Key', 'wrong').send(body), [403, 'INVALID_ADMIN_KEY']);
    });

    it('a suspended tenant: 401 INVALID_API_KEY on a tenant route and on the run route', async () => {
      const key = await onboard(t, 'susp_corp');
      expect((await t.request.patch('/api/v1/admin/tenants/susp_corp').set(admin()).send({ status: 'SUSPENDED' })).status).to.equal(200);
      const quota = await eventually('the suspended key to be refused', async () => {
        const res = await t.request.get('/api/v1/tenants/susp_corp/quota').set('X-API-Key', key);
        return res.status === 200 ? undefined : res;
      });
      documented('get', '/api/v1/tenants/susp_corp/quota', quota, [401, 'INVALID_API_KEY']);
      const run = '/api/v1/pipelines/run/susp_corp/gcp/cost/dryrun';
      documented('post', run, await t.request.post(run).set('X-API-Key', key).send({}), [401, 'INVALID_API_KEY']);
    });

    it('bodies: 400 INVALID_JSON (a route without a body too) and 413 PAYLOAD_TOO_LARGE', async () => {
      const key = await onboard(t, 'body_corp');
      const run = '/api/v1/pipelines/run/body_corp/gcp/cost/dryrun';
      documented('post', run, await t.request.post(run).set('X-API-Key', key).set('Content-Type', 'application/json').send('{"date": '), [400, 'INVALID_JSON']);
      const cancel = '/api/v1/pipelines/runs/00000000-0000-4000-8000-000000000000';
      documented('delete', cancel, await t.request.delete(cancel).set('X-API-Key', key).set('Content-Type', 'application/json').send('{nope'), [400, 'INVALID_JSON']);
      const huge = JSON.stringify({ x: 'a'.repeat(MAX_BODY_BYTES) });
      documented('post', run, await t.request.post(run).set('X-API-Key', key).set('Content-Type', 'application/json').send(huge), [413, 'PAYLOAD_TOO_LARGE']);
    });

    it('a tenant route without params or body: 422 VALIDATION_ERROR for a bad X-User-ID', async () => {
      const key = await onboard(t, 'user_corp');
      const res = await t.request.get('/api/v1/pipelines/templates').set('X-API-Key', key).set('X-User-ID', 'not a user!');
      documented('get', '/api/v1/pipelines/templates', res, [422, 'VALIDATION_ERROR']);
    });

    it('429 RATE_LIMITED and AUTH_RATE_LIMITED past the limits (the same app, with limits of 2 a minute)', async () => {
      const key = await onboard(t, 'busy_corp');
      const deps = t.system.apiDeps();
      const limits = { ...t.system.config.rateLimits, tenantPerMinute: 2, authFailuresPerMinute: 2 };
      const low = createRateLimiters({ redis: t.system.clients.redis, keys: new RedisKeys(`${t.prefix}:low`), limits });
      const app = supertest(createApp({ ...deps, rateLimits: low, auth: { ...deps.auth, authFailures: low.authFailures } }).callback());
      const templates = async (): Promise<Response> => app.get('/api/v1/pipelines/templates').set('X-API-Key', key);
      expect([(await templates()).status, (await templates()).status]).to.deep.equal([200, 200]);
      documented('get', '/api/v1/pipelines/templates', await templates(), [429, 'RATE_LIMITED']);
      const wrongAdmin = async (): Promise<Response> => app.post('/api/v1/scheduler/trigger').set('X-Admin-Key', 'wrong');
      expect([(await wrongAdmin()).status, (await wrongAdmin()).status]).to.deep.equal([403, 403]);
      documented('post', '/api/v1/scheduler/trigger', await wrongAdmin(), [429, 'AUTH_RATE_LIMITED']);
    });

    it('503 SHUTTING_DOWN while stopping; 503 DEPENDENCY_UNAVAILABLE, 503 WAREHOUSE_PERMISSION_DENIED and 500 INTERNAL_ERROR from the warehouse', async () => {
      const key = await onboard(t, 'down_corp');
      const draining = supertest(createApp({ ...t.system.apiDeps(), isShuttingDown: () => true }).callback());
      documented('get', '/api/v1/pipelines/templates', await draining.get('/api/v1/pipelines/templates').set('X-API-Key', key), [503, 'SHUTTING_DOWN']);
      const read = (): supertest.Test => t.request.get('/api/v1/admin/tenants/down_corp').set(admin());
      const cases: Array<[Error, [number, string]]> = [
        [new WarehouseError('simulated outage', 'unavailable'), [503, 'DEPENDENCY_UNAVAILABLE']],
        [new WarehouseError('simulated refusal', 'permission_denied'), [503, 'WAREHOUSE_PERMISSION_DENIED']],
        [new Error('simulated bug'), [500, 'INTERNAL_ERROR']],
      ];
      for (const [error, expected] of cases) {
        refusal = error;
        try {
          documented('get', '/api/v1/admin/tenants/down_corp', await read(), expected);
        } finally {
          refusal = null;
        }
      }
    });

    it('onboarding: 409 OFFBOARD_IN_PROGRESS for a tenant whose offboarding stopped half-way; 500 ONBOARDING_FAILED with its step', async () => {
      await onboard(t, 'half_corp');
      offboardCrashes.armed = true;
      try {
        const offboard = '/api/v1/admin/tenants/half_corp/offboard';
        documented('post', offboard, await t.request.post(offboard).set(admin()).send({}), [500, 'INTERNAL_ERROR']);
      } finally {
        offboardCrashes.armed = false;
      }
      const again = { tenant_id: 'half_corp', company_name: 'Half Inc', admin_email: 'a@half.com', subscription_plan: 'STARTER' };
      documented('post', '/api/v1/tenants/onboard', await t.request.post('/api/v1/tenants/onboard').set(admin()).send(again), [409, 'OFFBOARD_IN_PROGRESS']);

      onboardFails.armed = true;
      let failed: Response;
      try {
        failed = await t.request.post('/api/v1/tenants/onboard').set(admin()).send({ ...again, tenant_id: 'fail_corp', admin_email: 'a@fail.com' });
      } finally {
        onboardFails.armed = false;
      }
      documented('post', '/api/v1/tenants/onboard', failed, [500, 'ONBOARDING_FAILED']);
      expect(failed.body.step).to.equal('subscription');
    });

    it('operator SQL: 422 WAREHOUSE_ERROR and the SQL_* refusals', async () => {
      const query = '/api/v1/admin/warehouse/query';
      const cases: Array<[string, string]> = [
        ['SELECT * FROM tenants.no_such_table', 'WAREHOUSE_ERROR'],
        ['DELETE FROM tenants.tenant_profiles', 'SQL_NOT_READ_ONLY'],
        ['SELECT 1; SELECT 2', 'SQL_NOT_SINGLE_STATEMENT'],
      ];
      for (const [sql, code] of cases) documented('post', query, await t.request.post(query).set(admin()).send({ sql }), [422, code]);
    });
  });
});
