import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { forEachRedis } from '../helpers/redis-targets';
import { caught } from '../helpers/errors';
import { ManualClock, utcDay } from '../../src/shared/clock';
import { Admission } from '../../src/tenants/admission';
import type { AdmitRequest, AdmitResult } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { RunStore } from '../../src/queues/run-store';
import type { PipelineRunJob } from '../../src/queues/pipeline-runs';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';

/** admit.lua writes the run's PENDING record in the same call that admits it, and nothing when it refuses. */
forEachRedis('the admission script and the run record', function (redisUnderTest) {
  this.timeout(60_000);
  const tenantId = 'acme_corp';
  const now = new Date('2025-03-10T12:00:00.000Z');
  let t: TestRedis;
  let admission: Admission;
  let store: RunStore;

  const jobOf = (runId: string, overrides: Partial<PipelineRunJob> = {}): PipelineRunJob => ({
    pipelineLoggingId: runId,
    pipelineId: `${tenantId}-gcp-cost-billing`,
    tenantId,
    provider: 'gcp',
    domain: 'cost',
    templateName: 'billing',
    parameters: { date: '2025-03-09' },
    userId: 'alice',
    triggerType: 'api',
    admittedAt: now.toISOString(),
    ...overrides,
  });
  const requestOf = (runId: string, extra: Partial<AdmitRequest> = {}): AdmitRequest => ({
    tenantId,
    runId,
    leaseMs: 60_000,
    provider: 'gcp',
    record: store.pendingRecord(jobOf(runId), { fingerprint: `fp-${runId}` }),
    fingerprint: `fp-${runId}`,
    ...extra,
  });
  const runHashExists = async (runId: string): Promise<boolean> => (await t.redis.exists(t.keys.run(tenantId, runId))) === 1;
  const indexed = async (runId: string): Promise<boolean> => (await t.redis.zscore(t.keys.tenantRuns(tenantId), runId)) !== null;

  beforeEach(async () => {
    t = await createTestRedis(await redisUnderTest.target());
    admission = new Admission({ redis: t.redis, keys: t.keys, clock: new ManualClock(now) });
    store = new RunStore(t.redis, t.keys, { terminalTtlSeconds: 86_400, recentPerTenant: 1000 });
    await writeProfileCache(t.redis, t.keys, tenantId, STARTER);
  });

  afterEach(async () => {
    await t.cleanup();
  });

  it('an admitted run has its full PENDING record and index entry, readable and startable', async () => {
    const runId = randomUUID();
    const result = await admission.admit(requestOf(runId, { userId: 'alice', idempotencyKey: 'k-1' }));
    expect(result.outcome).to.equal('admitted');
    const hash = await t.redis.hgetall(t.keys.run(tenantId, runId));
    expect(hash).to.deep.equal(store.pendingRecord(jobOf(runId), { fingerprint: `fp-${runId}` }).fields);
    expect(await t.redis.zscore(t.keys.tenantRuns(tenantId), runId)).to.equal(String(now.getTime()));
    const live = await store.get(tenantId, runId);
    expect(live).to.include({ status: 'PENDING', fingerprint: `fp-${runId}`, userId: 'alice', provider: 'gcp' });
    expect(await store.getJob(tenantId, runId)).to.deep.equal(jobOf(runId));
    // run-start.lua takes the record as written.
    expect((await store.start(tenantId, runId, now, 'w1')).outcome).to.equal('started');
    // The seats went with it.
    expect(await t.redis.zscore(t.keys.teamMembers(tenantId), 'alice')).to.equal(String(now.getTime()));
    expect(await t.redis.sismember(t.keys.providers(tenantId), 'gcp')).to.equal(1);
  });

  it('a run refused for its quota writes no run hash and no index entry', async () => {
    await t.redis.hset(t.keys.dailyUsage(tenantId, utcDay(now)), 'run', String(STARTER.dailyLimit));
    const runId = randomUUID();
    expect(await caught(admission.admit(requestOf(runId)))).to.include({ status: 429, code: 'DAILY_QUOTA_EXCEEDED' });
    expect(await runHashExists(runId)).to.equal(false);
    expect(await indexed(runId)).to.equal(false);
    expect(await t.redis.zcard(t.keys.running(tenantId))).to.equal(0);
  });

  it('a new user beyond the team refuses with 403 before any quota and records nothing', async () => {
    await t.redis.zadd(t.keys.teamMembers(tenantId), now.getTime(), 'u1', now.getTime(), 'u2');
    await t.redis.hset(t.keys.dailyUsage(tenantId, utcDay(now)), 'run', String(STARTER.dailyLimit));
    const runId = randomUUID();
    expect(await caught(admission.admit(requestOf(runId, { userId: 'u3', provider: 'aws' })))).to.include({ status: 403, code: 'TEAM_LIMIT_REACHED' });
    expect(await runHashExists(runId)).to.equal(false);
    expect(await t.redis.zscore(t.keys.teamMembers(tenantId), 'u3')).to.equal(null);
    expect(await t.redis.sismember(t.keys.providers(tenantId), 'aws'), 'the provider is checked after the team').to.equal(0);
  });

  it('a new provider beyond the plan refuses with 403 and writes no run; a known member stays recorded', async () => {
    await t.redis.sadd(t.keys.providers(tenantId), 'gcp', 'aws', 'azure');
    const runId = randomUUID();
    expect(await caught(admission.admit(requestOf(runId, { userId: 'u1', provider: 'oci' })))).to.include({ status: 403, code: 'PROVIDER_LIMIT_REACHED' });
    expect(await runHashExists(runId)).to.equal(false);
    expect(await t.redis.scard(t.keys.providers(tenantId))).to.equal(3);
    expect(await t.redis.zscore(t.keys.teamMembers(tenantId), 'u1'), 'the team seat is taken before the provider check, as before').to.not.equal(null);
  });

  it('a replay (idempotency key, same fingerprint in flight, same run id) writes no record for the new id', async () => {
    const first = randomUUID();
    expect((await admission.admit(requestOf(first, { idempotencyKey: 'k-1' }))).outcome).to.equal('admitted');
    const replay = randomUUID();
    expect(await admission.admit(requestOf(replay, { idempotencyKey: 'k-1' }))).to.deep.equal({ outcome: 'existing', runId: first, reason: 'idempotency_key' });
    const inFlight = randomUUID();
    expect(await admission.admit(requestOf(inFlight, { fingerprint: `fp-${first}` }))).to.deep.equal({ outcome: 'existing', runId: first, reason: 'in_flight' });
    for (const id of [replay, inFlight]) expect(await runHashExists(id)).to.equal(false);
    await t.redis.hset(t.keys.run(tenantId, first), 'status', 'RUNNING');
    expect((await admission.admit(requestOf(first, { fingerprint: 'another' }))).outcome).to.equal('already_admitted');
    expect(await t.redis.hget(t.keys.run(tenantId, first), 'status'), 'a counted run id is not rewritten').to.equal('RUNNING');
  });

  it('a missing profile writes nothing and says so', async () => {
    await t.redis.del(t.keys.tenantProfile(tenantId));
    const runId = randomUUID();
    expect(await admission.admit(requestOf(runId, { userId: 'alice' }))).to.deep.equal({ outcome: 'profile_missing' });
    expect(await runHashExists(runId)).to.equal(false);
    expect(await t.redis.zcard(t.keys.teamMembers(tenantId))).to.equal(0);
  });

  it('under 60 concurrent admissions, exactly the admitted runs have records', async () => {
    const ids = Array.from({ length: 60 }, () => randomUUID());
    const results = await Promise.all(
      ids.map((id) => admission.admit(requestOf(id, { userId: 'alice' })).catch((err: unknown) => err)),
    );
    const admitted = ids.filter((_, i) => (results[i] as AdmitResult).outcome === 'admitted');
    expect(admitted).to.have.length(STARTER.concurrentLimit);
    const exists = await Promise.all(ids.map(runHashExists));
    expect(ids.filter((_, i) => exists[i])).to.have.members(admitted);
    expect(await t.redis.zcard(t.keys.tenantRuns(tenantId))).to.equal(STARTER.concurrentLimit);
    expect(await t.redis.zrange(t.keys.running(tenantId), 0, -1)).to.have.members(admitted);
  });
});
