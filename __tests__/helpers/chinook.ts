import { Environment, type EnvironmentConfig } from '../../lib';
import {
  copyChinookSqlite,
  dropChinookMysql,
  dropChinookPostgres,
  loadChinookMysql,
  loadChinookPostgres,
} from '../../examples/chinook/database';
import { CHINOOK_MODELS } from '../../examples/chinook/models';
import { describeOnBoth, quoteMixedCase } from './databases';

/**
 * Runs a suite on a fresh Chinook database, once on SQLite (a copy of the shipped file),
 * once on MariaDB (the shipped MySQL script loaded into `<test database>_chinook` on
 * the server of PROXORM_MYSQL_URL: 0.5 to 3 s, so tests that only read share one load)
 * and once on PostgreSQL (the same script as PostgreSQL runs it, into
 * `<test database>_chinook` on the server of PROXORM_PG_URL).
 * Nothing a test writes is seen by the next one. `open()` gives an Environment on that
 * copy, not synced: the test says when to sync, so it can look at the schema first.
 */
export interface ChinookDatabase {
  readonly name: 'sqlite' | 'mariadb' | 'postgres';
  /** Config of the current copy (another pool on the same database). */
  readonly config: EnvironmentConfig;
  /**
   * A new Environment on the suite's copy, serving the Chinook models. `writes: true`
   * when the test writes (or syncs): the next test then gets a new copy.
   */
  open(options?: { prefetch?: boolean; writes?: boolean }): Promise<Environment>;
  /**
   * Rows of a raw statement on the current copy, through a pool of its own (not counted).
   * Names are written unquoted, as Chinook's (quoted on PostgreSQL: quoteMixedCase).
   */
  rows<T = Record<string, unknown>>(sql: string, bindings?: readonly SqlValue[]): Promise<T[]>;
  /** The whole schema as text: what must not change when proxorm maps the database. */
  schemaDump(): Promise<string>;
}

/** What a raw statement binds: plain values (and `??` identifiers as strings). */
type SqlValue = string | number | null;

export function describeEachChinook(title: string, suite: (db: ChinookDatabase) => void): void {
  describeOnBoth(
    title,
    {
      sqlite: () => lifecycle('sqlite', sqliteCopy),
      mariadb: (url) => lifecycle('mariadb', () => mariadbCopy(url)),
      postgres: (url) => lifecycle('postgres', () => postgresCopy(url)),
    },
    suite,
  );
}

/** One test's copy: its config, and how to throw it away. */
interface Copy {
  readonly config: EnvironmentConfig;
  remove(): Promise<void>;
}

async function sqliteCopy(): Promise<Copy> {
  const copy = copyChinookSqlite();
  return { config: { filename: copy.filename }, remove: async () => copy.remove() };
}

async function mariadbCopy(serverUrl: string): Promise<Copy> {
  const database = `${new URL(serverUrl).pathname.slice(1)}_chinook`;
  const url = await loadChinookMysql(serverUrl, database);
  return { config: { client: 'mysql2', connection: url }, remove: () => dropChinookMysql(serverUrl, database) };
}

async function postgresCopy(serverUrl: string): Promise<Copy> {
  const database = `${new URL(serverUrl).pathname.slice(1)}_chinook`;
  const url = await loadChinookPostgres(serverUrl, database);
  return { config: { client: 'pg', connection: url }, remove: () => dropChinookPostgres(serverUrl, database) };
}

/**
 * Makes a copy before the first test of the suite and keeps it while tests only read; a
 * test that may write (`open({ writes: true })`) gets a new copy after it. Every
 * Environment a test opened is closed after it.
 */
function lifecycle(name: ChinookDatabase['name'], make: () => Promise<Copy>): ChinookDatabase {
  let copy: Copy | undefined;
  let raw: Environment | undefined;
  let dirty = false;
  const opened: Environment[] = [];
  const current = (): Copy => {
    if (!copy) throw new Error('no Chinook copy: use the database inside a test');
    return copy;
  };
  const rawEnv = async (): Promise<Environment> => {
    raw ??= await Environment.open(current().config);
    return raw;
  };
  const drop = async (): Promise<void> => {
    if (raw) await raw.close();
    raw = undefined;
    await copy?.remove();
    copy = undefined;
  };

  beforeAll(async () => {
    copy = await make();
  });
  afterEach(async () => {
    for (const env of opened.splice(0)) await env.close();
    if (!dirty) return;
    dirty = false;
    await drop();
    copy = await make();
  });
  afterAll(drop);

  const db: ChinookDatabase = {
    name,
    get config() {
      return current().config;
    },
    async open(options = {}) {
      if (options.writes) dirty = true;
      const env = await Environment.open({ ...current().config, models: CHINOOK_MODELS, prefetch: options.prefetch });
      opened.push(env);
      return env;
    },
    async rows<T>(sql: string, bindings: readonly SqlValue[] = []) {
      // Chinook's names are mixed case: PostgreSQL reads them quoted.
      const text = name === 'postgres' ? quoteMixedCase(sql) : sql;
      const result: unknown = await (await rawEnv()).knex.raw(text, [...bindings]);
      // better-sqlite3 gives the rows; mysql2 gives [rows, fields]; pg a Result.
      if (name === 'postgres') return (result as { rows: T[] }).rows;
      return (name === 'mariadb' ? (result as [T[]])[0] : result) as T[];
    },
    async schemaDump() {
      if (name === 'sqlite') {
        const master = await db.rows<{ type: string; name: string; tbl_name: string; sql: string | null }>(
          'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name',
        );
        const [{ schema_version: version }] = await db.rows<{ schema_version: number }>('PRAGMA schema_version');
        return [
          `schema_version ${version}`,
          ...master.map((m) => `${m.type} ${m.name} on ${m.tbl_name}:\n${m.sql ?? '(automatic)'}`),
        ].join('\n');
      }
      if (name === 'postgres') {
        // Columns (types, defaults, collations), indexes and constraints, in a stable order.
        const columns = await db.rows<Record<string, unknown>>(
          `SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, numeric_precision,
             numeric_scale, is_nullable, column_default, collation_name, is_identity
           FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
        );
        const indexes = await db.rows<Record<string, unknown>>(
          'SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY tablename, indexname',
        );
        const constraints = await db.rows<Record<string, unknown>>(
          `SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def
           FROM pg_constraint c JOIN pg_namespace s ON s.oid = c.connamespace
           WHERE s.nspname = current_schema() ORDER BY 1, 2`,
        );
        return [...columns, ...indexes, ...constraints].map((r) => JSON.stringify(r)).join('\n');
      }
      const tables = await db.rows<{ name: string; type: string }>(
        'SELECT table_name AS name, table_type AS type FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name',
      );
      const out: string[] = [];
      for (const t of tables) {
        const [row] = await db.rows<Record<string, string>>('SHOW CREATE TABLE ??', [t.name]);
        out.push(`${t.type} ${t.name}:\n${row['Create Table'] ?? row['Create View']}`);
      }
      return out.join('\n');
    },
  };
  return db;
}
