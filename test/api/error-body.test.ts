import { expect } from 'chai';
import Koa from 'koa';
import request from 'supertest';
import { errorHandler } from '../../src/api/middleware/error-handler';
import type { ApiState } from '../../src/api/types';
import { AppError } from '../../src/shared/errors';
import { silentLogger } from '../../src/shared/logger';

/** The error body as the one error middleware writes it, for errors thrown deep in a service. */
describe('error bodies', () => {
  const answer = (err: unknown) => {
    const app = new Koa<ApiState>();
    app.use(async (ctx, next) => {
      ctx.state.requestId = 'req-1';
      ctx.state.log = silentLogger();
      await next();
    });
    app.use(errorHandler());
    app.use(() => {
      throw err;
    });
    return request(app.callback()).get('/x');
  };

  it('a 503 says what is unavailable and when to retry (its detail is written for the caller)', async () => {
    const res = await answer(new AppError(503, 'DEPENDENCY_UNAVAILABLE', 'Tenant profile unavailable, retry shortly'));
    expect([res.status, res.body]).to.deep.equal([503, { detail: 'Tenant profile unavailable, retry shortly', code: 'DEPENDENCY_UNAVAILABLE', request_id: 'req-1' }]);
  });

  it('a 500 hides its detail; an unexpected error is a 500 INTERNAL_ERROR with nothing of its message', async () => {
    const planned = await answer(new AppError(500, 'INTERNAL_ERROR', 'password=hunter2 in the stack'));
    expect(planned.body).to.deep.equal({ detail: 'Internal server error', code: 'INTERNAL_ERROR', request_id: 'req-1' });
    const unexpected = await answer(new TypeError("Cannot read properties of undefined (reading 'secret_field')"));
    expect([unexpected.status, unexpected.body]).to.deep.equal([500, { detail: 'Internal server error', code: 'INTERNAL_ERROR', request_id: 'req-1' }]);
  });

  it('extra fields are added, and never replace detail, code or request_id', async () => {
    const res = await answer(new AppError(500, 'ONBOARDING_FAILED', 'Onboarding failed at step dataset', { expose: true, extra: { step: 'dataset', code: 'OTHER', request_id: 'forged' } }));
    expect(res.body).to.deep.equal({ step: 'dataset', detail: 'Onboarding failed at step dataset', code: 'ONBOARDING_FAILED', request_id: 'req-1' });
  });
});
