import type { ErrorCode } from '../shared/errors';
import { USER_ID_PATTERN } from '../shared/ids';
import { MAX_BODY_BYTES } from './middleware/json-body';
import type { DocumentedRoute, ErrorCodes, RouteErrors } from './route-table';
import { IDEMPOTENCY_KEY_PATTERN } from './schemas';

/**
 * The error answers of a route as /openapi.json documents them: those every route of its kind gives, derived here
 * once from its row (the middleware of app.ts that answers them, in the order a request meets them), and those its
 * row declares (`errors`). Each status lists its codes and when; test/api/openapi-errors.test.ts holds every code
 * to README "Error codes" and real answers to the document.
 */

type JsonObject = Record<string, unknown>;

/** Codes collected per status; a code derived twice (or derived and declared) keeps each reason, in order. */
class ErrorList {
  private readonly byStatus = new Map<number, Map<ErrorCode, string[]>>();

  add(status: number, code: ErrorCode, when: string): void {
    const codes = this.byStatus.get(status) ?? new Map<ErrorCode, string[]>();
    codes.set(code, [...(codes.get(code) ?? []), when]);
    this.byStatus.set(status, codes);
  }

  addAll(errors: RouteErrors | undefined): void {
    for (const [status, codes] of Object.entries(errors ?? {})) {
      for (const [code, when] of Object.entries(codes ?? {})) this.add(Number(status), code as ErrorCode, when);
    }
  }

  result(): RouteErrors {
    const out: RouteErrors = {};
    for (const status of [...this.byStatus.keys()].sort((a, b) => a - b)) {
      const codes: ErrorCodes = {};
      for (const [code, whens] of this.byStatus.get(status) ?? []) codes[code] = whens.join('; ');
      out[status] = codes;
    }
    return out;
  }
}

const isApi = (r: DocumentedRoute): boolean => r.path.startsWith('/api/');

/** The error answers every route of this kind gives (auth, rate limits, body, validation, shutdown, 5xx). */
function impliedErrors(r: DocumentedRoute, e: ErrorList): void {
  const api = isApi(r);
  // Every /api request passes the shutdown gate, then the body reader (app.ts), then its route's guards.
  if (api) {
    e.add(503, 'SHUTTING_DOWN', 'the process is stopping (`Connection: close`); retry after `Retry-After` (5 s), another instance answers');
  }
  // jsonBody reads the body of every /api request but GET/HEAD/OPTIONS, whether or not the route takes one.
  const readsBody = api && r.method !== 'get';
  if (readsBody) {
    e.add(400, 'INVALID_JSON', 'the body is not JSON (it is read as JSON whatever the `Content-Type`), or could not be read');
    e.add(413, 'PAYLOAD_TOO_LARGE', `the body is over ${MAX_BODY_BYTES / (1024 * 1024)} MiB`);
  }
  // A code's reasons keep the order they are added in: the route's own fields first (the usual one), then headers, then the body.
  if (r.params || r.query || r.body) e.add(422, 'VALIDATION_ERROR', 'a path, query or body field is invalid (`errors` names each)');
  if (r.auth === 'tenant') {
    e.add(401, 'INVALID_API_KEY', '`X-API-Key` missing, unknown, revoked or expired, or its tenant suspended or offboarded (one answer for all)');
    e.add(429, 'AUTH_RATE_LIMITED', 'a failed authentication past the allowance of the address per minute; retry after `Retry-After`, with a valid key');
    e.add(422, 'VALIDATION_ERROR', `\`X-User-ID\` does not match \`${USER_ID_PATTERN.source}\``);
    if (r.path.includes(':tenant_id')) e.add(403, 'TENANT_MISMATCH', 'the key’s tenant is not the path’s `{tenant_id}`');
    const limits = r.runLimited ? 'the tenant’s requests or runs per minute' : 'the tenant’s requests per minute';
    e.add(429, 'RATE_LIMITED', `over ${limits} (\`X-RateLimit-*\` headers); retry after \`Retry-After\``);
  } else if (r.auth === 'admin') {
    // Counted first (a valid key against the admin allowance, any other call per address), then refused.
    if (api) e.add(429, 'RATE_LIMITED', 'over the requests per minute of the address (a valid admin key has a larger allowance); retry after `Retry-After`');
    e.add(401, 'ADMIN_KEY_REQUIRED', 'no `X-Admin-Key`');
    e.add(403, 'INVALID_ADMIN_KEY', 'a wrong `X-Admin-Key` (a failed authentication)');
    e.add(429, 'AUTH_RATE_LIMITED', 'a failed authentication past the allowance of the address per minute; retry after `Retry-After`, with the right key');
  } else if (api) {
    e.add(429, 'RATE_LIMITED', 'over the requests per minute of the address; retry after `Retry-After`');
  }
  if (r.idempotencyKey) e.add(422, 'VALIDATION_ERROR', `\`Idempotency-Key\` does not match \`${IDEMPOTENCY_KEY_PATTERN.source}\``);
  if (readsBody) e.add(422, 'VALIDATION_ERROR', 'a body is sent that is not a JSON object');
  if (r.auth === 'tenant' && r.takesSeat) {
    e.add(403, 'TEAM_LIMIT_REACHED', 'a new `X-User-ID` beyond the plan’s team size (users who act take seats; reads do not)');
  }
  e.add(500, 'INTERNAL_ERROR', 'anything unexpected; the detail is hidden, the log has the cause under the request id');
  if (api) {
    e.add(503, 'DEPENDENCY_UNAVAILABLE', 'Redis, the warehouse (or a call past `API_WAREHOUSE_TIMEOUT_MS`), Cloud KMS or the run queue cannot be used now; retry with backoff (`Retry-After` when sent)');
  } else if (r.auth === 'admin') {
    e.add(503, 'DEPENDENCY_UNAVAILABLE', 'Redis cannot count a failed authentication now; retry shortly');
  }
  if (api && r.warehouse !== false) {
    e.add(503, 'WAREHOUSE_PERMISSION_DENIED', 'the warehouse refuses the platform’s own credentials; an operator must grant its service account access');
  }
}

/** Status → code → when: every error answer of the route, derived and declared. */
export function errorsOf(r: DocumentedRoute): RouteErrors {
  const e = new ErrorList();
  impliedErrors(r, e);
  e.addAll(r.errors);
  return e.result();
}

/** The error schema: the body of every error answer (error-handler.ts). */
export const ERROR_SCHEMA = {
  type: 'object',
  required: ['detail', 'code', 'request_id'],
  properties: {
    detail: { type: 'string', description: 'For people; an unexpected 500 says only `Internal server error`' },
    code: { type: 'string', description: 'Stable; each answer lists the codes it can carry' },
    request_id: { type: 'string', description: 'Also the X-Request-ID header' },
    errors: {
      type: 'array',
      description: '422 VALIDATION_ERROR (and the 422s that name fields): each invalid field',
      items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } },
    },
    status: { type: 'string', description: '409 RUN_ALREADY_FINISHED: the final status of the run' },
    step: { type: 'string', description: '500 ONBOARDING_FAILED: the onboarding step that failed' },
  },
};

/** One error status of an operation: its codes as a Markdown list (Swagger UI renders it) and as the `code` enum. */
export function errorResponse(codes: ErrorCodes): JsonObject {
  const entries = Object.entries(codes);
  return {
    description: entries.map(([code, when]) => `- \`${code}\`: ${when}`).join('\n'),
    content: {
      'application/json': {
        schema: {
          allOf: [
            { $ref: '#/components/schemas/Error' },
            { type: 'object', properties: { code: { type: 'string', enum: entries.map(([code]) => code) } } },
          ],
        },
      },
    },
  };
}
