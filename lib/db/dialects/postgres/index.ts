import knexFactory, { type Knex } from 'knex';
import { ConnectionError, ValidationError } from '../../../errors';
import type { Database } from '../../database';
import type { DialectModule } from '../../dialect';
import { assertDriverInstalled } from '../../drivers';
import { probe } from '../common/probe';
import { postgresDialect, type PostgresServerInfo } from './dialect';
import { applySessionSettings } from './session';
import { poolTypeParsers, type TypeParsers } from './types';

/**
 * PostgreSQL through pg (node-postgres):
 * `Environment.open({ client: 'pg', connection: 'postgres://user:pw@host:5432/db', poolMax })`,
 * or `connection` as pg's options object (host, port, user, password, database, ssl, ...).
 * Tables live in the connection's current schema (its search_path).
 */
/** PostgreSQL through pg: a `postgres://user:pw@host:port/db` URL or pg options. */
export interface PostgresConfig {
  client: 'pg' | 'postgres' | 'postgresql';
  connection: string | Record<string, unknown>;
  /** Largest number of pooled connections (default 10). */
  poolMax?: number;
}

/** The npm package that drives PostgreSQL (knex's `pg` client). */
const POSTGRES_DRIVER = 'pg';

export const postgresModule: DialectModule = {
  name: 'postgres',
  clients: ['pg', 'postgres', 'postgresql'],
  optionKeys: ['client', 'connection', 'poolMax'],
  driver: POSTGRES_DRIVER,
  open: openPostgres,
};

/** Collations `ilike` may fold under, best first (see PostgresServerInfo.ilikeCollation). */
const ILIKE_COLLATIONS = ['und-x-icu', 'C.utf8', 'C.UTF-8', 'en_US.utf8'];

/**
 * What open() reads of the server. `cluster`: the system identifier initdb gave the
 * cluster (pg_control_system(), executable by every role unless a DBA revoked it), the
 * same whatever route reaches the server; `host`: the server's address on this
 * connection's route (NULL over a Unix socket); `port`: the port the server listens on.
 */
interface ProbeRow {
  readonly db: string;
  readonly schema: string | null;
  readonly cluster: string | null;
  readonly host: string | null;
  readonly port: string;
  readonly ilike: string | null;
}

async function openPostgres(config: Readonly<Record<string, unknown>>): Promise<Database> {
  const { connection, poolMax = 10 } = config;
  if (
    typeof connection !== 'string' &&
    (typeof connection !== 'object' || connection === null || Array.isArray(connection))
  )
    throw new ValidationError('postgres: `connection` must be a URL string or an options object');
  if (!Number.isSafeInteger(poolMax) || (poolMax as number) < 1)
    throw new ValidationError('postgres: `poolMax` must be a positive integer');
  assertDriverInstalled(POSTGRES_DRIVER, 'postgres');
  // pg's own parsers, for the types proxorm leaves to it: those of the pg knex loaded.
  const driver: { types?: TypeParsers } = {};
  const types = poolTypeParsers(() => driver.types!);
  const knex = knexFactory(
    postgresKnexConfig(connection as string | Record<string, unknown>, poolMax as number, types),
  );
  driver.types = (knex.client as { driver: { types: TypeParsers } }).driver.types;
  let info: PostgresServerInfo = { ilikeCollation: undefined };
  let identity = '';
  // Until the server answers, errors are translated by a dialect of defaults.
  await probe(knex, postgresDialect(info), async () => {
    const { rows } = await knex.raw<{ rows: ProbeRow[] }>(
      `SELECT current_database() AS db, current_schema() AS schema, host(inet_server_addr()) AS host,
         pg_catalog.current_setting('port') AS port,
         CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
           THEN (SELECT system_identifier::text FROM pg_catalog.pg_control_system()) END AS cluster,
         (SELECT collname FROM pg_catalog.pg_collation WHERE collname = ANY(?)
          AND collencoding IN (-1, pg_catalog.pg_char_to_encoding(pg_catalog.getdatabaseencoding()))
          ORDER BY array_position(?, collname::text) LIMIT 1) AS ilike`,
      [ILIKE_COLLATIONS, ILIKE_COLLATIONS],
    );
    const r = rows[0];
    if (r.schema === null) {
      throw new ConnectionError(
        'postgres: the connection has no current schema (its search_path names no schema that exists)',
        undefined,
        undefined,
        undefined,
      );
    }
    info = { ilikeCollation: r.ilike ?? undefined };
    identity = postgresIdentity(r);
  });
  return { knex, dialect: postgresDialect(info), maxConnections: poolMax as number, identity };
}

/**
 * The database's identity (Database.identity): its cluster's system identifier and port,
 * the database and the schema, so that every route to it (TCP by any address, a Unix
 * socket) names it alike, and databases of two servers reached over their own machines'
 * sockets do not meet. (Two clusters cloned from one physical backup keep one system
 * identifier: on one port too they would share a name.) Without the identifier, the
 * server's address as this route reaches it.
 */
function postgresIdentity(r: ProbeRow): string {
  const server = r.cluster !== null ? ['cluster', r.cluster] : ['address', r.host ?? 'local'];
  return `postgres:${JSON.stringify([...server, Number(r.port), r.db, r.schema])}`;
}

/** pg settings from a URL or an options object; proxorm's own (the type parsers) win. */
export function postgresKnexConfig(
  connection: string | Record<string, unknown>,
  poolMax: number,
  types: TypeParsers,
): Knex.Config {
  const base = typeof connection === 'string' ? { connectionString: checkedUrl(connection) } : { ...connection };
  return {
    client: postgresModule.driver,
    connection: { ...base, types },
    pool: {
      min: 0,
      max: poolMax,
      afterCreate: (connection: PgConnection, done: (err: Error | null, connection: unknown) => void) =>
        applySessionSettings(connection, (err) => (err ? done(err, connection) : disposeWhenLost(connection, done))),
    },
    acquireConnectionTimeout: 10_000,
    // Error messages carry the statement with placeholders, not with the values bound.
    compileSqlOnError: false,
  };
}

/** The URL, when it is one of PostgreSQL's; the error never quotes it (it may hold a password). */
function checkedUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError(
      'cannot parse PostgreSQL connection URL (expected postgres://user:password@host:port/database)',
    );
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    throw new ValidationError(`unsupported URL scheme "${u.protocol}" (use postgres://)`);
  return url;
}

/** What disposeWhenLost sees of a pg client: its query method, and knex's mark. */
interface PgConnection {
  query(...args: unknown[]): unknown;
  __knex__disposed?: unknown;
}

/**
 * A connection whose statement failed because its session ended (the server or
 * pg_terminate_backend ended it: SQLSTATE 57P01-57P03 or class 08; or pg's own error or a
 * socket's, the connection gone) is marked for knex to destroy as soon as the failure is
 * reported, not when its 'end' event comes: a statement sent in between would be given
 * the dead connection by the pool.
 */
function disposeWhenLost(connection: PgConnection, done: (err: Error | null, connection: unknown) => void): void {
  const query = connection.query.bind(connection);
  connection.query = (...args: unknown[]) => {
    const callback = args[args.length - 1];
    if (typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        if (err !== null && err !== undefined && sessionLost(err)) connection.__knex__disposed ??= err;
        (callback as (err: unknown, result: unknown) => void)(err, result);
      };
    }
    return query(...args);
  };
  done(null, connection);
}

function sessionLost(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return true;
  return /^(08|57P0)/.test(code) || /^E[A-Z]+$/.test(code);
}
