// Loaded by mocha before every spec file (see .mocharc.cjs).
import { armLeakWatchdog } from './leak-watchdog';
import { reportSkippedClusterSuites, stopSharedCluster } from './redis-targets';

process.env.NODE_ENV = process.env.NODE_ENV ?? 'test';

/** How long the process may take to exit once everything is closed (lingering sockets finishing their FIN). */
const EXIT_GRACE_MS = Number(process.env.TEST_EXIT_GRACE_MS ?? 10_000);

/**
 * Root hooks: the Redis Cluster some suites start on first use is stopped once, after the whole run;
 * then the process must exit by itself (no `exit: true`), or the watchdog names what leaked and fails.
 */
export const mochaHooks = {
  async afterAll(): Promise<void> {
    await stopSharedCluster();
    reportSkippedClusterSuites();
    armLeakWatchdog(EXIT_GRACE_MS);
  },
};
