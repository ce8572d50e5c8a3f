/**
 * The Redis setups the suite proves the product on: the single test server (127.0.0.1:6379, or
 * TEST_REDIS_URL) and a real three-master Redis Cluster. The cluster is started once per test run, on
 * first use, and stopped by the root hook in setup.ts (with --parallel: once, by the main process, before
 * the workers start, and stopped after them); TEST_REDIS_CLUSTER_NODES points the suite at an existing
 * cluster instead. Suites that must hold on both are written once and run on each:
 *
 *   forEachRedis('quotas across two API processes', (redis) => { … await redis.target() … });
 *
 * Where redis-server/redis-cli are missing, the cluster variants are skipped and the run says so loudly.
 * TEST_REDIS=cluster makes the cluster the default for every other test too (a whole-suite run on it).
 */
import { loadConfig } from '../../src/config';
import type { RedisTarget } from '../../src/redis/connection';
import { redisClusterToolsOnPath, startRedisCluster } from './redis-cluster';
import type { TestRedisCluster } from './redis-cluster';

export interface RedisUnderTest {
  /** For test titles: "a single Redis server" or "a three-master Redis Cluster". */
  name: string;
  kind: RedisTarget['kind'];
  /** Resolves once this Redis answers (starts the shared cluster on first use). */
  target(): Promise<RedisTarget>;
}

/**
 * The variables that point a process of the product (or a child of a test) at this Redis. An empty
 * REDIS_CLUSTER_NODES means unset, so a child never inherits cluster nodes from the test's own environment.
 */
export function redisEnvOf(target: RedisTarget): Record<string, string> {
  return target.kind === 'cluster' ? { REDIS_CLUSTER_NODES: target.nodes.map((n) => `${n.host}:${n.port}`).join(',') } : { REDIS_URL: target.url, REDIS_CLUSTER_NODES: '' };
}

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const singleRedis: RedisUnderTest = {
  name: 'a single Redis server',
  kind: 'standalone',
  target: async () => ({ kind: 'standalone', url: TEST_REDIS_URL }),
};

let shared: Promise<TestRedisCluster> | null = null;

function sharedCluster(): Promise<TestRedisCluster> {
  const given = process.env.TEST_REDIS_CLUSTER_NODES;
  if (given) {
    const { clusterNodes: nodes } = loadConfig({ REDIS_CLUSTER_NODES: given }).redis;
    const notHere = (): never => {
      throw new Error('TEST_REDIS_CLUSTER_NODES names a cluster this run did not start: it cannot fail its masters over');
    };
    return Promise.resolve({ nodes, target: { kind: 'cluster', nodes }, masterOf: notHere, moveEmptySlot: notHere, failover: notHere, stop: async () => undefined });
  }
  shared ??= startRedisCluster(3);
  return shared;
}

export const redisCluster: RedisUnderTest = {
  name: 'a three-master Redis Cluster',
  kind: 'cluster',
  target: async () => (await sharedCluster()).target,
};

/**
 * `mocha --parallel` (main process, before the workers are forked): starts the run's one cluster, unless one
 * is given or the tools are missing, and points the workers at it through TEST_REDIS_CLUSTER_NODES.
 */
export async function startClusterForWorkers(): Promise<void> {
  if (process.env.TEST_REDIS_CLUSTER_NODES || !clusterAvailable()) return;
  const { nodes } = await sharedCluster();
  process.env.TEST_REDIS_CLUSTER_NODES = nodes.map((n) => `${n.host}:${n.port}`).join(',');
}

/** Stops the shared cluster if this run started one (root hook; global teardown with --parallel). */
export async function stopSharedCluster(): Promise<void> {
  const started = shared;
  shared = null;
  if (started) await (await started).stop();
}

let clusterAvailability: boolean | null = null;

const skipBanner = (): void => {
  const line = '!'.repeat(100);
  process.stderr.write(
    `\n${line}\n!!! redis-server / redis-cli are not on PATH: every "on a three-master Redis Cluster" suite is SKIPPED.\n` +
      `!!! Install them (apt-get install redis-server) or set TEST_REDIS_CLUSTER_NODES=host:port,… — .ci/run installs them.\n${line}\n\n`,
  );
};

/** Whether the cluster variants can run; a "no" is printed as a banner nobody can miss (and again at the end). */
export function clusterAvailable(): boolean {
  if (clusterAvailability !== null) return clusterAvailability;
  clusterAvailability = Boolean(process.env.TEST_REDIS_CLUSTER_NODES) || redisClusterToolsOnPath();
  if (!clusterAvailability) skipBanner();
  return clusterAvailability;
}

/** Root hook: repeats the banner after the run, where a reader of the summary looks. */
export function reportSkippedClusterSuites(): void {
  if (clusterAvailability === false) skipBanner();
}

/** A suite that only makes sense on the cluster; skipped (with the banner) where none can run. */
export function describeOnCluster(title: string, suite: (this: Mocha.Suite) => void): void {
  const available = clusterAvailable();
  (available ? describe : describe.skip)(`${title} on ${redisCluster.name}${available ? '' : ' (SKIPPED: redis-server not on PATH)'}`, suite);
}

/**
 * Runs `suite` once per Redis setup, titled "… on a single Redis server" / "… on a three-master Redis
 * Cluster". `this` is the mocha suite, as in a describe callback (`this.timeout(…)`).
 */
export function forEachRedis(title: string, suite: (this: Mocha.Suite, redis: RedisUnderTest) => void): void {
  describe(`${title} on ${singleRedis.name}`, function () {
    suite.call(this, singleRedis);
  });
  describeOnCluster(title, function () {
    suite.call(this, redisCluster);
  });
}

/** The Redis every test uses unless it names one: TEST_REDIS=cluster switches the whole suite to the cluster. */
export function defaultRedisTarget(): Promise<RedisTarget> {
  return process.env.TEST_REDIS === 'cluster' ? redisCluster.target() : singleRedis.target();
}

export function defaultRedis(): RedisUnderTest {
  return process.env.TEST_REDIS === 'cluster' ? redisCluster : singleRedis;
}
