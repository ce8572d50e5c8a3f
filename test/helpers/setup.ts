// Loaded by mocha before every spec file (see .mocharc.cjs).
process.env.NODE_ENV = process.env.NODE_ENV ?? 'test';
