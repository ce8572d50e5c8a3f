import { expect } from 'chai';
import { toAppError } from '../../src/api/middleware/error-handler';
import { mapBigQueryError } from '../../src/warehouse/bigquery-errors';
import { WarehouseError } from '../../src/warehouse/types';

const bigQueryError = (code: number, reason: string): unknown => ({ code, message: `${reason} said BigQuery`, errors: [{ reason, message: `${reason} said BigQuery` }] });

describe('BigQuery errors', () => {
  describe('mapped to warehouse reasons', () => {
    const cases: Array<[number, string, WarehouseError['reason']]> = [
      [403, 'quotaExceeded', 'unavailable'],
      [403, 'rateLimitExceeded', 'unavailable'],
      [503, 'backendError', 'unavailable'],
      [403, 'accessDenied', 'permission_denied'],
      [403, 'billingNotEnabled', 'permission_denied'],
      [401, 'authError', 'permission_denied'],
      [403, 'responseTooLarge', 'invalid_query'],
      [400, 'invalidQuery', 'invalid_query'],
      [403, 'somethingNew', 'unknown'],
    ];
    for (const [code, reason, expected] of cases) {
      it(`maps ${code} ${reason} to ${expected}`, () => {
        expect(mapBigQueryError(bigQueryError(code, reason)).reason).to.equal(expected);
      });
    }
  });

  describe('answered by the API', () => {
    const reasons: Array<WarehouseError['reason']> = [
      'not_found', 'already_exists', 'invalid_query', 'cancelled', 'unavailable', 'permission_denied', 'unknown',
      'not_single_statement', 'not_read_only', 'function_not_allowed', 'access_denied', 'bytes_limit_exceeded',
    ];
    for (const reason of reasons) {
      it(`answers a warehouse error of reason ${reason} with a 503 that names no internals, never a bare 500`, () => {
        const answer = toAppError(new WarehouseError('Access Denied: Project secret-project', reason));
        expect(answer.status).to.equal(503);
        expect(answer.code).to.equal(reason === 'permission_denied' ? 'WAREHOUSE_PERMISSION_DENIED' : 'DEPENDENCY_UNAVAILABLE');
        expect(answer.message).not.to.contain('secret-project');
      });
    }
  });
});
