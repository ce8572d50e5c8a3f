import { expect } from 'chai';
import type { TestSystem } from '../helpers/system';
import { eventually } from '../helpers/polling';

export type Body = Record<string, unknown>;

export const getBackfill = async (t: TestSystem, key: string, id: string): Promise<Body> => {
  const res = await t.request.get(`/api/v1/pipelines/backfills/${id}`).set('X-API-Key', key);
  expect(res.status, JSON.stringify(res.body)).to.equal(200);
  return res.body as Body;
};

export const countOf = (b: Body, status: string): number => ((b.counts as Record<string, number>)[status] ?? 0);

/** Polls the backfill until `done` holds for it. */
export const backfillWhen = (t: () => TestSystem, key: string, id: string, what: string, done: (b: Body) => boolean): Promise<Body> =>
  eventually(what, async () => {
    const b = await getBackfill(t(), key, id);
    return done(b) ? b : undefined;
  }, 20_000, 25);

/**
 * Samples how many runs of `tenantId` hold a concurrency slot (PENDING or RUNNING) until stopped; `max` is the
 * largest count seen. Runs in the background of a test, across restarts (it reads whichever system is current).
 */
export function inFlightSampler(current: () => TestSystem, tenantId: string): { stop(): Promise<{ max: number; samples: number }> } {
  let running = true;
  let max = 0;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const t = current();
      try {
        const n = await t.system.clients.redis.zcard(t.system.keys.running(tenantId));
        max = Math.max(max, n);
        samples += 1;
      } catch {
        // The system is being replaced (restart); the next sample reads the new one.
      }
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { max, samples };
    },
  };
}
