// Loaded by mocha before every spec file (see .mocharc.cjs); with --parallel, in every worker and in the main process.
import fs from 'node:fs';
import path from 'node:path';
import { aliveSnapshot, armLeakWatchdog, expectNothingLeftOpen } from './leak-watchdog';
import type { AliveSnapshot } from './leak-watchdog';
import { reportSkippedClusterSuites, startClusterForWorkers, stopSharedCluster } from './redis-targets';

process.env.NODE_ENV = process.env.NODE_ENV ?? 'test';

/** How long the process may take to exit once everything is closed (lingering sockets finishing their FIN). */
const EXIT_GRACE_MS = Number(process.env.TEST_EXIT_GRACE_MS ?? 10_000);

/** A worker of `mocha --parallel`: mocha forks lib/nodejs/worker.js and runs one spec file at a time in it. */
const inParallelWorker = process.env.MOCHA_WORKER_ID !== undefined && path.basename(process.argv[1] ?? '') === 'worker.js';

/** With --parallel: a file to which each spec file's run time is appended (`<ms>\t<file>` lines), for test/suite.mocharc.cjs. */
const FILE_TIMES = process.env.TEST_FILE_TIMES;

let beforeFile: AliveSnapshot | null = null;
let fileStarted = 0;

/**
 * Root hooks. A serial run (`npx mocha test/x.test.ts`): the Redis Cluster some suites start on first use is
 * stopped once, after the whole run; then the process must exit by itself (no `exit: true`), or the watchdog
 * names what leaked and fails. In a parallel worker these hooks run around each spec file: the file must close
 * everything it opened (the worker itself lives on, so "exits by itself" cannot be the test there).
 */
export const mochaHooks = inParallelWorker
  ? {
      async beforeAll(): Promise<void> {
        // Noted after the first await, like the check in afterAll: mocha's time-out timer for an async hook then
        // runs in both, so it is not counted as something the file left open.
        await Promise.resolve();
        beforeFile = aliveSnapshot();
        fileStarted = Date.now();
      },
      async afterAll(this: Mocha.Context): Promise<void> {
        this.timeout(EXIT_GRACE_MS + 30_000);
        await stopSharedCluster();
        const file = path.relative(process.cwd(), this.test?.parent?.suites.find((s) => s.file)?.file ?? '?');
        try {
          if (beforeFile) await expectNothingLeftOpen(beforeFile, EXIT_GRACE_MS, file);
        } finally {
          if (FILE_TIMES) fs.appendFileSync(FILE_TIMES, `${Date.now() - fileStarted}\t${file}\n`);
        }
      },
    }
  : {
      async afterAll(): Promise<void> {
        await stopSharedCluster();
        reportSkippedClusterSuites();
        armLeakWatchdog(EXIT_GRACE_MS);
      },
    };

/**
 * Global fixtures (main process, once per run). With --parallel the Redis Cluster is started here, before the
 * workers are forked, and handed to them in TEST_REDIS_CLUSTER_NODES: one cluster for the run, not one per
 * worker. The main process, too, must then exit by itself.
 */
type GlobalFixtureContext = { isParallelMode?: () => boolean }; // mocha's Runner (untyped in @types/mocha)

export async function mochaGlobalSetup(this: GlobalFixtureContext): Promise<void> {
  if (this.isParallelMode?.()) await startClusterForWorkers();
}

export async function mochaGlobalTeardown(this: GlobalFixtureContext): Promise<void> {
  if (!this.isParallelMode?.()) return;
  await stopSharedCluster();
  reportSkippedClusterSuites();
  armLeakWatchdog(EXIT_GRACE_MS);
}
