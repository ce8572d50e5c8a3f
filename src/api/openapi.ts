import j2s from 'joi-to-swagger';
import type Joi from 'joi';
import type { RouteSpec } from './route-table';
import { TEAM_LIMIT_RESPONSE } from './middleware/team-seat';

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
  },
};

/** The OpenAPI 3 document, generated from the route table and the joi schemas that validate requests. */
export function buildOpenApi(routes: RouteSpec[], info: { version: string }): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const r of routes) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const parameters: JsonObject[] = [];
    for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
      if (!schema) continue;
      const props = (toSchema(schema).properties ?? {}) as Record<string, JsonObject>;
      const required = new Set((toSchema(schema).required as string[] | undefined) ?? []);
      for (const [name, s] of Object.entries(props)) parameters.push({ name, in: where, required: where === 'path' || required.has(name), schema: s });
    }
    if (r.auth === 'tenant') parameters.push({ name: 'X-User-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^[A-Za-z0-9._@-]{1,128}$' } });
    const responses: Record<string, JsonObject> = {};
    const seat403 = r.responses[403] === undefined ? TEAM_LIMIT_RESPONSE : `${r.responses[403]}; or ${TEAM_LIMIT_RESPONSE}`;
    const documented = r.takesSeat ? { ...r.responses, 403: seat403 } : r.responses;
    for (const [status, description] of Object.entries(documented)) {
      responses[status] = Number(status) >= 400 ? { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } : { description };
    }
    const op: JsonObject = { summary: r.summary, tags: [r.tag], parameters, responses };
    if (r.body) op.requestBody = { required: true, content: { 'application/json': { schema: toSchema(r.body) } } };
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
