import { expect } from 'chai';
import { dispatchBackfill, recordedRunStatus } from '../../src/batches/backfill-dispatch';
import type { BackfillDispatchDeps } from '../../src/batches/backfill-dispatch';
import { BackfillStore } from '../../src/batches/backfill-store';
import type { Backfill } from '../../src/batches/backfill-store';
import type { TriggerRequest } from '../../src/queues/pipeline-runs';
import { ManualClock } from '../../src/shared/clock';
import { AppError } from '../../src/shared/errors';
import { silentLogger } from '../../src/shared/logger';
import { WarehouseError } from '../../src/warehouse/types';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/** The dispatch pass against the real Redis, with admission's answers scripted: what each refusal does to the backfill. */
describe('a backfill dispatch pass', () => {
  let r: TestRedis;
  let store: BackfillStore;
  let clock: ManualClock;
  let asked: string[];
  let answer: (date: string) => AppError | null;
  const TENANT = 'pass_corp';

  const deps = (): BackfillDispatchDeps => ({
    store, clock, logger: silentLogger(), recheckMs: 30_000,
    trigger: async (req: TriggerRequest) => {
      const date = String(req.parameters.date);
      asked.push(date);
      const refusal = answer(date);
      if (refusal) throw refusal;
      return { kind: 'created', pipelineLoggingId: req.runId ?? '', pipelineId: 'p', tenantId: TENANT, status: 'PENDING' };
    },
    runStatus: async () => 'COMPLETED',
    writeSnapshot: async () => undefined,
  });
  const create = async (days: string[], maxParallel = 3): Promise<void> => {
    const b: Backfill = {
      backfillId: 'b1', tenantId: TENANT, provider: 'gcp', domain: 'chaos', templateName: 'read_day', parameters: {},
      startDate: days[0] ?? '', endDate: days[days.length - 1] ?? '', maxParallel, skipCompleted: false, status: 'ACTIVE', userId: null, requestHash: 'h',
      createdAt: clock.now().toISOString(), updatedAt: clock.now().toISOString(), waitUntilMs: 0, lastRefusal: null, finishedAt: null,
      dates: days.map((date) => ({ date, state: 'WAITING', ref: null })),
    };
    await store.create(b, clock.now().getTime(), 3);
  };
  const pass = (): Promise<void> => dispatchBackfill(deps(), TENANT, 'b1');
  const load = async (): Promise<Backfill> => (await store.get(TENANT, 'b1')) as Backfill;

  beforeEach(async () => {
    r = await createTestRedis();
    store = new BackfillStore(r.redis, r.keys);
    clock = new ManualClock('2026-12-04T10:00:00Z');
    asked = [];
    answer = () => null;
  });
  afterEach(async () => r.cleanup());

  it('marks a date admission refuses for itself (422) REFUSED with the code and goes on to the next', async () => {
    await create(['2026-10-01', '2026-10-02', '2026-10-03']);
    answer = (date) => (date === '2026-10-02' ? new AppError(422, 'VALIDATION_ERROR', 'bad') : null);
    await pass();
    expect((await load()).dates.map((d) => [d.state, d.state === 'REFUSED' ? d.ref : null])).to.deep.equal([['ADMITTED', null], ['REFUSED', 'VALIDATION_ERROR'], ['ADMITTED', null]]);
    await pass();
    const done = await load();
    expect(done.status).to.equal('COMPLETED');
    expect(done.dates.map((d) => d.state)).to.deep.equal(['COMPLETED', 'REFUSED', 'COMPLETED']);
  });

  it('stops at a 403 and asks again only at its next look, not in a loop', async () => {
    await create(['2026-10-01', '2026-10-02']);
    answer = () => new AppError(403, 'PROVIDER_LIMIT_REACHED', 'no');
    await pass();
    expect(asked).to.deep.equal(['2026-10-01']);
    const b = await load();
    expect([b.status, b.lastRefusal, b.waitUntilMs]).to.deep.equal(['ACTIVE', 'PROVIDER_LIMIT_REACHED', 0]);
    expect(await store.due(clock.now().getTime())).to.deep.equal([]);
    expect(await store.due(clock.now().getTime() + 30_000)).to.have.length(1);
  });

  it('after MONTHLY_QUOTA_EXCEEDED asks nothing until the first day of the next month', async () => {
    await create(['2026-10-01', '2026-10-02']);
    answer = () => new AppError(429, 'MONTHLY_QUOTA_EXCEEDED', 'no');
    await pass();
    expect((await load()).waitUntilMs).to.equal(Date.parse('2027-01-01T00:00:00Z'));
    clock.set('2026-12-31T23:59:00Z');
    await pass();
    expect(asked).to.have.length(1);
    clock.set('2027-01-01T00:00:01Z');
    answer = () => null;
    await pass();
    expect(asked).to.deep.equal(['2026-10-01', '2026-10-01', '2026-10-02']);
  });

  it('after CONCURRENT_LIMIT_REACHED keeps the date WAITING for the next pass', async () => {
    await create(['2026-10-01']);
    answer = () => new AppError(429, 'CONCURRENT_LIMIT_REACHED', 'no');
    await pass();
    const b = await load();
    expect([b.dates[0]?.state, b.lastRefusal, b.waitUntilMs]).to.deep.equal(['WAITING', 'CONCURRENT_LIMIT_REACHED', 0]);
  });

  describe("when an admitted date's run left Redis and the warehouse cannot say how it ended (down, or past its deadline)", () => {
    it('fails the pass and keeps the date ADMITTED, then settles it once the warehouse answers (never FAILED by a read that failed)', async () => {
      await create(['2026-10-01'], 1);
      await pass();
      let stored: () => Promise<{ status: 'COMPLETED' }> = () => Promise.reject(new WarehouseError('The warehouse did not answer within 120000 ms (PLATFORM_WAREHOUSE_TIMEOUT_MS)', 'unavailable'));
      const withStatus = (): BackfillDispatchDeps => ({ ...deps(), runStatus: (_tenantId, _runId) => recordedRunStatus(async () => null, () => stored()) });
      const failed = await dispatchBackfill(withStatus(), TENANT, 'b1').then(() => 'passed', (err: Error) => err.message);
      expect(failed).to.contain('PLATFORM_WAREHOUSE_TIMEOUT_MS');
      expect((await load()).dates.map((d) => d.state)).to.deep.equal(['ADMITTED']);

      stored = async () => ({ status: 'COMPLETED' });
      await dispatchBackfill(withStatus(), TENANT, 'b1');
      expect((await load()).dates.map((d) => d.state)).to.deep.equal(['COMPLETED']);
    });

    it('reads a run with no record anywhere (RUN_NOT_FOUND, or its table gone) as gone', async () => {
      expect(await recordedRunStatus(async () => null, () => Promise.reject(new AppError(404, 'RUN_NOT_FOUND', 'Pipeline run not found')))).to.equal(null);
      expect(await recordedRunStatus(async () => null, () => Promise.reject(new WarehouseError('Not found: Table', 'not_found')))).to.equal(null);
      expect(await recordedRunStatus(async () => 'RUNNING', () => Promise.reject(new Error('not asked')))).to.equal('RUNNING');
    });
  });
});
