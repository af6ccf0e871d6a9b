/** Jest runs the TypeScript sources directly through @swc/jest (the transform Grafana plugins use). */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/backend/src'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': swc,
    // ESM-only dependencies (content-disposition, via @fastify/swagger-ui) become CommonJS for jest.
    '^.+\\.m?js$': swc,
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  testTimeout: 120000,
};
