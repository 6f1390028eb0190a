import type { DialectModule } from '../dialect';
import { sqliteModule } from './sqlite';
import { mysqlModule } from './mysql';
import { postgresModule } from './postgres';

/**
 * The databases proxorm runs on: the only list of them. The first is the default (an
 * open() without `client`). Adding a database is adding its folder and its line here.
 */
const MODULES: readonly DialectModule[] = [sqliteModule, mysqlModule, postgresModule];

/** Every `client` value open() accepts, in the registry's order. */
export const CLIENTS: readonly string[] = MODULES.flatMap((m) => m.clients);

/** Every database's module (the tests check that nothing outside dialects/ names one). */
export function dialectModules(): readonly DialectModule[] {
  return MODULES;
}

/** The module `client` selects (undefined: the default one), or undefined for an unknown client. */
export function dialectModuleFor(client: unknown): DialectModule | undefined {
  if (client === undefined) return MODULES[0];
  return MODULES.find((m) => m.clients.includes(client as string));
}
