/**
 * Two jest projects: the sidecar/engine/CLI (Node, TypeScript through @swc/jest) and the Grafana
 * plugin (jsdom, create-plugin's config from .config/, which is tool-owned).
 */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const plugin = require('./.config/jest.config');
const { grafanaESModules, nodeModulesToTransform } = require('./.config/jest/utils');

module.exports = {
  testTimeout: 120000,
  // @duckdb/node-bindings keeps a native handle (its "ref reaper") alive until the garbage collector
  // has finalized the query objects, which can hold jest open for minutes after the last test.
  forceExit: true,
  // Tests run in a worker process, not in jest's own (a memory limit makes jest use one even on two
  // cores): if native code ever wedges a worker's exit, jest kills it and still reports, instead of
  // the whole run hanging in process.exit. (That hang was real: closing a DuckDB connection under a
  // running statement deadlocks a libuv thread; ConnectionPool.close now waits, see pool.test.ts.)
  workerIdleMemoryLimit: '2GB',
  // One TMPDIR per run, removed at its end: what tests write under os.tmpdir() does not pile up.
  globalSetup: '<rootDir>/backend/src/testing/jest-global-setup.ts',
  globalTeardown: '<rootDir>/backend/src/testing/jest-global-teardown.ts',
  projects: [
    {
      displayName: 'backend',
      testEnvironment: 'node',
      roots: ['<rootDir>/backend/src', '<rootDir>/plugin-backend/src', '<rootDir>/dashboards', '<rootDir>/provisioning', '<rootDir>/browser'],
      testMatch: ['**/*.test.ts'],
      transform: {
        '^.+\\.ts$': swc,
        // ESM-only dependencies (content-disposition, via @fastify/swagger-ui) become CommonJS for jest.
        '^.+\\.m?js$': swc,
      },
      transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
    },
    {
      ...plugin,
      displayName: 'plugin',
      rootDir: __dirname,
      transform: {
        ...plugin.transform,
        // d3 and friends ship .mjs files (see ../shared/docs/toolchain-notes.md).
        '^.+\\.mjs$': plugin.transform['^.+\\.(t|j)sx?$'],
      },
      // The geomap's d3-geo (and its d3-array, internmap) are ESM-only as well.
      transformIgnorePatterns: [nodeModulesToTransform([...grafanaESModules, 'd3-geo', 'd3-array', 'internmap'])],
    },
  ],
};
