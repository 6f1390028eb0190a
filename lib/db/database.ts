import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import knexFactory, { type Knex } from 'knex';
import { ConnectionError, ValidationError } from '../errors';
import type { Dialect } from './dialect';
import { sqliteDialect, sqliteKnexConfig } from './dialects/sqlite';
import { mysqlDialect, mysqlKnexConfig } from './dialects/mysql';
import { postgresModule } from './dialects/postgres';
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

/** PostgreSQL through pg: a `postgres://user:pw@host:port/db` URL or pg options. */
export interface PostgresConfig {
  client: 'pg' | 'postgres' | 'postgresql';
  connection: string | Record<string, unknown>;
  /** Largest number of pooled connections (default 10). */
  poolMax?: number;
}

export type DatabaseConfig = SqliteConfig | MysqlConfig | PostgresConfig;

/** An open connection pool and the dialect of the server behind it. */
export interface Database {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** Size of the connection pool (1 for SQLite: a transaction holds the only connection). */
  readonly maxConnections: number;
  /**
   * Names the database for what pools share outside it (the shared cache's default key
   * prefix): the same for every pool on one database, different for different databases.
   * SQLite: the file's canonical path (an in-memory database is its pool's alone); MySQL:
   * the server's host name and port, and the schema, as the server reports them (so that
   * two names of one server agree; two servers alike in all three do not differ);
   * PostgreSQL: the server's address and port, the database and the schema.
   */
  readonly identity: string;
}

/**
 * The options of `client` (undefined for an unknown client, which openDatabase
 * refuses with its own error): what open() accepts besides the Environment's own.
 */
export function databaseOptionKeys(client: unknown): readonly string[] | undefined {
  if (client === undefined || client === 'sqlite' || client === 'better-sqlite3') return ['client', 'filename'];
  if (client === 'mysql2' || client === 'mysql') return ['client', 'connection', 'poolMax'];
  if (postgresModule.clients.includes(client as string)) return postgresModule.optionKeys;
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
    const memory = filename === ':memory:' || filename.startsWith('file::memory:');
    const identity = `sqlite:${memory ? `memory:${randomUUID()}` : realPath(filename)}`;
    return { knex, dialect: sqliteDialect, maxConnections: 1, identity };
  }
  if (client === 'mysql2' || client === 'mysql') {
    const { connection, poolMax = 10 } = config as MysqlConfig;
    if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
      throw new ValidationError('mysql: `connection` must be a URL string or an options object');
    }
    assertDriverInstalled('mysql');
    const knex = knexFactory(mysqlKnexConfig(connection, poolMax));
    let info: Parameters<typeof mysqlDialect>[0] | undefined;
    let identity = '';
    await probe(
      knex,
      mysqlDialect({ mariadb: true, autoincLockMode: 1, autoincIncrement: 1, maxAllowedPacket: 0 }),
      async () => {
        const [rows] = (await knex.raw(
          'SELECT VERSION() AS v, @@innodb_autoinc_lock_mode AS lockMode, @@auto_increment_increment AS step, @@max_allowed_packet AS packet, ' +
            '@@hostname AS host, @@port AS port, DATABASE() AS db',
        )) as [
          Array<{
            v: string;
            lockMode: number;
            step: number;
            packet: number | string;
            host: string;
            port: number;
            db: string | null;
          }>,
        ];
        const r = rows[0];
        identity = `mysql:${JSON.stringify([r.host, Number(r.port), r.db])}`;
        info = {
          mariadb: /mariadb/i.test(r.v),
          autoincLockMode: Number(r.lockMode),
          autoincIncrement: Number(r.step),
          maxAllowedPacket: Number(r.packet),
        };
      },
    );
    return { knex, dialect: mysqlDialect(info!), maxConnections: poolMax, identity };
  }
  if (postgresModule.clients.includes(client)) return postgresModule.open(config as unknown as Record<string, unknown>);
  throw new ValidationError(`unknown client "${String(client)}" (use 'sqlite', 'mysql2' or 'pg')`);
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

/** The file's canonical path (symlinks resolved: two paths to one file are one database). */
function realPath(filename: string): string {
  try {
    return fs.realpathSync(filename);
  } catch {
    return path.resolve(filename);
  }
}
