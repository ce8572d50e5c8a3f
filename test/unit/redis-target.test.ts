import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config';
import { toAppError } from '../../src/api/middleware/error-handler';
import { createRedis, describeTarget, redisTargetOf } from '../../src/redis/connection';
import { freePort } from '../helpers/polling';

describe('choosing Redis: REDIS_URL or REDIS_CLUSTER_NODES', () => {
  it('uses the single server at REDIS_URL when no cluster nodes are given', () => {
    expect(redisTargetOf(loadConfig({}).redis)).to.deep.equal({ kind: 'standalone', url: 'redis://127.0.0.1:6379' });
    expect(redisTargetOf(loadConfig({ REDIS_CLUSTER_NODES: '' }).redis).kind).to.equal('standalone');
  });

  it('uses a cluster seeded by every host:port of REDIS_CLUSTER_NODES', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: '10.0.0.5:6379,redis-1.internal:7000' });
    expect(redisTargetOf(config.redis)).to.deep.equal({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.5', port: 6379 },
        { host: 'redis-1.internal', port: 7000 },
      ],
    });
  });

  for (const bad of ['redis://10.0.0.5:6379', '10.0.0.5', '10.0.0.5:6379,', 'a b:1', '10.0.0.5:0', '10.0.0.5:70000']) {
    it(`refuses REDIS_CLUSTER_NODES=${JSON.stringify(bad)}, naming the variable`, () => {
      let refused: unknown = null;
      try {
        loadConfig({ REDIS_CLUSTER_NODES: bad });
      } catch (err) {
        refused = err;
      }
      expect(refused).to.be.instanceOf(ConfigError);
      expect((refused as ConfigError).variables).to.deep.equal(['REDIS_CLUSTER_NODES']);
    });
  }

  it('never shows a REDIS_URL password in what it logs', () => {
    expect(describeTarget({ kind: 'standalone', url: 'redis://:s3cret@10.0.0.5:6379/0' })).to.equal('redis://:***@10.0.0.5:6379/0');
    expect(describeTarget({ kind: 'cluster', nodes: [{ host: '10.0.0.5', port: 6379 }] })).to.equal('cluster 10.0.0.5:6379');
  });

  describe('when the cluster does not answer', () => {
    it('fails a request-path command instead of queueing it, and the API maps it to 503 DEPENDENCY_UNAVAILABLE', async () => {
      const client = createRedis({ kind: 'cluster', nodes: [{ host: '127.0.0.1', port: await freePort() }] }, { failFast: true, commandTimeoutMs: 200 });
      client.on('error', () => undefined);
      try {
        const failure = await client.get('any-key').then(
          () => null,
          (err: unknown) => err,
        );
        expect(failure).to.be.instanceOf(Error);
        expect([toAppError(failure).status, toAppError(failure).code]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE']);
      } finally {
        client.disconnect();
      }
    });
  });
});
