// Mocha runs the TypeScript sources through tsx; type errors are caught by `tsc --noEmit` in `npm test`.
// The spec list lives in package.json's test script, so `npx mocha test/x/y.test.ts` runs just that file.
// No `exit: true`: the run ends when everything is closed; test/helpers/leak-watchdog.ts fails it naming what leaked.
module.exports = {
  require: ['tsx/cjs', 'test/helpers/setup.ts'],
  ignore: ['test/live/**'],
  timeout: 30000,
  recursive: true,
};
