import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { PIPELINE_RUNS_QUEUE } from '../../src/queues/pipeline-runs';
import { RedisKeys } from '../../src/redis/keys';
import { slotOf } from '../../src/redis/slots';
import { callApi, closeAll, configsWith, createCluster, eventually, onboardTenant, startFakeBigQuery, waitForRunEnd } from '../helpers/processes';
import type { Cluster, FakeBigQuery, RoleProcess } from '../helpers/processes';
import { startRedisCluster } from '../helpers/redis-cluster';
import type { TestRedisCluster } from '../helpers/redis-cluster';
import { describeOnCluster } from '../helpers/redis-targets';
import { readDayTemplate } from '../helpers/templates';

/**
 * Redis Cluster failover under load: a three-master cluster with one replica per master (six redis-server
 * processes, cluster-node-timeout 1 s), an API process and a worker process (fake BigQuery warehouse), two
 * tenants triggering runs all along. First the master holding the run queue's slot and tenant A's keys is
 * SIGKILLed and the cluster promotes its replica; then tenant B's master is failed over gracefully (CLUSTER
 * FAILOVER on its replica). Every trigger must be answered 202, 429 CONCURRENT_LIMIT_REACHED or 503
 * DEPENDENCY_UNAVAILABLE with Retry-After — no 500, no hang; every 202 must end COMPLETED and be in the
 * tenant's warehouse run log; the quotas must count exactly the 202s and free every slot; and runs triggered
 * after each failover must be run by the same worker process (its BullMQ connections found the new master).
 *
 * Before the fixes it found (6 of 13 runs failed): a run FAILED with "Connection is closed." (its step's budget
 * script met the dead master; worker connections now wait out a failover, REDIS_FAILOVER_WAIT_MS), and a trigger
 * answered 500 NOSCRIPT (the promoted replica had no cached scripts) whose refund never ran, leaving the quota one
 * run over the 202s and a concurrency slot held.
 *
 * Skipped, with the loud banner of describeOnCluster (test/helpers/redis-targets.ts), where redis-server or
 * redis-cli is not on PATH. TEST_REDIS_CLUSTER_NODES does not apply: this suite starts (and kills) its own cluster.
 */
const TEMPLATE = readDayTemplate('cluster failover test');
const PIPELINE = 'gcp/failover/read_day';
/** A plan whose daily quota the load cannot reach: a 429 here can only be the concurrent limit. */
const PLAN = 'FAILOVER_TEST';
const PLAN_YAML = `  ${PLAN}:\n    daily_limit: 100000\n    concurrent_limit: 8\n    team_limit: 5\n    provider_limit: 5\n`;
/** A trigger unanswered this long counts as hung (the API's own Redis command timeout is 1 s). */
const HANG_MS = 10_000;
const day = (i: number): string => new Date(Date.UTC(2020, 0, 1 + i)).toISOString().slice(0, 10);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  tenant: string;
  /** 'hang': no answer within HANG_MS; 'error': the connection failed. */
  status: number | 'hang' | 'error';
  code: string;
  retryAfter: string | null;
  runId: string;
  /** Sent after the failover had completed (every live node agreed on the new master). */
  afterFailover: boolean;
}

describeOnCluster('runs triggered while a master fails over to its replica', function () {
  this.timeout(120_000);
  let redis: TestRedisCluster;
  let bq: FakeBigQuery;
  let configs: { dir: string; cleanup(): void };
  let deployment: Cluster;
  let api: RoleProcess;
  let worker: RoleProcess;
  let queueSlot: number;
  const tenants: { id: string; key: string; slot: number; next: number }[] = [];
  const answers: Answer[] = [];

  before(async () => {
    redis = await startRedisCluster(3, { replicas: 1, nodeTimeoutMs: 1000 });
    bq = await startFakeBigQuery();
    const plans = fs.readFileSync(path.resolve(__dirname, '../../configs/plans.yml'), 'utf8');
    configs = configsWith({ [`${PIPELINE}.yml`]: TEMPLATE, 'plans.yml': `${plans.trimEnd()}\n${PLAN_YAML}` });
    deployment = createCluster({
      bigquery: bq,
      redis: redis.target,
      env: { CONFIGS_DIR: configs.dir, RATE_LIMIT_RUN_PER_MINUTE: '100000', RATE_LIMIT_TENANT_PER_MINUTE: '100000', RATE_LIMIT_IP_PER_MINUTE: '100000', WORKER_CONCURRENCY: '4' },
    });
    queueSlot = slotOf(`${new RedisKeys(deployment.prefix).bullPrefix}:${PIPELINE_RUNS_QUEUE}:wait`);
    // Tenant A's keys live on the run queue's master (one kill hits both), tenant B's on another master.
    const queueMaster = redis.masterOf(queueSlot);
    const names = Array.from({ length: 200 }, (_, i) => `failover_${i}`);
    const a = names.find((n) => redis.masterOf(slotOf(`{t:${n}}`)) === queueMaster);
    const b = names.find((n) => redis.masterOf(slotOf(`{t:${n}}`)) !== queueMaster);
    if (!a || !b) throw new Error('no tenant id found for one of the masters');
    api = await deployment.start('api');
    worker = await deployment.start('worker');
    for (const id of [a, b]) tenants.push({ id, key: await onboardTenant(api, deployment.adminKey, id, PLAN), slot: slotOf(`{t:${id}}`), next: 0 });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') process.stderr.write(`${deployment?.output().slice(-20_000) ?? ''}\n`);
  });
  after(() => closeAll(() => deployment?.close(), () => redis?.stop(), () => bq?.close(), () => configs?.cleanup()));

  async function trigger(t: (typeof tenants)[number], afterFailover: boolean): Promise<Answer> {
    const date = day((t.next += 1));
    try {
      const res = await callApi(api, 'POST', `/api/v1/pipelines/run/${t.id}/${PIPELINE}`, { apiKey: t.key, body: { date }, timeoutMs: HANG_MS });
      return { tenant: t.id, status: res.status, code: String(res.body['code'] ?? ''), retryAfter: res.headers.get('retry-after'), runId: String(res.body['pipeline_logging_id'] ?? ''), afterFailover };
    } catch (err) {
      return { tenant: t.id, status: (err as Error).name === 'TimeoutError' ? 'hang' : 'error', code: (err as Error).message, retryAfter: null, runId: '', afterFailover };
    }
  }

  /** Two trigger loops per tenant from 1 s before the failover until 2 s after every node agreed on it. */
  async function failOverUnderLoad(slot: number, mode: 'graceful' | 'kill'): Promise<Answer[]> {
    let done = false;
    let failedOver = false;
    const seen: Answer[] = [];
    const loops = tenants.flatMap((t) => [0, 1].map(async () => {
      while (!done) {
        seen.push(await trigger(t, failedOver));
        await sleep(20);
      }
    }));
    await sleep(1000);
    await redis.failover(slot, mode);
    failedOver = true;
    await sleep(2000);
    done = true;
    await Promise.all(loops);
    answers.push(...seen);
    return seen;
  }

  const unexpected = (seen: Answer[]): string[] =>
    seen
      .filter((a) => !(a.status === 202 || (a.status === 429 && a.code === 'CONCURRENT_LIMIT_REACHED') || (a.status === 503 && a.code === 'DEPENDENCY_UNAVAILABLE' && a.retryAfter !== null)))
      .map((a) => `${a.tenant} ${a.status} ${a.code}`);

  const summary = (seen: Answer[]): string => JSON.stringify(seen.reduce<Record<string, number>>((acc, a) => ({ ...acc, [`${a.status} ${a.code}`]: (acc[`${a.status} ${a.code}`] ?? 0) + 1 }), {}));

  it('answers every trigger 202, 429 or 503 with Retry-After while the run queue’s and tenant A’s master is killed', async () => {
    const seen = await failOverUnderLoad(queueSlot, 'kill');
    expect(unexpected(seen), summary(seen)).to.deep.equal([]);
    expect(seen.filter((a) => a.afterFailover && a.status === 202), summary(seen)).not.to.be.empty;
  });

  it('answers every trigger 202, 429 or 503 with Retry-After while tenant B’s master fails over gracefully', async () => {
    const seen = await failOverUnderLoad(tenants[1]!.slot, 'graceful');
    expect(unexpected(seen), summary(seen)).to.deep.equal([]);
    expect(seen.filter((a) => a.afterFailover && a.status === 202), summary(seen)).not.to.be.empty;
  });

  it('runs every admitted run to COMPLETED in the one worker process, runs triggered after both failovers included', async () => {
    const admitted = answers.filter((a) => a.status === 202);
    const ends = new Map<string, string>();
    for (const t of tenants) {
      for (const a of admitted.filter((x) => x.tenant === t.id)) {
        const run = await waitForRunEnd(api, t.key, a.runId, 30_000).catch((err: Error) => ({ status: 'NOT ENDED', error: err.message }));
        ends.set(a.runId, run['status'] === 'COMPLETED' ? 'COMPLETED' : JSON.stringify(run));
      }
    }
    const notCompleted = [...ends].filter(([, status]) => status !== 'COMPLETED');
    expect(notCompleted, `${admitted.length} admitted`).to.deep.equal([]);
    expect(worker.child.exitCode).to.equal(null);
  });

  it('writes exactly the admitted runs to each tenant’s warehouse run log', async () => {
    for (const t of tenants) {
      const admitted = answers.filter((a) => a.tenant === t.id && a.status === 202).map((a) => a.runId).sort();
      const logged = await eventually(`${t.id}'s run log to hold its ${admitted.length} runs`, async () => {
        const { rows } = await bq.duckdb.query(`SELECT pipeline_logging_id FROM \`${t.id}.x_meta_pipeline_runs\` WHERE status = 'COMPLETED'`);
        const ids = rows.map((r) => String(r['pipeline_logging_id'])).sort();
        return ids.length >= admitted.length ? ids : undefined;
      }, 20_000, 200).catch(() => null);
      expect(logged, t.id).to.deep.equal(admitted);
    }
  });

  it('counts exactly the admitted runs in each tenant’s daily quota and frees every concurrency slot', async () => {
    const counts = await Promise.all(tenants.map(async (t) => {
      const quota = await callApi(api, 'GET', `/api/v1/tenants/${t.id}/quota`, { apiKey: t.key });
      return { tenant: t.id, today: quota.body['pipelines_run_today'], running: quota.body['concurrent_pipelines_running'] };
    }));
    expect(counts).to.deep.equal(tenants.map((t) => ({ tenant: t.id, today: answers.filter((a) => a.tenant === t.id && a.status === 202).length, running: 0 })));
  });
});
