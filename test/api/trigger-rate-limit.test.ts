import { expect } from 'chai';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * The trigger route's rate limits on the real API: whatever the request turns out to be, it is counted exactly
 * once, and over a limit it is refused with 429 RATE_LIMITED before anything else: no seat, no quota, no run,
 * and not its own error (a 404 or 422).
 */
const TENANT = 'fused_rl_corp';
const RUN_LIMIT = 4;
const RUN_PATH = `/api/v1/pipelines/run/${TENANT}/gcp/cost/billing_cost`;
/** A distinct valid body per n: billing_cost takes a `date`. */
const day = (n: number): { date: string } => ({ date: `2025-01-${String(n + 1).padStart(2, '0')}` });

describe('the run rate limit on the trigger route', () => {
  let t: TestSystem;
  let key: string;
  const trigger = (body: unknown, path = RUN_PATH, userId?: string) => {
    const req = t.request.post(path).set('X-API-Key', key);
    if (userId) req.set('X-User-ID', userId);
    return req.send(body as object);
  };
  const remaining = (res: { headers: Record<string, string> }): number => Number(res.headers['x-ratelimit-remaining']);
  const quota = async () => (await t.request.get(`/api/v1/tenants/${TENANT}/quota`).set('X-API-Key', key)).body as Record<string, unknown>;

  beforeEach(async () => {
    t = await startTestSystem({ role: 'api', env: { RATE_LIMIT_RUN_PER_MINUTE: String(RUN_LIMIT) } });
    key = await onboard(t, TENANT, 'SCALE');
  });
  afterEach(async () => t.close());

  it('counts admitted, replayed, refused-by-validation and unknown-template requests once each, with headers on every answer', async () => {
    const answers = [
      await trigger(day(1)), // admitted
      await trigger(day(1)), // the same run in flight: 200
      await trigger({ no_such_parameter: true }), // 422 before admission
      await trigger({}, `/api/v1/pipelines/run/${TENANT}/gcp/cost/no_such_template`), // 404 before admission
    ];
    expect(answers.map((r) => r.status)).to.deep.equal([202, 200, 422, 404]);
    expect(answers.map(remaining)).to.deep.equal([3, 2, 1, 0]);
    for (const res of answers) expect(res.headers['x-ratelimit-limit']).to.equal(String(RUN_LIMIT));
  });

  it('refuses the request over the limit with 429 RATE_LIMITED before seats, quotas and the run record', async () => {
    for (let n = 0; n < RUN_LIMIT; n += 1) expect((await trigger(day(n), RUN_PATH, 'alice')).status).to.equal(202);
    const before = await quota();
    const refused = await trigger(day(20), RUN_PATH, 'bob');
    expect([refused.status, refused.body.code]).to.deep.equal([429, 'RATE_LIMITED']);
    expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    expect(remaining(refused)).to.equal(0);
    const after = await quota();
    // No run counted, no slot taken, and bob (a new user) took no team seat.
    expect({ today: after['pipelines_run_today'], running: after['concurrent_pipelines_running'], team: after['team_members'] }).to.deep.equal({
      today: before['pipelines_run_today'],
      running: before['concurrent_pipelines_running'],
      team: 1,
    });
    const runs = await t.request.get('/api/v1/pipelines/runs').set('X-API-Key', key);
    expect(runs.body.runs).to.have.length(RUN_LIMIT);
  });

  it('answers 429, not its own error, to an invalid or unknown-template request over the limit', async () => {
    for (let n = 0; n < RUN_LIMIT; n += 1) await trigger(day(n));
    const invalid = await trigger({ no_such_parameter: true });
    const unknown = await trigger({}, `/api/v1/pipelines/run/${TENANT}/gcp/cost/no_such_template`);
    expect([invalid, unknown].map((r) => `${r.status} ${String(r.body.code)}`)).to.deep.equal(['429 RATE_LIMITED', '429 RATE_LIMITED']);
  });

  it('keeps counting the validate route on its own (it shares the run limit)', async () => {
    const validated = await t.request.post(`/api/v1/pipelines/validate/${TENANT}/gcp/cost/dryrun`).set('X-API-Key', key).send({});
    expect([validated.status, remaining(validated)]).to.deep.equal([200, RUN_LIMIT - 1]);
    expect(remaining(await trigger(day(1)))).to.equal(RUN_LIMIT - 2);
  });
});
