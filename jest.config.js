/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', isolatedModules: true }] },
  setupFiles: ['<rootDir>/test/helpers/setup.js'],
  testTimeout: 120000,
  // Native work is CPU-heavy and the CI machine has 2 cores: two workers at most.
  maxWorkers: 2,
};
