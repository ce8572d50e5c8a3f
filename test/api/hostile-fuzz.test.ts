import { expect } from 'chai';
import fc from 'fast-check';
import { routeTable } from '../../src/api/app';
import type { RouteSpec } from '../../src/api/route-table';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * Property-based hostile input against every route of the route table: random path segments,
 * random JSON (or not-JSON) bodies, random headers and random credentials. The property is the
 * spec's promise: never a 5xx, every error is a JSON body with a code, and the server stays up.
 */

const PRINTABLE = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 80 });

/** Path segments: anything, URL-encoded, plus pre-encoded traps (bad escapes, traversal, NUL, huge). */
const segment = fc.oneof(
  fc.string({ maxLength: 60 }).map(encodeURIComponent),
  fc.string({ unit: 'grapheme', maxLength: 20 }).map(encodeURIComponent),
  fc.constantFrom('%', '%zz', '%C0%AF', '..', '%2e%2e', '%2F', '%00', 'a'.repeat(5000), 'acme_corp', 'gcp', 'cost', 'dryrun', '00000000-0000-4000-8000-000000000000'),
);

/** Bodies: any JSON value, deep nesting, raw non-JSON text, or nothing. */
const body = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  fc.dictionary(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 2 })).map((v) => JSON.stringify(v)),
  fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`),
  fc.integer({ min: 1, max: 5_000 }).map((n) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`),
  PRINTABLE,
  fc.constant(''),
);

const headers = fc.record(
  {
    'Content-Type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16'),
    'X-User-ID': PRINTABLE,
    'Idempotency-Key': PRINTABLE,
    'X-Request-ID': PRINTABLE,
    'X-Forwarded-For': fc.oneof(PRINTABLE, fc.ipV4(), fc.ipV6()),
    Accept: PRINTABLE,
  },
  { requiredKeys: [] },
);

type Credential = 'tenant' | 'admin' | 'random' | 'none';
const credential = fc.constantFrom<Credential>('tenant', 'admin', 'random', 'none');

interface Case {
  segments: string[];
  body: string;
  headers: Partial<Record<string, string>>;
  credential: Credential;
  randomKey: string;
  query: [string, string][];
}

const caseOf = (paramCount: number): fc.Arbitrary<Case> =>
  fc.record({
    segments: fc.array(segment, { minLength: paramCount, maxLength: paramCount }),
    body,
    headers,
    credential,
    randomKey: PRINTABLE,
    query: fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'status', 'since', 'until', 'pipeline_id', 'x'), fc.string({ maxLength: 40 })), { maxLength: 4 }),
  });

/** Segments that pass (or nearly pass) validation, so the fuzzing reaches the handlers. */
function plausibleSegment(spec: RouteSpec, name: string): fc.Arbitrary<string> {
  const tokens: Record<string, string[]> = {
    // Admin routes act on a second tenant, so a fuzzed suspension or plan change does not end the run.
    ':tenant_id': spec.auth === 'admin' ? ['other_corp'] : ['fuzz_corp', 'fuzz_corp', 'other_corp'],
    ':provider': ['gcp', 'GCP', 'aws'],
    ':domain': ['cost', 'COST', 'billing'],
    ':template_name': ['dryrun', 'billing_cost', 'mtd_cost_by_project', 'nope'],
  };
  const known = tokens[name];
  const uuid = fc.uuid({ version: 4 });
  return known ? fc.oneof(fc.constantFrom(...known), fc.stringMatching(/^[a-z0-9_]{1,12}$/)) : fc.oneof(uuid, fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/));
}

/** A JSON object whose keys are the route's own body keys, with arbitrary values (and sometimes extra keys). */
function schemaBody(spec: RouteSpec): fc.Arbitrary<string> {
  const described = spec.body?.describe() as { keys?: Record<string, unknown> } | undefined;
  const keys = Object.keys(described?.keys ?? {});
  if (keys.length === 0) return body;
  const value = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.string({ maxLength: 30 }), fc.integer(), fc.constantFrom('gcp', 'cost', 'dryrun', '0 2 * * *', 'UTC', 'SUSPENDED', 'ACTIVE', 'SCALE', 'a@b.com', 'x'.repeat(10_000)));
  const record = fc.record(Object.fromEntries(keys.map((k) => [k, value])), { requiredKeys: [] });
  return fc
    .tuple(record, fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 1 }), fc.nat(4))
    .map(([known, extra, dice]) => JSON.stringify(dice === 0 ? { ...known, ...extra } : known));
}

const paramNames = (spec: RouteSpec): string[] => spec.path.split('/').filter((p) => p.startsWith(':'));

function pathOf(spec: RouteSpec, segments: string[]): string {
  let i = 0;
  return spec.path
    .split('/')
    .map((part) => (part.startsWith(':') ? (segments[i++] ?? 'x') : part))
    .join('/');
}

describe('hostile input: property-based fuzzing of every route', function () {
  this.timeout(60_000);
  let t: TestSystem;
  let tenantKey: string;
  let routes: RouteSpec[];

  before(async () => {
    t = await startTestSystem();
    tenantKey = await onboard(t, 'fuzz_corp', 'SCALE');
    await onboard(t, 'other_corp');
    routes = routeTable(t.system.apiDeps());
  });
  after(async () => t.close());

  async function send(spec: RouteSpec, c: Case): Promise<{ status: number; body: unknown }> {
    const qs = new URLSearchParams(c.query).toString();
    const url = `${pathOf(spec, c.segments)}${qs ? `?${qs}` : ''}`;
    let req = t.request[spec.method](url);
    for (const [name, value] of Object.entries(c.headers)) if (value !== undefined) req = req.set(name, value);
    if (c.credential === 'tenant') req = req.set('X-API-Key', tenantKey);
    if (c.credential === 'admin') req = req.set('X-Admin-Key', t.adminKey);
    if (c.credential === 'random') req = req.set('X-API-Key', c.randomKey).set('X-Admin-Key', c.randomKey);
    const res = spec.method === 'get' || spec.method === 'delete' ? await req : await req.send(c.body);
    // A rotation with the fuzz key replaces it; keep fuzzing with the new one.
    if (spec.path.endsWith('/api-keys/rotate') && res.status === 201 && c.credential === 'tenant') {
      tenantKey = (res.body as { api_key: string }).api_key;
    }
    return { status: res.status, body: res.body as unknown };
  }

  const assertHandled = (spec: RouteSpec, res: { status: number; body: unknown }): void => {
    expect(res.status, `${spec.method.toUpperCase()} ${spec.path} answered ${res.status} ${JSON.stringify(res.body)}`).to.be.below(500);
    if (res.status >= 400) expect((res.body as { code?: unknown }).code, 'error bodies carry a code').to.be.a('string');
  };

  it('covers every route of the route table', () => {
    expect(routes.length).to.be.greaterThan(20);
  });

  describe('each route, with random segments, bodies, headers and credentials', () => {
    it('never answers 5xx (60 cases per route)', async () => {
      for (const spec of routes) {
        await fc.assert(
          fc.asyncProperty(caseOf(paramNames(spec).length), async (c) => assertHandled(spec, await send(spec, c))),
          { numRuns: 60 },
        );
      }
    });
  });

  describe('a random route with valid credentials, plausible segments and bodies built from its schema', () => {
    it('never answers 5xx (300 cases)', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: routes.length - 1 }).chain((index) => {
            const spec = routes[index] as RouteSpec;
            return fc.tuple(fc.constant(spec), fc.tuple(...paramNames(spec).map((name) => plausibleSegment(spec, name))), schemaBody(spec), fc.option(fc.constantFrom('ann', 'bob@fuzz.io', 'cy.d')));
          }),
          async ([spec, segments, rawBody, userId]) => {
            const credentialFor: Credential = spec.auth === 'admin' ? 'admin' : 'tenant';
            const hdrs = { 'Content-Type': 'application/json', ...(userId === null ? {} : { 'X-User-ID': userId }) };
            assertHandled(spec, await send(spec, { segments, body: rawBody, headers: hdrs, credential: credentialFor, randomKey: '', query: [] }));
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('unknown paths and methods', () => {
    it('answer 404/405 with a code, never 5xx (100 cases)', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('get', 'post', 'put', 'patch', 'delete'), async (segs, method) => {
          const res = await t.request[method as 'get'](`/api/v1/${segs.join('/')}`).set('X-API-Key', tenantKey);
          expect(res.status, `${method} ${segs.join('/')} → ${res.status}`).to.be.below(500);
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('after the fuzzing', () => {
    it('the server still answers health and the fuzz tenant still works', async () => {
      expect((await t.request.get('/health')).status).to.equal(200);
      const res = await t.request.get('/api/v1/tenants/fuzz_corp/quota').set('X-API-Key', tenantKey);
      expect(res.status).to.equal(200);
    });
  });
});
