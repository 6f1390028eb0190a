import { Environment, type CacheOptions, type EnvironmentConfig, type ModelClass } from '../../lib';

/**
 * Runs a suite once on embedded SQLite and once on MariaDB. The MariaDB half needs
 * PROXORM_MYSQL_URL, which the jest global setup sets after starting the throwaway
 * server (scripts/mariadb.sh); without it the half is not run and says so (see
 * announceSkipped), unless REQUIRE_MYSQL=1, where its absence fails the run.
 */
export interface OpenOptions {
  prefetch?: boolean;
  /** The Environment's models (Environment.open's `models`; default: every registered model). */
  models?: readonly ModelClass<unknown>[];
  /** Environment.open's `cache` (size cap, TTL). */
  cache?: CacheOptions;
}

export interface TestDatabase {
  readonly name: 'sqlite' | 'mariadb';
  /** A new Environment on empty tables for its models (the root of its pool). */
  open(options?: OpenOptions): Promise<Environment>;
  /**
   * The same on a second database, separate from the first (SQLite: another in-memory
   * database; MariaDB: the test database's name + "_2", created if missing).
   */
  openSecond(options?: OpenOptions): Promise<Environment>;
  /** Config to open another pool on the same database (SQLite: a file, so two pools see one database). */
  readonly config: EnvironmentConfig;
}

const mysqlUrl = process.env.PROXORM_MYSQL_URL;

export function describeEachDatabase(title: string, suite: (db: TestDatabase) => void): void {
  describeOnBoth(title, { sqlite, mariadb }, suite);
}

/**
 * Runs `suite` on SQLite and, as describeEachDatabase says, on MariaDB, with the
 * database handle each of `make` gives (the test databases, or a fixture's copies).
 */
export function describeOnBoth<D>(
  title: string,
  make: { sqlite: () => D; mariadb: (url: string) => D },
  suite: (db: D) => void,
): void {
  describe(`${title} [sqlite]`, () => suite(make.sqlite()));
  if (mysqlUrl) {
    describe(`${title} [mariadb]`, () => suite(make.mariadb(mysqlUrl)));
  } else if (process.env.REQUIRE_MYSQL === '1') {
    describe(`${title} [mariadb]`, () => {
      it('needs MariaDB (REQUIRE_MYSQL=1) but PROXORM_MYSQL_URL is not set', () => {
        throw new Error('MariaDB required but not available');
      });
    });
  } else {
    announceSkipped(`${title} [mariadb]`);
  }
}

/**
 * Without MariaDB (and without REQUIRE_MYSQL) its half is not registered at all, and
 * said loudly here, besides the banner of the global setup: no test stands skipped.
 */
export function announceSkipped(title: string): void {
  console.warn(`!!! NOT RUN: ${title}: MariaDB is not available (run "bash scripts/mariadb.sh install")`);
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

/** Drops every table of the test database, so each test starts from the registry alone. */
async function dropAllTables(env: Environment): Promise<void> {
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
