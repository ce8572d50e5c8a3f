import j2s from 'joi-to-swagger';
import type Joi from 'joi';
import { ERROR_SCHEMA, errorResponse, errorsOf } from './error-responses';
import { IDEMPOTENCY_KEY_PATTERN } from './schemas';
import { USER_ID_PATTERN } from '../shared/ids';
import type { DocumentedRoute } from './route-table';

type JsonObject = Record<string, unknown>;

const toSchema = (schema: Joi.Schema): JsonObject => j2s(schema).swagger as JsonObject;

function responsesOf(r: DocumentedRoute): Record<string, JsonObject> {
  const out: Record<string, JsonObject> = {};
  for (const [status, answer] of Object.entries(r.responses)) {
    out[status] = answer.body ? { description: answer.description, content: { [answer.contentType ?? 'application/json']: { schema: toSchema(answer.body) } } } : { description: answer.description };
  }
  for (const [status, codes] of Object.entries(errorsOf(r))) {
    if (out[status]) throw new Error(`${r.method} ${r.path}: ${status} is both an answer with a body of its own and an error`);
    out[status] = errorResponse(codes ?? {});
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
  if (r.auth === 'tenant') parameters.push({ name: 'X-User-ID', in: 'header', required: false, schema: { type: 'string', pattern: USER_ID_PATTERN.source } });
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
