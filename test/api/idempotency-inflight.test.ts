import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * SPEC §7: "`Idempotency-Key` header makes any trigger replay-safe for 24 h". A request that carries a key and is
 * answered with the identical run already in flight (200, that run) must answer the same run when the client
 * replays it with the same key — not start a second run because the first one has ended meanwhile.
 */
describe('an Idempotency-Key answered by the in-flight de-duplication', () => {
  let t: TestSystem;
  let key: string;
  before(async () => {
    t = await startTestSystem({ role: 'api' }); // no worker: runs stay PENDING until cancelled
    key = await onboard(t, 'idem_corp', 'SCALE');
  });
  after(async () => t.close());

  it('replays the same answer for the same key after the in-flight run ended', async () => {
    const run = (idem?: string) => {
      const req = t.request.post('/api/v1/pipelines/run/idem_corp/gcp/cost/billing_cost').set('X-API-Key', key);
      if (idem) req.set('Idempotency-Key', idem);
      return req.send({ date: '2025-11-14' });
    };
    const first = await run();
    expect(first.status).to.equal(202);
    const keyed = await run('client-req-42');
    expect([keyed.status, keyed.body.pipeline_logging_id]).to.deep.equal([200, first.body.pipeline_logging_id]);
    // The run the key was answered with ends (cancelled here; the same holds for COMPLETED).
    expect((await t.request.delete(`/api/v1/pipelines/runs/${first.body.pipeline_logging_id}`).set('X-API-Key', key)).body.status).to.equal('CANCELLED');
    // The client's HTTP library retries the keyed request (e.g. its first answer was lost on the way).
    const replay = await run('client-req-42');
    expect([replay.status, replay.body.pipeline_logging_id], 'a replay of client-req-42').to.deep.equal([200, first.body.pipeline_logging_id]);
  });
});
