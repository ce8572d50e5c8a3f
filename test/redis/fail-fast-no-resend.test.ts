import { expect } from 'chai';
import Redis from 'ioredis';
import { closeRedis, createRedis, waitForReady } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { eventually, startPrivateRedis } from '../helpers/processes';
import type { PrivateRedis } from '../helpers/processes';

/**
 * The API's fail-fast connection: a command whose caller already got an error (it timed out while Redis was
 * frozen) must not be carried out later. ioredis by default sends every command still awaiting a reply again
 * when it reconnects, so after Redis was killed and restarted a timed-out write (an admission, a counter) would
 * run after the client had been told 503.
 */
describe('the fail-fast Redis connection after a frozen, then restarted Redis', function () {
  this.timeout(30_000);
  let server: PrivateRedis;
  let client: RedisClient;
  let probe: Redis | undefined;

  beforeEach(async () => {
    server = await startPrivateRedis();
    client = createRedis(server.url, { failFast: true, commandTimeoutMs: 300 });
    client.on('error', () => undefined); // the reset connection, expected here
    await waitForReady(client);
  });
  afterEach(async () => {
    server.resume();
    probe?.disconnect();
    await closeRedis(client).catch(() => undefined);
    await server.close();
  });

  it('fails the timed-out write and never sends it again once Redis is back', async () => {
    server.pause();
    const failed = await client.set('written-while-frozen', 'late').then(
      () => 'answered',
      (err: Error) => err.message,
    );
    expect(failed).to.match(/timed out/i);
    await server.crash();
    await server.restart();
    await eventually('the client to be ready again', async () => ((await client.ping().catch(() => null)) === 'PONG' ? true : undefined), 15_000, 100);
    // Give a resend (it would go out right at reconnect, before this PING's reply) time to land, then look.
    probe = new Redis(server.url);
    expect(await probe.get('written-while-frozen')).to.equal(null);
  });
});
