import knexFactory, { type Knex } from 'knex';
import { ConnectionError, ValidationError } from '../errors';
import type { Dialect } from './dialect';
import { sqliteDialect, sqliteKnexConfig } from './dialects/sqlite';
import { mysqlDialect, mysqlKnexConfig } from './dialects/mysql';
import { assertDriverInstalled } from './drivers';

/** Embedded SQLite (the default): `filename` defaults to ':memory:'. */
export interface SqliteConfig {
  client?: 'sqlite' | 'better-sqlite3';
  filename?: string;
}

/** MySQL or MariaDB through mysql2: a `mysql://user:pw@host:port/db` URL or mysql2 options. */
export interface MysqlConfig {
  client: 'mysql2' | 'mysql';
  connection: string | Record<string, unknown>;
  /** Largest number of pooled connections (default 10). */
  poolMax?: number;
}

export type DatabaseConfig = SqliteConfig | MysqlConfig;

/** An open connection pool and the dialect of the server behind it. */
export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** Size of the connection pool (1 for SQLite: a transaction holds the only connection). */
  readonly maxConnections: number;
}

/**
 * The options of `client` (undefined for an unknown client, which openDatabase
 * refuses with its own error): what open() accepts besides the Environment's own.
 */
export function databaseOptionKeys(client: unknown): readonly string[] | undefined {
  if (client === undefined || client === 'sqlite' || client === 'better-sqlite3') return ['client', 'filename'];
  if (client === 'mysql2' || client === 'mysql') return ['client', 'connection', 'poolMax'];
  return undefined;
}

export async function openDatabase(config: DatabaseConfig): Promise<Database> {
  const client = config.client ?? 'sqlite';
  if (client === 'sqlite' || client === 'better-sqlite3') {
    const filename = (config as SqliteConfig).filename ?? ':memory:';
    if (typeof filename !== 'string' || filename === '')
      throw new ValidationError('sqlite: filename must be a non-empty string');
    assertDriverInstalled('sqlite');
    const knex = knexFactory(sqliteKnexConfig(filename));
    await probe(knex, sqliteDialect, () => Promise.resolve(undefined));
    return { knex, dialect: sqliteDialect, maxConnections: 1 };
  }
  if (client === 'mysql2' || client === 'mysql') {
    const { connection, poolMax = 10 } = config as MysqlConfig;
    if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
      throw new ValidationError('mysql: `connection` must be a URL string or an options object');
    }
    assertDriverInstalled('mysql');
    const knex = knexFactory(mysqlKnexConfig(connection, poolMax));
    let info: Parameters<typeof mysqlDialect>[0] | undefined;
    await probe(
      knex,
      mysqlDialect({ mariadb: true, autoincLockMode: 1, autoincIncrement: 1, maxAllowedPacket: 0 }),
      async () => {
        const [rows] = (await knex.raw(
          'SELECT VERSION() AS v, @@innodb_autoinc_lock_mode AS lockMode, @@auto_increment_increment AS step, @@max_allowed_packet AS packet',
        )) as [Array<{ v: string; lockMode: number; step: number; packet: number | string }>];
        const r = rows[0];
        info = {
          mariadb: /mariadb/i.test(r.v),
          autoincLockMode: Number(r.lockMode),
          autoincIncrement: Number(r.step),
          maxAllowedPacket: Number(r.packet),
        };
      },
    );
    return { knex, dialect: mysqlDialect(info!), maxConnections: poolMax };
  }
  throw new ValidationError(`unknown client "${String(client)}" (use 'sqlite' or 'mysql2')`);
}

/** Connects once so a wrong URL or a stopped server fails in open(), not at the first query. */
async function probe(knex: Knex, dialect: Dialect, read: () => Promise<void>): Promise<void> {
  try {
    await knex.raw('SELECT 1');
    await read();
  } catch (e) {
    await knex.destroy().catch(() => undefined);
    // Whatever the driver says (bad file, refused, access denied), the database cannot be used.
    const err = dialect.translateError(e, 'SELECT 1');
    throw err instanceof ConnectionError
      ? err
      : new ConnectionError(`cannot open the database: ${err.message}`, err.sql, err.code, e);
  }
}
