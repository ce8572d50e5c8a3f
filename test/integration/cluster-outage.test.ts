import { expect } from 'chai';
import { startRedisCluster } from '../helpers/redis-cluster';
import type { TestRedisCluster } from '../helpers/redis-cluster';
import { describeOnCluster } from '../helpers/redis-targets';
import { onboard, startTestSystem } from '../helpers/system';
import type { TestSystem } from '../helpers/system';

/**
 * The API on a Redis Cluster that goes away: the request path fails fast (no offline queue) and every
 * answer is 503 DEPENDENCY_UNAVAILABLE, never a 500 or a hang — as on a single server (redis-outage).
 * A private cluster, since this suite stops it.
 */
describeOnCluster('the API when every node of its Redis Cluster is gone', function () {
  this.timeout(60_000);
  let cluster: TestRedisCluster;
  let t: TestSystem;
  let key: string;

  before(async () => {
    cluster = await startRedisCluster(3);
    t = await startTestSystem({ role: 'api', redis: cluster.target });
    key = await onboard(t, 'outage_corp');
    await cluster.stop();
  });
  after(async () => {
    await t?.close().catch(() => undefined);
    await cluster?.stop();
  });

  it('answers a tenant request with 503 DEPENDENCY_UNAVAILABLE', async () => {
    const res = await t.request.get('/api/v1/tenants/outage_corp/quota').set('X-API-Key', key);
    expect([res.status, res.body.code]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE']);
  });

  it('answers a trigger with 503 and starts nothing', async () => {
    const res = await t.request.post('/api/v1/pipelines/run/outage_corp/gcp/cost/dryrun').set('X-API-Key', key);
    expect([res.status, res.body.code]).to.deep.equal([503, 'DEPENDENCY_UNAVAILABLE']);
    expect(res.body).not.to.have.property('pipeline_logging_id');
  });

  it('reports not ready', async () => {
    const res = await t.request.get('/health/ready');
    expect(res.status).to.equal(503);
  });
});
