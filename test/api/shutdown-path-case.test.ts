import { expect } from 'chai';
import supertest from 'supertest';
import { createApp } from '../../src/api/app';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * While the process is stopping, API calls are refused with 503 SHUTTING_DOWN (app.ts). @koa/router matches routes
 * case-insensitively, so `/API/v1/...` (or `/Api/...`) reaches the same routes: the guard must refuse it too.
 */
describe('the shutdown guard and path case', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ role: 'api' });
    key = await onboard(t, 'drain_corp');
  });
  after(async () => t.close());

  it('refuses every spelling of an API path with 503 SHUTTING_DOWN while stopping', async () => {
    // The same app the process serves, as it answers once its stop has begun.
    const draining = supertest(createApp({ ...t.system.apiDeps(), isShuttingDown: () => true }).callback());
    const lower = await draining.post('/api/v1/pipelines/run/drain_corp/gcp/cost/dryrun').set('X-API-Key', key);
    expect([lower.status, lower.body.code]).to.deep.equal([503, 'SHUTTING_DOWN']);
    const upper = await draining.post('/API/v1/pipelines/run/drain_corp/gcp/cost/dryrun').set('X-API-Key', key);
    expect([upper.status, upper.body.code], JSON.stringify(upper.body)).to.deep.equal([503, 'SHUTTING_DOWN']);
  });

  it('says so in the detail (a planned 503, not "Internal server error"), with Retry-After', async () => {
    const draining = supertest(createApp({ ...t.system.apiDeps(), isShuttingDown: () => true }).callback());
    const res = await draining.get('/api/v1/pipelines/templates').set('X-API-Key', key);
    expect([res.status, res.body.code, res.body.detail]).to.deep.equal([503, 'SHUTTING_DOWN', 'Server is shutting down']);
    expect(res.headers['retry-after']).to.equal('5');
  });
});
