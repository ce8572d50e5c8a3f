// Mocha runs the TypeScript sources through tsx; type errors are caught by `tsc --noEmit` in `npm test`.
module.exports = {
  require: ['tsx/cjs', 'test/helpers/setup.ts'],
  spec: ['test/**/*.test.ts'],
  ignore: ['test/live/**'],
  timeout: 30000,
  exit: true,
  recursive: true,
};
