/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  // jest's node environment, with each worker on databases of its own (helpers/worker-databases.ts).
  testEnvironment: '<rootDir>/__tests__/setup/test-environment.ts',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/__tests__/**/*.test.ts'],
  // One test file at a time. Two workers (each on databases of its own, helpers/worker-databases.ts)
  // halved the run, but a full run once lost a MariaDB table of worker 1's database mid-test,
  // cause not proven: until it is, the files run one after the other (CONTRIBUTING.md).
  maxWorkers: 1,
  // Starts a throwaway MariaDB (scripts/mariadb.sh) and PostgreSQL (scripts/postgres.sh) unless
  // PROXORM_MYSQL_URL / PROXORM_PG_URL are set, and Redis (scripts/redis.sh).
  globalSetup: '<rootDir>/__tests__/setup/global-setup.ts',
  globalTeardown: '<rootDir>/__tests__/setup/global-teardown.ts',
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
  testTimeout: 60000,
  transform: {
    // ts-jest with full type-checking (diagnostics on): type errors fail the test file.
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }],
  },
};
