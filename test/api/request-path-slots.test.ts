import { expect } from 'chai';
import { Cluster } from 'ioredis';
import { hashApiKey } from '../../src/security/api-keys';
import { slotOf } from '../../src/redis/slots';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { forEachRedis } from '../helpers/redis-targets';

/**
 * Issue 10.3: one trigger request reads and writes keys in several cluster slots — the API-key cache,
 * the rate-limit counters, the tenant's admission keys and run record, the usage-dirty set, BullMQ's
 * queue — and the API client auto-pipelines the commands of concurrent requests. On a cluster each
 * auto-pipeline must go to the node owning its slots; these requests prove every answer stays right.
 */
const RUN_LIMIT = 40;

forEachRedis('the trigger path, whose commands hit many slots', function (redisUnderTest) {
  this.timeout(30_000);
  let t: TestSystem;
  let key: string;
  let tenantId: string;
  /** The node serving a slot (host:port); one name for all slots on a single server. */
  let owner: (slot: number) => string = () => 'the server';

  before(async () => {
    t = await startTestSystem({ role: 'api', redis: await redisUnderTest.target(), env: { RATE_LIMIT_RUN_PER_MINUTE: String(RUN_LIMIT) } });
    const redis = t.system.clients.redis;
    if (redis instanceof Cluster) {
      const ranges = await redis.cluster('SLOTS');
      owner = (slot) => {
        const master = ranges.find(([from, to]) => slot >= from && slot <= to)?.[2];
        return master ? `${master[0]}:${master[1]}` : 'none';
      };
    }
    // Key prefixes are random per test: pick the tenant whose slot is served by another node than the
    // usage-dirty set, so a trigger's commands always span nodes on the cluster.
    const dirtyNode = owner(slotOf(t.system.keys.usageDirty()));
    const candidates = Array.from({ length: 50 }, (_, i) => `slots_corp_${i}`);
    tenantId = candidates.find((id) => !(redis instanceof Cluster) || owner(slotOf(t.system.keys.running(id))) !== dirtyNode) ?? 'slots_corp_0';
    key = await onboard(t, tenantId, 'SCALE');
  });
  after(async () => t.close());

  const trigger = (date: string) =>
    t.request.post(`/api/v1/pipelines/run/${tenantId}/gcp/cost/billing_cost`).set('X-API-Key', key).set('X-User-ID', 'alice').send({ date });

  it('touches keys in several slots within one request (on more than one node of the cluster)', () => {
    const k = t.system.keys;
    const touched = [k.apiKey(hashApiKey(key)), k.rateLimitTenant(tenantId, 'run'), k.rateLimitTenant(tenantId, 'tenant'), k.running(tenantId), k.usageDirty(), `${k.bullPrefix}:pipeline-runs:wait`];
    const slots = new Set(touched.map(slotOf));
    expect(slots.size).to.be.at.least(4);
    const nodes = new Set([...slots].map(owner));
    expect(nodes.size).to.be.at.least(redisUnderTest.kind === 'cluster' ? 2 : 1);
  });

  describe('when 12 different runs are triggered at once (SCALE: 10 may run)', () => {
    let answers: Awaited<ReturnType<typeof trigger>>[];
    before(async () => {
      answers = await Promise.all(Array.from({ length: 12 }, (_, i) => trigger(`2025-04-${String(i + 1).padStart(2, '0')}`)));
    });
    const admittedIds = (): string[] => answers.filter((r) => r.status === 202).map((r) => r.body.pipeline_logging_id as string);

    it('admits exactly 10 and refuses 2 with 429 CONCURRENT_LIMIT_REACHED', () => {
      expect(answers.map((r) => r.status).sort()).to.deep.equal([...Array(10).fill(202), 429, 429]);
      expect(answers.filter((r) => r.status === 429).map((r) => r.body.code)).to.deep.equal(['CONCURRENT_LIMIT_REACHED', 'CONCURRENT_LIMIT_REACHED']);
    });

    it('counts each request once in the run rate limit', () => {
      const remaining = answers.map((r) => Number(r.headers['x-ratelimit-remaining'])).sort((a, b) => a - b);
      expect(remaining).to.deep.equal(Array.from({ length: 12 }, (_, i) => RUN_LIMIT - 12 + i));
    });

    it('keeps a PENDING run record for each admitted run and enqueues each under its run id', async () => {
      for (const id of admittedIds()) {
        const run = await t.request.get(`/api/v1/pipelines/runs/${id}`).set('X-API-Key', key);
        expect(run.body).to.include({ status: 'PENDING', tenant_id: tenantId, user_id: 'alice' });
      }
      // Fair dispatch: the tenant's first queued run waits on the plain list, its 2nd…10th as prioritized jobs.
      const waiting = await t.system.runs.queue.getJobs(['waiting', 'prioritized']);
      expect(waiting.map((j) => j.id).sort()).to.deep.equal([...admittedIds()].sort());
    });

    it('shows the same counts in the quota view and Bull Board', async () => {
      const quota = await t.request.get(`/api/v1/tenants/${tenantId}/quota`).set('X-API-Key', key);
      expect(quota.body).to.include({ pipelines_run_today: 10, concurrent_pipelines_running: 10, team_members: 1, providers_used: 1 });
      const board = await t.request.get('/admin/queues/api/queues').auth('admin', t.adminKey);
      expect(board.status).to.equal(200);
      const runs = (board.body.queues as { name: string; counts: Record<string, number> }[]).find((q) => q.name === 'pipeline-runs');
      expect([runs?.counts.waiting, runs?.counts.prioritized]).to.deep.equal([1, 9]);
    });

    it('hides the runs from another tenant’s key (404)', async () => {
      const other = await onboard(t, 'nosy_slots_corp');
      const res = await t.request.get(`/api/v1/pipelines/runs/${admittedIds()[0] ?? ''}`).set('X-API-Key', other);
      expect([res.status, res.body.code]).to.deep.equal([404, 'RUN_NOT_FOUND']);
    });

    it('frees a slot when a waiting run is cancelled, so the next trigger is admitted', async () => {
      const cancel = await t.request.delete(`/api/v1/pipelines/runs/${admittedIds()[0] ?? ''}`).set('X-API-Key', key);
      expect(cancel.body.status).to.equal('CANCELLED');
      expect((await trigger('2025-05-01')).status).to.equal(202);
      const quota = await t.request.get(`/api/v1/tenants/${tenantId}/quota`).set('X-API-Key', key);
      expect(quota.body).to.include({ pipelines_run_today: 11, concurrent_pipelines_running: 10 });
    });
  });
});
