/** @type {import('jest').Config} */
module.exports = {
  preset: 'ts-jest',
  // jest's node environment, with each worker on databases of its own (helpers/worker-databases.ts).
  testEnvironment: '<rootDir>/__tests__/setup/test-environment.ts',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/__tests__/**/*.test.ts'],
  // Two test files at a time: the SQLite, MariaDB and PostgreSQL halves one after the other come
  // close to CI's 30 minutes on two cores (CONTRIBUTING.md, "Two at a time"). Each worker has
  // databases of its own; `--runInBand` runs one file at a time.
  maxWorkers: 2,
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
