import j2s from 'joi-to-swagger';
import type Joi from 'joi';
import { TEAM_LIMIT_RESPONSE } from './middleware/team-seat';
import { IDEMPOTENCY_KEY_PATTERN } from './schemas';
import type { DocumentedRoute, RouteResponses } from './route-table';

type JsonObject = Record<string, unknown>;

const toSchema = (schema: Joi.Schema): JsonObject => j2s(schema).swagger as JsonObject;

const ERROR_SCHEMA = {
  type: 'object',
  required: ['detail', 'code', 'request_id'],
  properties: {
    detail: { type: 'string' },
    code: { type: 'string' },
    request_id: { type: 'string' },
    errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
    status: { type: 'string', description: 'RUN_ALREADY_FINISHED: the final status of the run' },
  },
};

/** The error answers every route of a kind can give, besides those its row names. */
function impliedErrors(r: DocumentedRoute): Record<number, string> {
  const errors: Record<number, string> = {};
  // Operational routes (/health, /metrics) sit outside the rate limits and the shutdown gate of /api.
  if (r.path.startsWith('/api/')) {
    errors[429] = 'Rate limit exceeded (Retry-After says when to retry)';
    errors[503] = 'A dependency (Redis, the warehouse) is unavailable, or the server is shutting down';
  }
  if (r.auth === 'tenant') {
    errors[401] = 'Missing, invalid or revoked API key';
    errors[403] = 'The key belongs to another tenant, or the tenant is suspended';
  }
  if (r.auth === 'admin') errors[401] = 'Missing or wrong X-Admin-Key';
  if (r.params || r.query || r.body || r.idempotencyKey) errors[422] = 'Invalid request (`errors` names each field)';
  return errors;
}

function responsesOf(r: DocumentedRoute): Record<string, JsonObject> {
  const all: RouteResponses = { ...impliedErrors(r), ...r.responses };
  if (r.takesSeat) all[403] = `${String(all[403])}; or ${TEAM_LIMIT_RESPONSE}`;
  const out: Record<string, JsonObject> = {};
  for (const [status, answer] of Object.entries(all)) {
    if (typeof answer === 'string') {
      out[status] = { description: answer, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    } else {
      out[status] = answer.body ? { description: answer.description, content: { [answer.contentType ?? 'application/json']: { schema: toSchema(answer.body) } } } : { description: answer.description };
    }
  }
  return out;
}

function parametersOf(r: DocumentedRoute): JsonObject[] {
  const parameters: JsonObject[] = [];
  for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
    if (!schema) continue;
    const swagger = toSchema(schema);
    const props = (swagger.properties ?? {}) as Record<string, JsonObject>;
    const required = new Set((swagger.required as string[] | undefined) ?? []);
    for (const [name, s] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: s });
  }
  if (r.auth === 'tenant') parameters.push({ name: 'X-User-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,128}$' } });
  if (r.idempotencyKey) {
    parameters.push({
      name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN.source },
      description: 'Retrying with the same key and body returns the first run (200) instead of starting another; the same key with another body is 409 IDEMPOTENCY_CONFLICT.',
    });
  }
  return parameters;
}

/** The OpenAPI 3 document, generated from the route table and the joi schemas that validate requests and describe answers. */
export function buildOpenApi(routes: DocumentedRoute[], info: { version: string }): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const op: JsonObject = { summary: r.summary, tags: [r.tag], parameters: parametersOf(r), responses: responsesOf(r) };
    if (r.body) {
      const media: JsonObject = { schema: toSchema(r.body), ...(r.example ? { example: r.example } : {}) };
      op.requestBody = { required: true, content: { 'application/json': media } };
    }
    if (r.auth === 'tenant') op.security = [{ ApiKey: [] }];
    if (r.auth === 'admin') op.security = [{ AdminKey: [] }];
    paths[path] = { ...(paths[path] ?? {}), [r.method]: op };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'Convergence Data Pipeline API', version: info.version },
    paths,
    components: {
      schemas: { Error: ERROR_SCHEMA },
      securitySchemes: {
        ApiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        AdminKey: { type: 'apiKey', in: 'header', name: 'X-Admin-Key' },
      },
    },
  };
}
