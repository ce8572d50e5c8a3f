import { expect } from 'chai';
import { Worker } from 'bullmq';
import { closeRedis, createRedis } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { closeWorker } from '../../src/workers/close-worker';
import { eventually } from '../helpers/polling';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';

/** What BullMQ keeps private and this test must reach: the stalled-jobs check, held mid-query. */
interface StalledCheck {
  stalledCheckerRunning: boolean;
  stalledCheckStopper?: () => void;
  moveStalledJobsToWait(): Promise<unknown>;
  startStalledCheckTimer(): Promise<void>;
}

/**
 * A worker closed while its stalled-jobs check is querying Redis: BullMQ's close() resolves, then the check arms
 * its next wait (stalledInterval, a ref'd timer) and the closed process stays alive for it. closeWorker stops it.
 */
describe('closing a BullMQ worker during its stalled-jobs check', () => {
  let t: TestRedis;
  let connection: RedisClient;
  before(async () => {
    t = await createTestRedis();
  });
  beforeEach(() => {
    connection = createRedis(t.target, { forBullMQ: true });
  });
  afterEach(() => closeRedis(connection));
  after(() => t.cleanup());

  /** A worker whose stalled-jobs check is running and held inside its Redis query until the worker emits 'closed'. */
  async function workerClosedMidCheck(): Promise<{ worker: Worker; check: StalledCheck }> {
    const worker = new Worker('close-test', async () => null, { connection, prefix: t.keys.bullPrefix, autorun: false, stalledInterval: 60_000 });
    const check = worker as unknown as StalledCheck;
    const query = check.moveStalledJobsToWait.bind(worker);
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => (release = r));
    check.moveStalledJobsToWait = async () => {
      await held;
      return query().catch(() => undefined);
    };
    worker.once('closed', () => release());
    await check.startStalledCheckTimer();
    await eventually('the stalled-jobs check to run', async () => (check.stalledCheckerRunning ? true : undefined));
    return { worker, check };
  }

  it('BullMQ alone leaves the check waiting after close() resolved (what closeWorker is for)', async () => {
    const { worker, check } = await workerClosedMidCheck();
    expect(check.stalledCheckStopper, 'no wait armed yet').to.equal(undefined);
    await worker.close();
    await eventually('the check to arm its next wait after close()', async () => (check.stalledCheckStopper ? true : undefined));
    expect(check.stalledCheckerRunning, 'the check still waits on its stalledInterval timer').to.equal(true);
    check.stalledCheckStopper?.();
    await eventually('the check to end once stopped', async () => (check.stalledCheckerRunning ? undefined : true));
  });

  it('closeWorker resolves only once the check has ended, with no wait left armed', async () => {
    const { worker, check } = await workerClosedMidCheck();
    await closeWorker(worker);
    expect(check.stalledCheckerRunning).to.equal(false);
  });
});
