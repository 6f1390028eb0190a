import { EnvironmentError } from '../errors';

/**
 * Throws an EnvironmentError naming the package to install when `pkg`, the driver of
 * the dialect `dialectName`, cannot be found from proxorm's own location (where knex,
 * installed beside it, looks too). Each dialect module names its driver (DialectModule.driver);
 * the optional peer dependencies are found missing here, before knex requires them,
 * with the command that fixes it. A setup problem, not a database one: no connection
 * was attempted.
 */
export function assertDriverInstalled(pkg: string, dialectName: string): void {
  try {
    require.resolve(pkg);
  } catch {
    throw new EnvironmentError(
      `the ${dialectName} client needs the package "${pkg}", which is not installed: run \`npm install ${pkg}\``,
    );
  }
}
