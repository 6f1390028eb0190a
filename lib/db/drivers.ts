import { EnvironmentError } from '../errors';

/**
 * Which npm package drives which database: the one place that knows it. The package name
 * is also knex's `client` name. better-sqlite3 is a dependency of proxorm (the embedded
 * default); the others are optional peer dependencies the user installs next to proxorm,
 * so a missing one is found here, before knex requires it, with the command that fixes it.
 */
export const DRIVERS = {
  sqlite: 'better-sqlite3',
  mysql: 'mysql2',
  postgres: 'pg',
} as const;

export type DriverName = keyof typeof DRIVERS;

/**
 * Throws an EnvironmentError naming the package to install when the driver of `dialect`
 * cannot be found from proxorm's own location (where knex, installed beside it, looks too).
 * A setup problem, not a database one: no connection was attempted.
 */
export function assertDriverInstalled(dialect: DriverName): void {
  const pkg = DRIVERS[dialect];
  try {
    require.resolve(pkg);
  } catch {
    throw new EnvironmentError(
      `the ${dialect} client needs the package "${pkg}", which is not installed: run \`npm install ${pkg}\``,
    );
  }
}
