import { Environment, type CacheOptions, type EnvironmentConfig, type ModelClass } from '../../lib';
import { isSelected } from './selected-databases';

/**
 * Runs a suite once on embedded SQLite, once on MariaDB and once on PostgreSQL. The
 * MariaDB half needs PROXORM_MYSQL_URL, which the jest global setup sets after starting
 * the throwaway server (scripts/mariadb.sh); the PostgreSQL half needs PROXORM_PG_URL (a
 * database of its own: its tables are dropped). Without its URL a half is not run and
 * says so (see announceSkipped), unless REQUIRE_MYSQL=1 / REQUIRE_PG=1, where its
 * absence fails the run.
 */
export interface OpenOptions {
  prefetch?: boolean;
  /** The Environment's models (Environment.open's `models`; default: every registered model). */
  models?: readonly ModelClass<unknown>[];
  /** Environment.open's `cache` (size cap, TTL). */
  cache?: CacheOptions;
}

export interface TestDatabase {
  readonly name: 'sqlite' | 'mariadb' | 'postgres';
  /** A new Environment on empty tables for its models (the root of its pool). */
  open(options?: OpenOptions): Promise<Environment>;
  /**
   * The same on a second database, separate from the first (SQLite: another in-memory
   * database; MariaDB and PostgreSQL: the test database's name + "_2", created if missing).
   */
  openSecond(options?: OpenOptions): Promise<Environment>;
  /** Config to open another pool on the same database (SQLite: a file, so two pools see one database). */
  readonly config: EnvironmentConfig;
}

/** The servers the halves other than SQLite's run on. */
const SERVERS = {
  mariadb: {
    url: process.env.PROXORM_MYSQL_URL,
    required: 'REQUIRE_MYSQL',
    product: 'MariaDB',
    env: 'PROXORM_MYSQL_URL',
  },
  postgres: { url: process.env.PROXORM_PG_URL, required: 'REQUIRE_PG', product: 'PostgreSQL', env: 'PROXORM_PG_URL' },
} as const;

export function describeEachDatabase(title: string, suite: (db: TestDatabase) => void): void {
  describeOnBoth(title, { sqlite, mariadb, postgres }, suite);
}

/**
 * Runs `suite` on SQLite and, as describeEachDatabase says, on MariaDB and PostgreSQL,
 * with the database handle each of `make` gives (the test databases, or a fixture's copies).
 */
export function describeOnBoth<D>(
  title: string,
  make: { sqlite: () => D; mariadb: (url: string) => D; postgres: (url: string) => D },
  suite: (db: D) => void,
): void {
  // A database left out of PROXORM_TEST_DATABASES is neither tested nor required (selected-databases.ts).
  if (isSelected('sqlite')) describe(`${title} [sqlite]`, () => suite(make.sqlite()));
  for (const half of ['mariadb', 'postgres'] as const) {
    if (!isSelected(half)) continue;
    const server = SERVERS[half];
    const url = server.url;
    if (url) {
      describe(`${title} [${half}]`, () => suite(make[half](url)));
    } else if (process.env[server.required] === '1') {
      describe(`${title} [${half}]`, () => {
        it(`needs ${server.product} (${server.required}=1) but ${server.env} is not set`, () => {
          throw new Error(`${server.product} required but not available`);
        });
      });
    } else {
      announceSkipped(`${title} [${half}]`, half);
    }
  }
}

/**
 * Without a server (and without its REQUIRE_ variable) its half is not registered at all,
 * and said loudly here, besides the banner of the global setup: no test stands skipped.
 */
export function announceSkipped(title: string, half: 'mariadb' | 'postgres' = 'mariadb'): void {
  const how =
    half === 'mariadb'
      ? 'run "bash scripts/mariadb.sh install"'
      : 'set PROXORM_PG_URL=postgres://user@host:port/database, a database of its own';
  console.warn(`!!! NOT RUN: ${title}: ${SERVERS[half].product} is not available (${how})`);
}

function sqlite(): TestDatabase {
  return {
    name: 'sqlite',
    config: {},
    async open(options = {}) {
      const env = await Environment.open({ prefetch: options.prefetch, models: options.models, cache: options.cache });
      await env.sync();
      return env;
    },
    openSecond(options = {}) {
      return this.open(options); // every in-memory database is a database of its own
    },
  };
}

function mariadb(url: string): TestDatabase {
  const config: EnvironmentConfig = { client: 'mysql2', connection: url };
  return {
    name: 'mariadb',
    config,
    open: (options = {}) => openEmpty(config, options),
    async openSecond(options = {}) {
      const second = new URL(url);
      const name = `${decodeURIComponent(second.pathname.slice(1))}_2`;
      second.pathname = `/${encodeURIComponent(name)}`;
      const first = await Environment.open({ ...config, models: [] });
      try {
        await first.knex.raw('CREATE DATABASE IF NOT EXISTS ??', [name]);
      } finally {
        await first.close();
      }
      return openEmpty({ client: 'mysql2', connection: second.toString() }, options);
    },
  };
}

function postgres(url: string): TestDatabase {
  const config: EnvironmentConfig = { client: 'pg', connection: url };
  return {
    name: 'postgres',
    config,
    open: (options = {}) => openEmpty(config, options),
    async openSecond(options = {}) {
      const second = new URL(url);
      const name = `${decodeURIComponent(second.pathname.slice(1))}_2`;
      second.pathname = `/${encodeURIComponent(name)}`;
      const first = await Environment.open({ ...config, models: [] });
      try {
        const { rows } = await first.knex.raw('SELECT count(*)::int AS n FROM pg_database WHERE datname = ?', [name]);
        // CREATE DATABASE has no IF NOT EXISTS; a concurrent creation is the one we wanted.
        if (rows[0].n === 0) await first.knex.raw('CREATE DATABASE ??', [name]).catch(() => undefined);
      } finally {
        await first.close();
      }
      return openEmpty({ client: 'pg', connection: second.toString() }, options);
    },
  };
}

/** Opens `config`'s database, drops every table, and syncs the Environment's models. */
async function openEmpty(config: EnvironmentConfig, options: OpenOptions): Promise<Environment> {
  const env = await Environment.open({
    ...config,
    prefetch: options.prefetch,
    models: options.models,
    cache: options.cache,
  });
  await dropAllTables(env);
  await env.sync();
  return env;
}

/** Drops every table (and view) of the test database, so each test starts from the registry alone. */
export async function dropAllTables(env: Environment): Promise<void> {
  if (env.dialect === 'postgres') {
    const { rows } = await env.knex.raw(
      `SELECT c.relname AS t, c.relkind AS kind FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
       WHERE s.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p')`,
    );
    const views = rows.filter((r: { kind: string }) => r.kind === 'v' || r.kind === 'm');
    const tables = rows.filter((r: { kind: string }) => r.kind === 'r' || r.kind === 'p');
    // CASCADE: the foreign keys of other tables, and views, go with them.
    for (const v of views)
      await env.knex.raw(`DROP ${v.kind === 'm' ? 'MATERIALIZED VIEW' : 'VIEW'} IF EXISTS ?? CASCADE`, [v.t]);
    if (tables.length > 0)
      await env.knex.raw(
        `DROP TABLE IF EXISTS ${tables.map(() => '??').join(', ')} CASCADE`,
        tables.map((t: { t: string }) => t.t),
      );
    return;
  }
  const [rows] = (await env.knex.raw(
    'SELECT table_name AS t, table_type AS type FROM information_schema.tables WHERE table_schema = DATABASE()',
  )) as [Array<{ t: string; type: string }>];
  if (rows.length === 0) return;
  // One connection (a transaction pins it), so the session setting applies to the drops.
  await env.knex.transaction(async (trx) => {
    await trx.raw('SET FOREIGN_KEY_CHECKS = 0');
    for (const { t, type } of rows) await trx.raw(type === 'VIEW' ? 'DROP VIEW ??' : 'DROP TABLE ??', [t]); // readonly models' views
    await trx.raw('SET FOREIGN_KEY_CHECKS = 1');
  });
}

/** Statements sent by `env` while running `fn`. */
export async function countQueries(env: Environment, fn: () => Promise<unknown>): Promise<number> {
  const before = env.stats.queries;
  await fn();
  return env.stats.queries - before;
}

/**
 * Rows of a raw statement through `env.knex` (better-sqlite3 gives the rows, mysql2
 * [rows, fields], pg a Result), for tests that look at the database behind proxorm.
 */
export async function rawRows<T = Record<string, unknown>>(
  env: Environment,
  sql: string,
  bindings: readonly unknown[] = [],
): Promise<T[]> {
  const result: unknown = await env.knex.raw(sql, bindings as never);
  if (env.dialect === 'postgres') return (result as { rows: T[] }).rows;
  return (env.dialect === 'mysql' ? (result as [T[]])[0] : result) as T[];
}

/** The names of the tables of the test database (of its current schema on PostgreSQL). */
export async function tableNames(env: Environment): Promise<string[]> {
  const sql = {
    sqlite: "SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    mysql:
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
    postgres:
      "SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
  }[env.dialect];
  return (await rawRows<{ t: string }>(env, sql)).map((r) => r.t);
}

/**
 * A PostgreSQL collation that compares without case (ICU, nondeterministic), as a table
 * made by another program may have on its text columns; created once per database.
 */
export async function postgresCaseless(env: Environment): Promise<string> {
  await env.knex.raw(
    "CREATE COLLATION IF NOT EXISTS proxorm_test_caseless (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
  );
  return 'proxorm_test_caseless';
}

/**
 * Raw SQL whose names are written unquoted in mixed case (Artist, AlbumId), as PostgreSQL
 * reads them only when quoted (it folds unquoted names to lower case): the mixed-case
 * words outside string literals quoted. All-capital words are SQL's; all-lower-case names
 * need no quotes.
 */
export function quoteMixedCase(sql: string): string {
  return sql
    .split(/('[^']*')/)
    .map((part, i) =>
      i % 2
        ? part
        : part.replace(/\b[A-Za-z_][A-Za-z0-9_]*\b/g, (w) => (/[a-z]/.test(w) && /[A-Z]/.test(w) ? `"${w}"` : w)),
    )
    .join('');
}
