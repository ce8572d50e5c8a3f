import { expect } from 'chai';
import Redis from 'ioredis';
import { closeRedis, createRedis, waitForReady } from '../../src/redis/connection';
import type { RedisClient } from '../../src/redis/connection';
import { ScriptRunner } from '../../src/redis/scripts';
import { slotOf } from '../../src/redis/slots';
import { startRedisCluster } from '../helpers/redis-cluster';
import type { TestRedisCluster } from '../helpers/redis-cluster';
import { describeOnCluster } from '../helpers/redis-targets';

/**
 * A script reaching a master that does not have it cached: after a failover the promoted replica's script cache
 * is empty (scripts are not replicated), and ioredis (5.11) answers NOSCRIPT to the caller where an auto-pipelined
 * script was redirected (MOVED) to a node whose connection had carried the script before: the batch is sent again
 * without ioredis' own NOSCRIPT fallback. Seen as a 500 on a trigger while a master failed over
 * (cluster-failover.test.ts); here made certain by moving an empty slot to a master whose cache was flushed.
 * A private cluster: this suite moves a slot.
 */
describeOnCluster('a script redirected to a master that lost its script cache', function () {
  this.timeout(30_000);
  let cluster: TestRedisCluster;
  let client: RedisClient;
  const admins: Redis[] = [];

  before(async () => {
    cluster = await startRedisCluster(3);
    for (const n of cluster.nodes) admins.push(new Redis({ host: n.host, port: n.port }));
    client = createRedis(cluster.target, { failFast: true, commandTimeoutMs: 1000 });
    await waitForReady(client);
  });
  after(async () => {
    await closeRedis(client).catch(() => undefined);
    for (const a of admins) a.disconnect();
    await cluster?.stop();
  });

  const keysOf = (tenant: string): string[] => Array.from({ length: 4 }, (_, i) => `{t:${tenant}}:k${i}`);
  const tenantOn = (port: number): string => {
    const id = Array.from({ length: 500 }, (_, i) => `cache_${i}`).find((t) => cluster.masterOf(slotOf(`{t:${t}}`)) === port);
    if (!id) throw new Error(`no tenant id on ${port}`);
    return id;
  };

  it('runs the script (ScriptRunner sends it once more after NOSCRIPT: it did not run)', async () => {
    const [a, b] = cluster.nodes.map((n) => n.port) as [number, number];
    const runner = new ScriptRunner(client);
    // The client's connection to B carries the script once, then B forgets it (as a promoted replica never had it).
    expect(await runner.run('release', keysOf(tenantOn(b)), ['run-1', 'COMPLETED', 0, 60])).to.equal(0);
    await admins[1]!.script('FLUSH');
    // An empty slot of A moves to B; the client still routes it to A, which answers MOVED.
    const tenant = tenantOn(a);
    const bId = String(await admins[1]!.call('CLUSTER', 'MYID'));
    for (const admin of admins) await admin.call('CLUSTER', 'SETSLOT', slotOf(`{t:${tenant}}`), 'NODE', bId);
    const answer = await runner.run('release', keysOf(tenant), ['run-1', 'COMPLETED', 0, 60]).catch((err: Error) => err.message);
    expect(answer).to.equal(0);
  });
});
