// Loaded by mocha before every spec file (see .mocharc.cjs).
import { reportSkippedClusterSuites, stopSharedCluster } from './redis-targets';

process.env.NODE_ENV = process.env.NODE_ENV ?? 'test';

/** Root hooks: the Redis Cluster some suites start on first use is stopped once, after the whole run. */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopSharedCluster();
    reportSkippedClusterSuites();
  },
};
