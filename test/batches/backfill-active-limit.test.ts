import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ManualClock } from '../../src/shared/clock';
import { configsWith } from '../helpers/processes';
import { eventually } from '../helpers/polling';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';
import { readDayTemplate } from '../helpers/templates';

/**
 * Each ACTIVE backfill lives in Redis until its last date ran (at 6 runs a day, for weeks) and every run end of its
 * tenant wakes the tenant's backfills, on the queue every tenant's backfills and fan-outs share. So the plan bounds
 * how many a tenant may hold (backfill_max_active), and a run end costs one job for the tenant, not one per backfill.
 */
describe('many backfills of one tenant', function () {
  this.timeout(60_000);
  let configs: { dir: string; cleanup(): void };
  let t: TestSystem;
  const K = 40;
  const dayOf = (i: number): string => `2026-0${1 + Math.floor(i / 28)}-${String(1 + (i % 28)).padStart(2, '0')}`;

  before(async () => {
    // WIDE: STARTER's quotas with room for K active backfills, to see what K of them cost at each run end.
    const plans = fs.readFileSync(path.join(__dirname, '../../configs/plans.yml'), 'utf8');
    const wide = '  WIDE:\n    daily_limit: 6\n    concurrent_limit: 3\n    team_limit: 2\n    provider_limit: 3\n    backfill_max_active: 40\n';
    configs = configsWith({ 'gcp/chaos/read_day.yml': readDayTemplate('backfill limits'), 'plans.yml': `${plans.trimEnd()}\n${wide}` });
    t = await startTestSystem({ clock: new ManualClock('2026-12-04T10:00:00Z'), env: { CONFIGS_DIR: configs.dir } });
  });
  after(async () => {
    await t.close();
    configs.cleanup();
  });

  const post = (tenantId: string, key: string, day: string) =>
    t.request.post(`/api/v1/pipelines/backfill/${tenantId}/gcp/chaos/read_day`).set('X-API-Key', key).send({ start_date: day, end_date: day });

  describe('when a STARTER tenant holds its plan’s 3 ACTIVE backfills', () => {
    it('answers 429 BACKFILL_LIMIT_REACHED for another one, and still 200 with the existing backfill for the same request', async () => {
      const key = await onboard(t, 'bf_capped', 'STARTER');
      await t.system.runs.queue.pause();
      try {
        const answers = [];
        for (let i = 0; i < 5; i += 1) answers.push(await post('bf_capped', key, dayOf(i)));
        expect(answers.map((a) => a.status)).to.deep.equal([202, 202, 202, 429, 429]);
        expect(answers[3]?.body).to.include({ code: 'BACKFILL_LIMIT_REACHED' });
        const again = await post('bf_capped', key, dayOf(1));
        expect(again.status).to.equal(200);
        expect(again.body.backfill_id).to.equal(answers[1]?.body.backfill_id);
        expect(await t.system.clients.redis.scard(t.system.keys.tenantBackfills('bf_capped'))).to.equal(3);
        // Cancelling one makes room.
        const cancelled = await t.request.delete(`/api/v1/pipelines/backfills/${answers[0]?.body.backfill_id as string}`).set('X-API-Key', key);
        expect(cancelled.status).to.equal(200);
        expect((await post('bf_capped', key, dayOf(3))).status).to.equal(202);
      } finally {
        await t.system.runs.queue.resume();
      }
    });
  });

  describe('when a tenant’s plan lets it hold 40 ACTIVE backfills', () => {
    it('enqueues one dispatch job per run end for all of them, not one per backfill', async () => {
      const key = await onboard(t, 'bf_hog', 'WIDE');
      const adds: Record<string, number> = {};
      const queue = t.system.batches.queue;
      const add = queue.add.bind(queue);
      (queue as unknown as { add: typeof add }).add = ((name, data, opts) => {
        adds[name] = (adds[name] ?? 0) + 1;
        return add(name, data, opts);
      }) as typeof add;

      // Backfills created while the runs wait in the queue (a busy worker): all of them are ACTIVE when the runs end.
      await t.system.runs.queue.pause();
      for (let i = 0; i < K; i += 1) {
        const res = await post('bf_hog', key, dayOf(i));
        expect(res.status, JSON.stringify(res.body)).to.equal(202);
      }
      await t.system.runs.queue.resume();
      // The day's 6 runs end; the other backfills wait for tomorrow's quota.
      await eventually('the daily quota used and every run ended', async () => {
        const q = await t.request.get('/api/v1/tenants/bf_hog/quota').set('X-API-Key', key);
        const running = await t.system.clients.redis.zcard(t.system.keys.running('bf_hog'));
        return q.body.pipelines_run_today === 6 && running === 0 ? true : undefined;
      }, 30_000);
      await eventually('the dispatch jobs done', async () => {
        const open = (await queue.getJobs(['waiting', 'active', 'delayed'])).filter((j) => j.name.startsWith('dispatch-'));
        return open.length === 0 ? true : undefined;
      }, 30_000);

      expect(adds['dispatch-backfill'], 'one per create').to.equal(K);
      expect(adds['dispatch-tenant-backfills'] ?? 0, 'at most one per run end').to.be.at.most(6);
      const tenantJobs = (await queue.getJobs(['completed', 'failed'])).filter((j) => j.name === 'dispatch-tenant-backfills' && j.data.kind === 'dispatch-tenant-backfills' && j.data.tenantId === 'bf_hog');
      expect(tenantJobs.length, `${tenantJobs.length} tenant dispatch jobs for 6 run ends`).to.be.within(1, 6);
    });
  });
});
