import type { Knex } from 'knex';
import { ValidationError } from '../../../errors';

/** The npm package that drives MySQL/MariaDB (an optional peer dependency), and knex's client name. */
export const MYSQL_DRIVER = 'mysql2';

/** mysql2 connection settings from a URL or an object; proxorm's required options win. */
export function mysqlKnexConfig(connection: string | Record<string, unknown>, poolMax: number): Knex.Config {
  const base = typeof connection === 'string' ? parseMysqlUrl(connection) : { ...connection };
  return {
    client: MYSQL_DRIVER,
    connection: {
      ...base,
      dateStrings: true,
      timezone: 'Z',
      charset: 'utf8mb4',
      supportBigNumbers: true,
      bigNumberStrings: false,
    },
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 10_000,
    // Error messages carry the statement with placeholders, not with the values bound.
    compileSqlOnError: false,
  };
}

function parseMysqlUrl(url: string): Record<string, unknown> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ValidationError(`cannot parse MySQL connection URL (expected mysql://user:password@host:port/database)`);
  }
  if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:')
    throw new ValidationError(`unsupported URL scheme "${u.protocol}" (use mysql://)`);
  const out: Record<string, unknown> = {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.replace(/^\//, '')),
  };
  for (const [k, v] of u.searchParams) out[k] = /^\d+$/.test(v) ? Number(v) : v;
  return out;
}
