import { expect } from 'chai';
import { tryLock } from '../../src/redis/lock';
import { createRedis } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';

describe('tryLock (src/redis/lock.ts)', () => {
  let redis: RedisClient;
  const key = `lock-test:${process.pid}:${Date.now()}`;
  before(() => {
    redis = createRedis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  });
  afterEach(async () => redis.del(key));
  after(async () => redis.quit());

  it('gives the lock to one caller at a time, and again once released', async () => {
    const [a, b] = await Promise.all([tryLock(redis, key, 10_000), tryLock(redis, key, 10_000)]);
    expect([a, b].filter((l) => l !== null)).to.have.length(1);
    await (a ?? b)?.release();
    expect(await tryLock(redis, key, 10_000)).to.not.equal(null);
  });

  it('neither renews nor frees a lock that lapsed and was taken by another caller', async () => {
    const first = await tryLock(redis, key, 50);
    expect(first).to.not.equal(null);
    await redis.del(key); // as if its TTL ran out
    const second = await tryLock(redis, key, 10_000);
    expect(second).to.not.equal(null);
    await first?.renew();
    await first?.release();
    expect(await redis.pttl(key)).to.be.greaterThan(50);
    expect(await tryLock(redis, key, 10_000)).to.equal(null);
    await second?.release();
    expect(await redis.exists(key)).to.equal(0);
  });
});
