import type { Knex } from 'knex';
import { ValidationError } from '../errors';
import type { Dialect } from './dialect';
import { CLIENTS, dialectModuleFor } from './dialects/registry';
import type { SqliteConfig } from './dialects/sqlite';
import type { MysqlConfig } from './dialects/mysql';
import type { PostgresConfig } from './dialects/postgres';

export type { SqliteConfig } from './dialects/sqlite';
export type { MysqlConfig } from './dialects/mysql';
export type { PostgresConfig } from './dialects/postgres';

/** The database options of Environment.open: one database's, chosen by `client`. */
export type DatabaseConfig = SqliteConfig | MysqlConfig | PostgresConfig;

/** An open connection pool and the dialect of the server behind it. */
export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** Size of the connection pool (1 where a transaction holds the only connection). */
  readonly maxConnections: number;
  /**
   * Names the database for what pools share outside it (the shared cache's default key
   * prefix): the same for every pool on one database, different for different databases.
   * Each dialect module says how it names its database (a file's canonical path, a
   * server's host, port and schema as the server reports them).
   */
  readonly identity: string;
}

/**
 * The options of `client` (undefined for an unknown client, which openDatabase
 * refuses with its own error): what open() accepts besides the Environment's own.
 */
export function databaseOptionKeys(client: unknown): readonly string[] | undefined {
  return dialectModuleFor(client)?.optionKeys;
}

/** Opens the database `config.client` names (see dialects/registry.ts). */
export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const module = dialectModuleFor(config.client);
  if (!module) {
    throw new ValidationError(
      `unknown client "${String(config.client)}" (use one of ${CLIENTS.map((c) => `'${c}'`).join(', ')})`,
    );
  }
  return module.open(config as unknown as Readonly<Record<string, unknown>>);
}
