import { expect } from 'chai';
import Redis from 'ioredis';
import { closeRedis, createRedis, waitForReady } from '../../src/redis/connection';
import { sendTogether } from '../../src/redis/send-together';
import { deletePrefix } from '../helpers/redis';
import { TEST_REDIS_URL } from '../helpers/redis-targets';

/** Counts the socket's writes: one `_write` per lone chunk, one `_writev` per batch of corked chunks. */
function countWrites(redis: Redis): { writes: number; chunks: number } {
  const stream = redis.stream as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const counts = { writes: 0, chunks: 0 };
  const write = stream._write.bind(stream);
  const writev = stream._writev.bind(stream);
  stream._write = (...a: unknown[]) => {
    counts.writes += 1;
    counts.chunks += 1;
    write(...a);
  };
  stream._writev = (chunks: unknown[], cb: unknown) => {
    counts.writes += 1;
    counts.chunks += chunks.length;
    writev(chunks, cb);
  };
  return counts;
}

describe('sendTogether (several commands in one socket write)', () => {
  // A plain server connection: the Cluster fallback is the untouched call.
  const prefix = `t${Math.random().toString(16).slice(2, 10)}`;
  let redis: Redis;
  before(async () => {
    redis = createRedis(TEST_REDIS_URL) as Redis;
    await waitForReady(redis);
  });
  after(async () => {
    await deletePrefix(redis, prefix);
    await closeRedis(redis);
  });

  it('sends the commands issued inside in one write, and every reply reaches its command', async () => {
    const counts = countWrites(redis);
    const replies = sendTogether(redis, () => [redis.incr(`${prefix}:a`), redis.incrby(`${prefix}:b`, 5), redis.incrby(`${prefix}:a`, 2)]);
    expect(await Promise.all(replies)).to.deep.equal([1, 5, 3]);
    expect(counts).to.deep.equal({ writes: 1, chunks: 3 });
  });

  it('leaves the socket uncorked, also when the callback throws', async () => {
    expect(() => sendTogether(redis, () => {
      void redis.incr(`${prefix}:c`);
      throw new Error('boom');
    })).to.throw('boom');
    expect(redis.stream.writableCorked).to.equal(0);
    const counts = countWrites(redis);
    expect(await redis.incr(`${prefix}:c`)).to.equal(2);
    expect(counts.writes).to.equal(1);
  });

  it('just runs the callback when the connection is not ready', async () => {
    const idle = new Redis(TEST_REDIS_URL, { lazyConnect: true });
    try {
      expect(sendTogether(idle, () => 'ran')).to.equal('ran');
    } finally {
      idle.disconnect();
    }
  });
});
