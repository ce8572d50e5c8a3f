// Mocha runs the TypeScript sources through tsx; type errors are caught by `tsc --noEmit` in `npm test`.
// No spec list here, so `npx mocha test/x/y.test.ts` runs just that file, in this process. The whole suite (`npm test`)
// runs with test/suite.mocharc.cjs: these settings plus the spec list, run by parallel worker processes.
// No `exit: true`: the run ends when everything is closed; test/helpers/leak-watchdog.ts fails it naming what leaked
// (with --parallel, each spec file must close what it opened: a worker process outlives the file).
module.exports = {
  require: ['tsx/cjs', 'test/helpers/setup.ts'],
  ignore: ['test/live/**'],
  timeout: 30000,
  recursive: true,
};
