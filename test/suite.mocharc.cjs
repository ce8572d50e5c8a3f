// The whole suite, as `npm test` runs it: .mocharc.cjs, plus spec files run in parallel worker processes, the
// slowest first. Three workers on two cores: while one waits (on child processes, Redis, lock and lease expiries) the
// other two keep both cores busy. Each worker runs one spec file at a time; test/helpers/setup.ts checks that each
// file closes what it opened and, in the main process, starts the one Redis Cluster the workers share.
const fs = require('node:fs');
const path = require('node:path');
const base = require('../.mocharc.cjs');

// Files that take longest (multi-process, load and uninterruptible-query suites): started first so none of them
// is left running alone at the end. Only the order depends on this list; every *.test.ts file runs either way.
// `TEST_FILE_TIMES=/tmp/times.tsv npm test` writes each file's run time, to re-measure.
const SLOWEST_FIRST = [
  'test/integration/crash-safety.test.ts',
  'test/integration/scale-out.test.ts',
  'test/integration/onboarding-kms-trouble.test.ts',
  'test/integration/quota-contention.test.ts',
  'test/api/hostile-fuzz.test.ts',
  'test/integration/auth-cache-processes.test.ts',
  'test/integration/cancel-across-processes.test.ts',
  'test/webhooks/webhook-delivery-slots.test.ts',
  'test/integration/npm-start-stop.test.ts',
  'test/batches/fanout-run-status.test.ts',
  'test/integration/cli-find-server.test.ts',
  'test/warehouse/operator-query-timeout.test.ts',
  'test/integration/redis-outage.test.ts',
  'test/security/admin-sql-cli.test.ts',
];

const root = path.resolve(__dirname, '..');

/** Every spec file under test/ except test/live (run by `npm run test:live`), in path order. */
function specFiles(dir) {
  return fs
    .readdirSync(path.join(root, dir), { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return rel === 'test/live' ? [] : specFiles(rel);
      return entry.name.endsWith('.test.ts') ? [rel] : [];
    });
}

const all = specFiles('test');
const first = SLOWEST_FIRST.filter((file) => all.includes(file));

module.exports = {
  ...base,
  parallel: true,
  jobs: 3,
  spec: [...first, ...all.filter((file) => !first.includes(file))].map((file) => path.join(root, file)),
};
