/** Jest runs the TypeScript sources directly through @swc/jest (the transform Grafana plugins use). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/backend/src'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  testTimeout: 120000,
};
