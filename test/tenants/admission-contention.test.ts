import path from 'node:path';
import readline from 'node:readline';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { expect } from 'chai';
import { createTestRedis } from '../helpers/redis';
import type { TestRedis } from '../helpers/redis';
import { forEachRedis, redisEnvOf } from '../helpers/redis-targets';
import { ManualClock, utcDay, utcMonth } from '../../src/shared/clock';
import { Admission } from '../../src/tenants/admission';
import { writeProfileCache } from '../../src/tenants/profile-cache';
import { STARTER_PROFILE as STARTER } from '../helpers/profiles';

interface AdmitBatch {
  admitted: string[];
  rejected: Record<string, number>;
}

/** One admission process driven line by line (see test/helpers/admission-child.ts). */
class AdmissionChild {
  private readonly pending: ((line: string) => void)[] = [];
  private constructor(private readonly proc: ChildProcessWithoutNullStreams) {
    readline.createInterface({ input: proc.stdout }).on('line', (line) => this.pending.shift()?.(line));
  }

  static async start(env: Record<string, string>): Promise<AdmissionChild> {
    const root = path.resolve(__dirname, '../..');
    const proc = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/admission-child.ts'], {
      cwd: root,
      env: { ...process.env, ...env },
    });
    const child = new AdmissionChild(proc);
    await child.next();
    return child;
  }

  private next(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.pending.push(resolve);
      this.proc.once('exit', (code) => reject(new Error(`admission child exited with ${code}`)));
    });
  }

  async admit(count: number): Promise<AdmitBatch> {
    const reply = this.next();
    this.proc.stdin.write(`${JSON.stringify({ cmd: 'admit', count })}\n`);
    return JSON.parse(await reply) as AdmitBatch;
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.stdin.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
    await exited;
  }
}

forEachRedis('admission under contention from two processes', function (redisUnderTest) {
  this.timeout(60_000);
  const tenantId = 'acme_corp';
  const now = new Date('2025-03-10T12:00:00.000Z');
  let t: TestRedis;
  let admission: Admission;
  let children: AdmissionChild[];

  before(async () => {
    t = await createTestRedis(await redisUnderTest.target());
    admission = new Admission({ redis: t.redis, keys: t.keys, clock: new ManualClock(now) });
    await writeProfileCache(t.redis, t.keys, tenantId, STARTER);
    const env = { ...redisEnvOf(t.target), KEY_PREFIX: t.prefix, TENANT_ID: tenantId, NOW_MS: String(now.getTime()) };
    children = await Promise.all([AdmissionChild.start(env), AdmissionChild.start(env)]);
  });

  after(async () => {
    await Promise.all((children ?? []).map((c) => c.stop()));
    await t.cleanup();
  });

  /** Samples the counters continuously while `work` runs; returns the extremes seen. */
  async function sampled<T>(work: Promise<T>): Promise<{ result: T; min: number; maxDay: number; maxRunning: number }> {
    let done = false;
    const stats = { min: 0, maxDay: 0, maxRunning: 0 };
    const sampler = (async () => {
      while (!done) {
        const [day, month, running] = await Promise.all([
          t.redis.hget(t.keys.dailyUsage(tenantId, utcDay(now)), 'run'),
          t.redis.get(t.keys.monthlyUsage(tenantId, utcMonth(now))),
          t.redis.zcard(t.keys.running(tenantId)),
        ]);
        const values = [Number(day ?? 0), Number(month ?? 0), running];
        stats.min = Math.min(stats.min, ...values);
        stats.maxDay = Math.max(stats.maxDay, values[0] ?? 0);
        stats.maxRunning = Math.max(stats.maxRunning, running);
      }
    })();
    try {
      const result = await work;
      return { result, ...stats };
    } finally {
      done = true;
      await sampler;
    }
  }

  async function admitFromBoth(): Promise<{ admitted: string[]; rejected: Record<string, number>; min: number; maxDay: number; maxRunning: number }> {
    const { result, ...stats } = await sampled(Promise.all(children.map((c) => c.admit(100))));
    const rejected: Record<string, number> = {};
    for (const batch of result) for (const [code, n] of Object.entries(batch.rejected)) rejected[code] = (rejected[code] ?? 0) + n;
    return { admitted: result.flatMap((b) => b.admitted), rejected, ...stats };
  }

  async function releaseAll(runIds: string[]): Promise<void> {
    const first = await Promise.all(runIds.map((id) => admission.release(tenantId, id, 'COMPLETED')));
    expect(first).to.deep.equal(runIds.map(() => true));
    const second = await Promise.all(runIds.map((id) => admission.release(tenantId, id, 'COMPLETED')));
    expect(second, 'a second release is a no-op').to.deep.equal(runIds.map(() => false));
  }

  it('admits exactly the concurrent limit, then exactly the daily quota, and never goes negative', async () => {
    const round1 = await admitFromBoth();
    expect(round1.admitted).to.have.length(3);
    expect(round1.rejected).to.deep.equal({ CONCURRENT_LIMIT_REACHED: 197 });
    expect(round1.maxRunning).to.be.at.most(3);
    await releaseAll(round1.admitted);

    // Day count 6 is reached at the same moment as 3 running: the daily check comes first.
    const round2 = await admitFromBoth();
    expect(round2.admitted).to.have.length(3);
    expect(round2.rejected).to.deep.equal({ DAILY_QUOTA_EXCEEDED: 197 });
    await releaseAll(round2.admitted);

    const round3 = await admitFromBoth();
    expect(round3.admitted).to.have.length(0);
    expect(round3.rejected).to.deep.equal({ DAILY_QUOTA_EXCEEDED: 200 });

    for (const round of [round1, round2, round3]) {
      expect(round.min, 'no counter ever negative').to.be.at.least(0);
      expect(round.maxDay).to.be.at.most(6);
      expect(round.maxRunning).to.be.at.most(3);
    }
    expect(await t.redis.hgetall(t.keys.dailyUsage(tenantId, utcDay(now)))).to.deep.equal({ run: '6', succeeded: '6' });
    expect(await t.redis.get(t.keys.monthlyUsage(tenantId, utcMonth(now)))).to.equal('6');
    expect(await t.redis.zcard(t.keys.running(tenantId))).to.equal(0);
  });
});
