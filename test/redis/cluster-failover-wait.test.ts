import { expect } from 'chai';
import { closeRedis, createRedis, waitForReady } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { ScriptRunner } from '../../src/redis/scripts';
import { slotOf } from '../../src/redis/slots';
import { startRedisCluster } from '../helpers/redis-cluster';
import type { TestRedisCluster } from '../helpers/redis-cluster';
import { describeOnCluster } from '../helpers/redis-targets';

/**
 * A worker's connection while the master of its keys is killed and the cluster promotes the replica (here after
 * cluster-node-timeout 2 s, so the whole failover takes about three seconds): with `failoverWaitMs` its commands
 * wait for the new master instead of failing after ioredis' default 16 redirections 100 ms apart, which ended a
 * run's step with "Connection is closed." (cluster-failover.test.ts). A private cluster: this suite kills a master.
 */
describeOnCluster('a connection that waits out a failover', function () {
  this.timeout(60_000);
  let cluster: TestRedisCluster;
  let client: RedisClient;

  before(async () => {
    cluster = await startRedisCluster(3, { replicas: 1, nodeTimeoutMs: 2000 });
    client = createRedis(cluster.target, { failFast: true, commandTimeoutMs: 1000, failoverWaitMs: 20_000 });
    client.on('error', () => undefined); // the killed node's connection, expected here
    await waitForReady(client);
  });
  after(async () => {
    await closeRedis(client).catch(() => undefined);
    await cluster?.stop();
  });

  it('follows a slot moved to another master for each of two commands sent in the same tick (no batch left with a MOVED)', async () => {
    // Two keys of one master; the first one's (empty) slot moves to another master, which the client learns from a MOVED.
    const owner = cluster.masterOf(slotOf('{moved}'));
    const other = Array.from({ length: 500 }, (_, i) => `{stay_${i}}`).find((k) => cluster.masterOf(slotOf(k)) === owner)!;
    const target = [0, 8000, 16383].map((slot) => cluster.masterOf(slot)).find((port) => port !== owner)!;
    cluster.moveEmptySlot(slotOf('{moved}'), target);
    const answers = await Promise.all([client.incr('{moved}:n').catch((err: Error) => err.message), client.incr(`${other}:n`).catch((err: Error) => err.message)]);
    expect(answers).to.deep.equal([1, 1]);
  });

  it('runs a script and a command sent right after the master was killed, once the replica took over', async () => {
    const tenant = 'failover_wait';
    const keys = Array.from({ length: 4 }, (_, i) => `{t:${tenant}}:k${i}`);
    await client.set(`{t:${tenant}}:before`, '1');
    const failover = cluster.failover(slotOf(`{t:${tenant}}`), 'kill');
    await new Promise((r) => setTimeout(r, 200));
    const answers = await Promise.all([
      new ScriptRunner(client).run('release', keys, ['run-1', 'COMPLETED', 0, 60]).catch((err: Error) => err.message),
      client.incr(`{t:${tenant}}:during`).catch((err: Error) => err.message),
    ]);
    await failover;
    expect(answers).to.deep.equal([0, 1]);
    expect(await client.get(`{t:${tenant}}:before`), 'replicated before the kill').to.equal('1');
  });
});
