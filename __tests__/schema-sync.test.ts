import 'reflect-metadata';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory from 'knex';
import type { Environment, EnvironmentConfig, SyncReport } from '../lib';
import { constraintName } from '../lib/db/names';
import type { ModelSet } from '../lib/model/model-set';
import { MAX_DECLARED_NAME_LENGTH, MAX_NAME_LENGTH } from '../lib/model/schema';
import { CRASH_EXIT_CODE, type ChildArgs } from './fixtures/sync-child';
import { SYNC_MODEL_TABLES, declareSyncModels } from './fixtures/sync-models';
import { describeEachDatabase, dropAllTables, rawRows, type TestDatabase } from './helpers/databases';

/**
 * sync() is safe: derived names fit every database, existing constraints are recognised
 * by their columns, a run completes what an interrupted one left, concurrent runs of
 * several processes serialize, existing columns are never altered, and relation-table
 * clashes or bad names are SchemaErrors before any SQL.
 *
 * Each test declares its models in a copy of the library of its own (freshLib), so a
 * sync() syncs only them, and a model refused on purpose does not break other tests.
 * Model tables are named ssy_*. Constraints are checked by querying the database.
 */

type Lib = typeof import('../lib');

function freshLib(): Lib {
  let lib!: Lib;
  jest.isolateModules(() => {
    lib = require('../lib') as Lib;
  });
  return lib;
}

const EMPTY: SyncReport = { createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] };
const ROOT = path.resolve(__dirname, '..');
const CHILD = path.join(__dirname, 'fixtures', 'sync-child.ts');

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

const tmpDirs: string[] = [];
function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'proxorm-sync-'));
  tmpDirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of tmpDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

// ---- the database, as the database reports it ---------------------------------------------

interface FoundIndex {
  readonly name: string;
  readonly columns: string[];
  readonly unique: boolean;
}
interface FoundKey {
  /** SQLite reports no names: taken from the CREATE TABLE text (null if unnamed). */
  readonly name: string | null;
  readonly columns: string[];
  readonly target: string;
  readonly onDelete: string;
}
interface Found {
  readonly indexes: FoundIndex[];
  readonly foreignKeys: FoundKey[];
}

async function inspect(env: Environment, table: string): Promise<Found> {
  if (env.dialect === 'postgres') return inspectPostgres(env, table);
  return env.dialect === 'sqlite' ? inspectSqlite(env, table) : inspectMysql(env, table);
}

/** PostgreSQL's catalog: indexes but the primary key's (the engine's own, as MySQL's PRIMARY), foreign keys. */
async function inspectPostgres(env: Environment, table: string): Promise<Found> {
  const indexes = await rawRows<{ name: string; columns: string[]; unique: boolean }>(
    env,
    `SELECT c.relname AS name, i.indisunique AS unique,
       ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, pos)
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.pos) AS columns
     FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
     WHERE i.indrelid = (SELECT t.oid FROM pg_class t JOIN pg_namespace s ON s.oid = t.relnamespace
                          WHERE s.nspname = current_schema() AND t.relname = ?) AND NOT i.indisprimary
     ORDER BY c.relname`,
    [table],
  );
  const keys = await rawRows<{ name: string; columns: string[]; target: string; rule: string }>(
    env,
    `SELECT k.conname AS name, t.relname AS target, k.confdeltype AS rule,
       ARRAY(SELECT a.attname::text FROM unnest(k.conkey) WITH ORDINALITY c(n, pos)
             JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = c.n ORDER BY c.pos) AS columns
     FROM pg_constraint k JOIN pg_class t ON t.oid = k.confrelid
     WHERE k.contype = 'f' AND k.conrelid = (SELECT t.oid FROM pg_class t JOIN pg_namespace s ON s.oid = t.relnamespace
                                             WHERE s.nspname = current_schema() AND t.relname = ?)
     ORDER BY k.conname`,
    [table],
  );
  const rules: Record<string, string> = {
    a: 'NO ACTION',
    r: 'RESTRICT',
    c: 'CASCADE',
    n: 'SET NULL',
    d: 'SET DEFAULT',
  };
  return {
    indexes,
    foreignKeys: keys.map((k) => ({ name: k.name, columns: k.columns, target: k.target, onDelete: rules[k.rule] })),
  };
}

async function inspectSqlite(env: Environment, table: string): Promise<Found> {
  const list = await env.knex.raw<Array<{ name: string; u: number }>>(
    'SELECT name, "unique" AS u FROM pragma_index_list(?)',
    [table],
  );
  const indexes: FoundIndex[] = [];
  for (const index of list) {
    const cols = await env.knex.raw<Array<{ name: string }>>('SELECT name FROM pragma_index_info(?) ORDER BY seqno', [
      index.name,
    ]);
    indexes.push({ name: index.name, columns: cols.map((c) => c.name), unique: index.u === 1 });
  }
  const rows = await env.knex.raw<Array<{ id: number; col: string; target: string; onDelete: string }>>(
    'SELECT id, "from" AS col, "table" AS target, on_delete AS onDelete FROM pragma_foreign_key_list(?) ORDER BY id, seq',
    [table],
  );
  const [{ sql }] = await env.knex.raw<Array<{ sql: string }>>(
    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
    [table],
  );
  const names = new Map<string, string>();
  for (const m of sql.matchAll(/constraint\s+[`"]([^`"]+)[`"]\s+foreign\s+key\s*\(\s*[`"]([^`"]+)[`"]/gi))
    names.set(m[2], m[1]);
  const byId = new Map<number, FoundKey>();
  for (const r of rows) {
    const key = byId.get(r.id) ?? {
      name: names.get(r.col) ?? null,
      columns: [],
      target: r.target,
      onDelete: r.onDelete,
    };
    key.columns.push(r.col);
    byId.set(r.id, key);
  }
  return { indexes, foreignKeys: [...byId.values()] };
}

async function inspectMysql(env: Environment, table: string): Promise<Found> {
  const [stats] = (await env.knex.raw(
    `SELECT INDEX_NAME AS name, COLUMN_NAME AS col, NON_UNIQUE AS nonUnique FROM information_schema.STATISTICS
     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX`,
    [table],
  )) as [Array<{ name: string; col: string; nonUnique: number }>];
  const indexes = new Map<string, FoundIndex>();
  for (const r of stats) {
    const index = indexes.get(r.name) ?? { name: r.name, columns: [], unique: Number(r.nonUnique) === 0 };
    index.columns.push(r.col);
    indexes.set(r.name, index);
  }
  const [keys] = (await env.knex.raw(
    `SELECT k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS col, k.REFERENCED_TABLE_NAME AS target, r.DELETE_RULE AS onDelete
     FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
     WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
    [table],
  )) as [Array<{ name: string; col: string; target: string; onDelete: string }>];
  const fks = new Map<string, FoundKey>();
  for (const r of keys) {
    const key = fks.get(r.name) ?? { name: r.name, columns: [], target: r.target, onDelete: r.onDelete };
    key.columns.push(r.col);
    fks.set(r.name, key);
  }
  return { indexes: [...indexes.values()], foreignKeys: [...fks.values()] };
}

/** Names proxorm chose (not the engine's own: MySQL's PRIMARY, SQLite's autoindexes). */
function chosenNames(found: Found): string[] {
  return [...found.indexes.map((i) => i.name), ...found.foreignKeys.map((k) => k.name ?? '')].filter(
    (n) => n !== 'PRIMARY' && !n.startsWith('sqlite_autoindex_'),
  );
}

function indexOn(found: Found, column: string): FoundIndex[] {
  return found.indexes.filter((i) => i.columns.length === 1 && i.columns[0] === column);
}

// ---- databases and child processes ------------------------------------------------------

/**
 * An empty database that several Environments (or processes) can open: a SQLite file in a
 * new directory, or the MariaDB / PostgreSQL test database with every table dropped.
 */
async function emptyDatabase(db: TestDatabase): Promise<EnvironmentConfig> {
  if (db.name === 'sqlite') return { filename: path.join(tmpDir(), 'sync.db') };
  const env = await freshLib().Environment.open(db.config);
  try {
    await dropAllTables(env);
  } finally {
    await env.close();
  }
  return db.config;
}

interface ChildOutput {
  readonly ok: boolean;
  readonly report?: SyncReport;
  readonly tables?: Record<string, boolean>;
  readonly error?: string;
  readonly message?: string;
}
interface ChildResult {
  readonly code: number | null;
  /** The JSON line it printed after sync(), if it got there. */
  readonly output: ChildOutput | undefined;
  readonly stderr: string;
}
interface Child {
  /** Resolves once the child has opened the database and waits to start. */
  readonly ready: Promise<void>;
  /** Lets a "race" child start its sync. */
  go(): void;
  readonly done: Promise<ChildResult>;
}

/** Runs __tests__/fixtures/sync-child.ts in a node process of its own. */
function startChild(args: ChildArgs): Child {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, JSON.stringify(args)], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (/^ready$/m.test(stdout)) markReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<ChildResult>((resolve) => {
    child.on('close', (code) => {
      markReady(); // a child that died before "ready" must not hold the others back
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      resolve({ code, output: line ? (JSON.parse(line) as ChildOutput) : undefined, stderr });
    });
  });
  return { ready, done, go: () => child.stdin.end('go\n') };
}

// ---- what a complete schema of the fixture models looks like ------------------------------

/** The constraints of sync-models.ts exist, and hold. */
async function expectCompleteFixtureSchema(lib: Lib, env: Environment): Promise<void> {
  const customer = await inspect(env, 'ssy_p_customer');
  expect(indexOn(customer, 'code')).toEqual([{ name: 'ssy_p_customer_code_unique', columns: ['code'], unique: true }]);
  const order = await inspect(env, 'ssy_p_order');
  expect(indexOn(order, 'customer_id')).toEqual([
    { name: 'ssy_p_order_customer_id_index', columns: ['customer_id'], unique: false },
  ]);
  expect(order.foreignKeys).toEqual([
    {
      name: 'ssy_p_order_customer_id_foreign',
      columns: ['customer_id'],
      target: 'ssy_p_customer',
      onDelete: 'CASCADE',
    },
  ]);
  const watchers = await inspect(env, 'ssy_p_watchers');
  expect(indexOn(watchers, 'ssy_p_customer_id')).toHaveLength(1);
  expect(watchers.foreignKeys.map((k) => [k.name, k.columns, k.target, k.onDelete]).sort()).toEqual([
    ['ssy_p_watchers_ssy_p_customer_id_foreign', ['ssy_p_customer_id'], 'ssy_p_customer', 'CASCADE'],
    ['ssy_p_watchers_ssy_p_order_id_foreign', ['ssy_p_order_id'], 'ssy_p_order', 'CASCADE'],
  ]);

  const { Customer, Order } = models(lib);
  const ann = await env.model(Customer).create({ name: 'Ann', code: 'A' });
  expect(await rejection(env.model(Customer).create({ name: 'Bob', code: 'A' }))).toBeInstanceOf(
    lib.UniqueViolationError,
  );
  expect(await rejection(env.model(Order).create({ ref: 'o1', customer: 999_999 }))).toBeInstanceOf(
    lib.ForeignKeyViolationError,
  );
  const order1 = await env.model(Order).create({ ref: 'o1', customer: ann.id, watchers: { set: [ann.id] } });
  await ann.unlink();
  expect(await env.fork().model(Order).browse(order1.id).exists()).toHaveLength(0); // ON DELETE CASCADE
  expect(await env.knex('ssy_p_watchers').count({ n: '*' })).toEqual([{ n: 0 }]);
}

const declared = new WeakMap<Lib, ReturnType<typeof declareSyncModels>>();
function models(lib: Lib): ReturnType<typeof declareSyncModels> {
  let m = declared.get(lib);
  if (!m) declared.set(lib, (m = declareSyncModels(lib)));
  return m;
}

// ======================================================================================

describe('derived names', () => {
  it('are knex defaults when they fit, so databases created before keep their names', () => {
    const ddl = (client: string) => {
      const knex = knexFactory({ client, useNullAsDefault: true });
      const sql = knex.schema
        .createTable('sch_opts_table', (t) => {
          t.string('code').unique();
          t.integer('city_id').index();
          t.foreign('city_id').references('id').inTable('ssy_city');
        })
        .toString();
      void knex.destroy();
      return sql;
    };
    for (const [client, q] of [
      ['better-sqlite3', '`'],
      ['mysql2', '`'],
      ['pg', '"'],
    ]) {
      const sql = ddl(client);
      expect(sql).toContain(`${q}${constraintName('sch_opts_table', ['code'], 'unique')}${q}`);
      expect(sql).toContain(`${q}${constraintName('sch_opts_table', ['city_id'], 'index')}${q}`);
    }
    // SQLite's foreign keys were unnamed (declared in CREATE TABLE): recognised by columns.
    expect(ddl('mysql2')).toContain(`\`${constraintName('sch_opts_table', ['city_id'], 'foreign')}\``);
    expect(ddl('pg')).toContain(`"${constraintName('sch_opts_table', ['city_id'], 'foreign')}"`);
    expect(constraintName('sch_opts_table', ['code'], 'unique')).toBe('sch_opts_table_code_unique');
    expect(constraintName('Sch_Opts', ['Code'], 'index')).toBe('sch_opts_code_index'); // lower-cased, as knex does
  });

  it('longer than 63 characters: a prefix and a stable hash of what they name', () => {
    const table = 'ssy_accounts_of_customers_with_a_rather_long_table_name';
    const name = constraintName(table, ['email_address_of_the_account_holder'], 'unique');
    expect(name).toHaveLength(MAX_NAME_LENGTH);
    expect(MAX_NAME_LENGTH).toBe(63);
    // A literal: the name must not change between versions, processes or dialects.
    expect(name).toBe('ssy_accounts_of_customers_with_a_rather_long_table_n_c1ae99a3a5');
    expect(constraintName(table, ['email_address_of_the_account_holder'], 'index')).not.toBe(name);
    // Names that read the same but stand for different constraints differ.
    const long = 'x'.repeat(40);
    expect(constraintName(`${long}_a`, [`b_${long}`], 'index')).not.toBe(
      constraintName(long, [`a_b_${long}`], 'index'),
    );
  });

  it('distinct: the hashed form even when the default fits (for two constraints the default would name alike)', () => {
    expect(constraintName('ssy_c_a_b', ['c_id'], 'index')).toBe(constraintName('ssy_c_a', ['b_c_id'], 'index'));
    const one = constraintName('ssy_c_a_b', ['c_id'], 'index', true);
    const two = constraintName('ssy_c_a', ['b_c_id'], 'index', true);
    expect(one).not.toBe(two);
    expect(one.startsWith('ssy_c_a_b_c_id_index_')).toBe(true);
    expect(one.length).toBeLessThanOrEqual(MAX_NAME_LENGTH);
  });
});

describe('bad names are SchemaErrors at declaration (t22)', () => {
  it('a field named like any member of Object.prototype (a record is also an object)', () => {
    const lib = freshLib();
    for (const name of Object.getOwnPropertyNames(Object.prototype)) {
      class A extends lib.BaseModel {}
      Reflect.defineMetadata('design:type', String, A.prototype, name);
      lib.Field()(A.prototype, name);
      const define = () => lib.Model(`ssy_t22_${name.replace(/[^A-Za-z0-9]/g, 'u')}`)(A);
      expect({ name, error: errorName(define) }).toEqual({ name, error: 'SchemaError' });
      expect(define).toThrow(/is reserved/);
    }
  });

  it('model and table names that are not identifiers of at most 64 characters', () => {
    const lib = freshLib();
    for (const name of ['a.b', 'ü', 'x; drop table y', '', 'a'.repeat(65), 'a b', '1abc']) {
      const define = () => {
        @lib.Model(name)
        class X extends lib.BaseModel {
          @lib.Field() f!: string;
        }
        return X;
      };
      expect({ name, error: errorName(define) }).toEqual({ name, error: 'SchemaError' });
    }
  });
});

function errorName(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).name;
  }
  return 'accepted';
}

/** A name of `length` characters starting with `prefix`. */
const longName = (prefix: string, length = MAX_DECLARED_NAME_LENGTH) => prefix + 'x'.repeat(length - prefix.length);

/**
 * Models whose table, key column, column, many2one column, relation table and relation
 * columns each are 64 characters long (the longest a model may declare), in `lib`.
 */
function declareLongNames(lib: Lib) {
  @lib.Model({ name: 'ssy_id_tag', table: longName('ssy_id_tag_'), primaryKey: longName('tag_key_') })
  class Tag extends lib.BaseModel {
    @lib.Field({ column: longName('label_') }) label!: string;
  }
  @lib.Model({ name: 'ssy_id_post', table: longName('ssy_id_post_') })
  class Post extends lib.BaseModel {
    @lib.Field.many2one(() => Tag, { column: longName('main_tag_') }) main!: Tag | null;
    @lib.Field.many2many(() => Tag, {
      relation: longName('ssy_id_links_'),
      column1: longName('post_side_'),
      column2: longName('tag_side_'),
    })
    tags!: Tag[];
  }
  return { Tag, Post };
}

describe("names against the open database's own identifier limit (Dialect.maxIdentifierLength)", () => {
  /** A copy of the library and the ModelSet class of that copy (one registry). */
  function freshLibAndModelSet(): { lib: Lib; Models: typeof ModelSet } {
    let lib!: Lib;
    let Models!: typeof ModelSet;
    jest.isolateModules(() => {
      lib = require('../lib') as Lib;
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the ModelSet of this same copy (its registry)
      Models = (require('../lib/model/model-set') as { ModelSet: typeof ModelSet }).ModelSet;
    });
    return { lib, Models };
  }

  it('each table or column name longer than the limit is a SchemaError naming it and the limit; none at or under it', () => {
    const { lib, Models } = freshLibAndModelSet();
    const { Tag, Post } = declareLongNames(lib);
    const models = Models.of([Post, Tag]);
    for (const limit of [64, 100, Infinity]) {
      expect(() => models.checkIdentifiers({ name: 'postgres', maxIdentifierLength: limit })).not.toThrow();
    }
    const refused = (only: readonly unknown[]) => {
      try {
        Models.of(only).checkIdentifiers({ name: 'postgres', maxIdentifierLength: 63 });
      } catch (e) {
        expect(e).toBeInstanceOf(lib.SchemaError);
        return (e as Error).message;
      }
      throw new Error('expected a SchemaError');
    };
    const tail = 'is 64 characters long; postgres keeps names of at most 63 characters: choose a shorter one';
    expect(refused([Tag])).toBe(`table "${longName('ssy_id_tag_')}" of model "ssy_id_tag" ${tail}`);
    expect(refused([Post, Tag])).toBe(`table "${longName('ssy_id_post_')}" of model "ssy_id_post" ${tail}`);

    // Each name on its own: every kind of name is checked.
    const one = (declare: (l: Lib) => readonly unknown[], message: string) => {
      const fresh = freshLibAndModelSet();
      const only = declare(fresh.lib);
      let error: unknown;
      try {
        fresh.Models.of(only).checkIdentifiers({ name: 'postgres', maxIdentifierLength: 63 });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(fresh.lib.SchemaError);
      expect((error as Error).message).toBe(`${message} ${tail}`);
    };
    one(
      (l) => {
        @l.Model({ name: 'ssy_id_k', primaryKey: longName('k_') })
        class K extends l.BaseModel {}
        return [K];
      },
      `key column "${longName('k_')}" of model "ssy_id_k"`,
    );
    one(
      (l) => {
        @l.Model('ssy_id_c')
        class C extends l.BaseModel {
          @l.Field({ column: longName('c_') }) c!: string;
        }
        return [C];
      },
      `column "${longName('c_')}" of ssy_id_c.c`,
    );
    one(
      (l) => {
        @l.Model('ssy_id_t')
        class T extends l.BaseModel {}
        @l.Model('ssy_id_m')
        class M extends l.BaseModel {
          @l.Field.many2one(() => T, { column: longName('m_') }) t!: T | null;
        }
        return [M, T];
      },
      `column "${longName('m_')}" of ssy_id_m.t`,
    );
    for (const [option, label] of [
      ['relation', 'relation table'],
      ['column1', 'relation table column'],
      ['column2', 'relation table column'],
    ] as const) {
      one(
        (l) => {
          @l.Model('ssy_id_r')
          class R extends l.BaseModel {}
          @l.Model('ssy_id_s')
          class S extends l.BaseModel {
            @l.Field.many2many(() => R, { [option]: longName('r_') }) rs!: R[];
          }
          return [S, R];
        },
        `${label} "${longName('r_')}" of ssy_id_s.rs`,
      );
    }
  });
});

describe('relation tables are SchemaErrors when they clash (t12), at open, before any connection', () => {
  it('a many2many whose default relation table name is longer than 63 characters', async () => {
    const lib = freshLib();
    @lib.Model('ssy_r_a_model_with_a_name_long_enough_to_matter')
    class Left extends lib.BaseModel {}
    @lib.Model('ssy_r_another_model_with_a_long_name')
    class Right extends lib.BaseModel {
      @lib.Field.many2many(() => Left) lefts!: Left[];
    }
    const e = await rejection(lib.Environment.open());
    expect(e).toBeInstanceOf(lib.SchemaError);
    expect(e.message).toMatch(
      /ssy_r_another_model_with_a_long_name\.lefts: .*longer than 63 characters.*\{ relation \}/,
    );
    return Right;
  });

  it('a model whose table is the relation table of a many2many: refused in one Environment, fine in another', async () => {
    const lib = freshLib();
    @lib.Model('ssy_r_tag')
    class Tag extends lib.BaseModel {}
    @lib.Model('ssy_r_post')
    class Post extends lib.BaseModel {
      @lib.Field.many2many(() => Tag) tags!: Tag[];
    }
    @lib.Model('SSY_R_POST_SSY_R_TAG_REL')
    class Note extends lib.BaseModel {}
    for (const models of [undefined, [Post, Tag, Note]]) {
      const e = await rejection(lib.Environment.open({ models }));
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toMatch(
        /ssy_r_post\.tags: relation table "ssy_r_post_ssy_r_tag_rel" is the table of model "SSY_R_POST_SSY_R_TAG_REL"/,
      );
    }
    const posts = await lib.Environment.open({ models: [Post, Tag] });
    const notes = await lib.Environment.open({ models: [Note] });
    try {
      expect((await posts.sync()).createdTables).toEqual(['ssy_r_post', 'ssy_r_tag', 'ssy_r_post_ssy_r_tag_rel']);
      expect((await notes.sync()).createdTables).toEqual(['SSY_R_POST_SSY_R_TAG_REL']);
    } finally {
      await posts.close();
      await notes.close();
    }
  });

  it('two many2many fields mapping different pairs, or one pair with other columns, onto one relation table', async () => {
    const pairs = freshLib();
    @pairs.Model('ssy_r2_tag')
    class Tag extends pairs.BaseModel {}
    @pairs.Model('ssy_r2_post')
    class Post extends pairs.BaseModel {
      @pairs.Field.many2many(() => Tag, { relation: 'ssy_r2_links' }) tags!: Tag[];
    }
    @pairs.Model('ssy_r2_author')
    class Author extends pairs.BaseModel {
      @pairs.Field.many2many(() => Tag, { relation: 'ssy_r2_links' }) tags!: Tag[];
    }
    const columns = freshLib();
    @columns.Model('ssy_r3_tag')
    class Tag3 extends columns.BaseModel {
      @columns.Field.many2many(() => Post3, { relation: 'ssy_r3_links', column1: 'post_id', column2: 'tag_id' })
      posts!: Post3[];
    }
    @columns.Model('ssy_r3_post')
    class Post3 extends columns.BaseModel {
      @columns.Field.many2many(() => Tag3, { relation: 'ssy_r3_links', column1: 'post_id', column2: 'tag_id' })
      tags!: Tag3[];
    }
    for (const [lib, message] of [
      [
        pairs,
        /relation table "ssy_r2_links" of ssy_r2_author\.tags is already used by ssy_r2_post\.tags for ssy_r2_post\(ssy_r2_post_id\) - ssy_r2_tag\(ssy_r2_tag_id\)/,
      ],
      [columns, /relation table "ssy_r3_links" of ssy_r3_post\.tags is already used by ssy_r3_tag\.posts/],
    ] as const) {
      const e = await rejection(lib.Environment.open());
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toMatch(message);
    }
    // The clash is per Environment: each many2many alone is fine.
    const posts = await pairs.Environment.open({ models: [Post, Tag] });
    const authors = await pairs.Environment.open({ models: [Author, Tag] });
    await posts.close();
    await authors.close();
  });
});

describeEachDatabase('sync() is safe', (db) => {
  const opened: Environment[] = [];
  afterEach(async () => {
    for (const env of opened.splice(0)) await env.close();
  });

  /** An Environment of `lib` on an empty database (nothing synced yet). */
  async function open(lib: Lib, config?: EnvironmentConfig): Promise<Environment> {
    const env = await lib.Environment.open(config ?? db.config);
    opened.push(env);
    if (!config && db.name !== 'sqlite') await dropAllTables(env);
    return env;
  }

  it('names of 64 characters, the longest a model may declare: created and used where the database keeps them, else refused at open', async () => {
    const lib = freshLib();
    const { Tag, Post } = declareLongNames(lib);
    // What each test database keeps (Dialect.maxIdentifierLength); a database not listed is expected to keep fewer.
    const keeps: Partial<Record<string, number>> = { sqlite: Infinity, mariadb: 64 };
    const limit = keeps[db.name];
    if (limit === undefined) {
      const e = await rejection(lib.Environment.open(db.config));
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toMatch(
        /^table "ssy_id_tag_x+" of model "ssy_id_tag" is 64 characters long; \w+ keeps names of at most \d+ characters/,
      );
      return;
    }
    const env = await open(lib);
    const report = await env.sync();
    expect(report.createdTables).toEqual([
      longName('ssy_id_tag_'),
      longName('ssy_id_post_'),
      longName('ssy_id_links_'),
    ]);
    const tag = await env.model(Tag).create({ label: 'a' });
    const post = await env.model(Post).create({ main: tag.id, tags: { set: [tag.id] } });
    const fresh = env.fork();
    const again = fresh.model(Post).browse(post.id);
    expect((await again.main)?.id).toBe(tag.id);
    expect((await again.tags).ids).toEqual([tag.id]);
    expect(await (await again.main)?.label).toBe('a');
  });

  it('t11: names over 63 characters are shortened; the unique, index and foreign keys exist and hold', async () => {
    const lib = freshLib();
    const REGIONS = 'ssy_regions_where_the_holders_of_long_named_accounts_live';
    const ACCOUNTS = 'ssy_accounts_of_customers_with_a_rather_long_table_name';
    const VISITS = 'ssy_regions_visited_by_the_holders_of_long_named_accounts';
    @lib.Model({ name: 'ssy_l_region', table: REGIONS })
    class Region extends lib.BaseModel {
      @lib.Field() name!: string;
    }
    @lib.Model({ name: 'ssy_l_account', table: ACCOUNTS })
    class Account extends lib.BaseModel {
      @lib.Field.string({ unique: true }) email_address_of_the_account_holder!: string;
      @lib.Field.string({ index: true }) postal_code_of_the_home_address_of_the_holder!: string | null;
      @lib.Field.many2one(() => Region, { onDelete: 'cascade' }) home_region_of_the_account_holder!: Region | null;
      @lib.Field.many2many(() => Region, { relation: VISITS, column1: 'account_id', column2: 'visited_region_id' })
      visited!: Region[];
    }
    const env = await open(lib);
    expect(await env.sync()).toEqual({ ...EMPTY, createdTables: [REGIONS, ACCOUNTS, VISITS] });
    expect(await env.sync()).toEqual(EMPTY);

    for (const table of [REGIONS, ACCOUNTS, VISITS]) {
      for (const name of chosenNames(await inspect(env, table)))
        expect({ name, length: name.length <= 63 }).toEqual({ name, length: true });
    }
    const accounts = await inspect(env, ACCOUNTS);
    // The same literal names on both databases.
    expect(indexOn(accounts, 'email_address_of_the_account_holder')).toEqual([
      {
        name: 'ssy_accounts_of_customers_with_a_rather_long_table_n_c1ae99a3a5',
        columns: ['email_address_of_the_account_holder'],
        unique: true,
      },
    ]);
    expect(indexOn(accounts, 'postal_code_of_the_home_address_of_the_holder')).toEqual([
      {
        name: constraintName(ACCOUNTS, ['postal_code_of_the_home_address_of_the_holder'], 'index'),
        columns: ['postal_code_of_the_home_address_of_the_holder'],
        unique: false,
      },
    ]);
    expect(accounts.foreignKeys).toEqual([
      {
        name: constraintName(ACCOUNTS, ['home_region_of_the_account_holder_id'], 'foreign'),
        columns: ['home_region_of_the_account_holder_id'],
        target: REGIONS,
        onDelete: 'CASCADE',
      },
    ]);
    expect((await inspect(env, VISITS)).foreignKeys.map((k) => k.target).sort()).toEqual([REGIONS, ACCOUNTS].sort());

    const north = await env.model(Region).create({ name: 'north' });
    const ann = await env
      .model(Account)
      .create({ email_address_of_the_account_holder: 'a@x', home_region_of_the_account_holder: north.id });
    const dup = rejection(env.model(Account).create({ email_address_of_the_account_holder: 'a@x' }));
    expect(await dup).toBeInstanceOf(lib.UniqueViolationError);
    const dangling = rejection(
      env
        .model(Account)
        .create({ email_address_of_the_account_holder: 'b@x', home_region_of_the_account_holder: 999_999 }),
    );
    expect(await dangling).toBeInstanceOf(lib.ForeignKeyViolationError);
    // A raw knex statement: the driver's error, which may come from another realm (jest
    // re-requires the driver per isolated library), hence checked by its message.
    const link = await rejection(env.knex(VISITS).insert({ account_id: ann.id, visited_region_id: 999_999 }));
    expect(String(link.message)).toMatch(/foreign key/i);
  });

  it('t15b: a sync killed just before its first unique index is completed by the next one', async () => {
    await crashThenSync('add unique|create unique index|add constraint [^ ]+ unique', {
      sqlite: { ...EMPTY, createdTables: SYNC_MODEL_TABLES },
      postgres: { ...EMPTY, createdTables: SYNC_MODEL_TABLES },
      mariadb: {
        ...EMPTY,
        createdTables: ['ssy_p_order', 'ssy_p_watchers'],
        addedConstraints: ['ssy_p_customer.ssy_p_customer_code_unique'],
      },
    });
  });

  it('t15b: a sync killed just before its first foreign key is completed by the next one', async () => {
    await crashThenSync('foreign key', {
      sqlite: { ...EMPTY, createdTables: SYNC_MODEL_TABLES },
      postgres: { ...EMPTY, createdTables: SYNC_MODEL_TABLES },
      mariadb: {
        ...EMPTY,
        addedConstraints: [
          'ssy_p_order.ssy_p_order_customer_id_foreign',
          'ssy_p_watchers.ssy_p_watchers_ssy_p_order_id_foreign',
          'ssy_p_watchers.ssy_p_watchers_ssy_p_customer_id_foreign',
        ],
      },
    });
  });

  /**
   * A child process syncs the fixture models and exits just before the first statement
   * matching `crashAt`; then this process syncs. SQLite and PostgreSQL run a whole sync in
   * one transaction, so the crashed run left nothing; MariaDB commits each DDL statement,
   * so the next run finds what the crashed one left and completes it.
   */
  async function crashThenSync(crashAt: string, expected: Record<TestDatabase['name'], SyncReport>): Promise<void> {
    const config = await emptyDatabase(db);
    const crashed = await startChild({ config, mode: 'crash', crashAt }).done;
    expect({ code: crashed.code, stderr: crashed.stderr }).toEqual({ code: CRASH_EXIT_CODE, stderr: '' });

    const lib = freshLib();
    models(lib);
    const env = await open(lib, config);
    expect(await env.sync()).toEqual(expected[db.name]);
    expect(await env.sync()).toEqual(EMPTY);
    await expectCompleteFixtureSchema(lib, env);
  }

  it('t15: three processes syncing at once all succeed, one after the other', async () => {
    const config = await emptyDatabase(db);
    const dir = tmpDir();
    const children = [0, 1, 2].map((index) => startChild({ config, mode: 'race', dir, index, count: 3 }));
    await Promise.all(children.map((c) => c.ready));
    for (const c of children) c.go();
    const results = await Promise.all(children.map((c) => c.done));

    const allTables = Object.fromEntries(SYNC_MODEL_TABLES.map((t) => [t, true]));
    for (const r of results) {
      // Each one, when its sync() returned, saw every table.
      expect({ code: r.code, output: r.output, stderr: r.stderr }).toEqual({
        code: 0,
        output: { ok: true, report: expect.any(Object), tables: allTables },
        stderr: '',
      });
    }
    const reports = results.map((r) => r.output!.report!);
    expect(reports.filter((r) => r.createdTables.length > 0)).toEqual([{ ...EMPTY, createdTables: SYNC_MODEL_TABLES }]);
    expect(reports.filter((r) => r.createdTables.length === 0)).toEqual([EMPTY, EMPTY]);

    const lib = freshLib();
    models(lib);
    const env = await open(lib, config);
    expect(await env.sync()).toEqual(EMPTY);
    await expectCompleteFixtureSchema(lib, env);
  });

  it('t15: two Environments of one process (two pools) syncing at once both succeed', async () => {
    // On SQLite the wait for the lock blocks the thread: a second pool of this process
    // must not wait in SQLite for the first one, which could then never finish.
    const config = await emptyDatabase(db);
    const lib = freshLib();
    models(lib);
    const [a, b] = [await open(lib, config), await open(lib, config)];
    const reports = await Promise.all([a.sync(), b.sync()]);
    // Either may get the lock first: the other then finds everything made.
    const byCreated = [...reports].sort((x, y) => y.createdTables.length - x.createdTables.length);
    expect(byCreated).toEqual([{ ...EMPTY, createdTables: SYNC_MODEL_TABLES }, EMPTY]);
    await expectCompleteFixtureSchema(lib, b);
  });

  /** Models whose tables the next tests create by hand, without some of their constraints. */
  function handMadeModels(lib: Lib) {
    @lib.Model('ssy_h_region')
    class Region extends lib.BaseModel {
      @lib.Field() name!: string;
    }
    @lib.Model('ssy_h_account')
    class Account extends lib.BaseModel {
      @lib.Field.string({ unique: true }) email!: string;
      @lib.Field.string({ index: true }) city!: string | null;
      @lib.Field.many2one(() => Region, { onDelete: 'cascade' }) region!: Region | null;
      @lib.Field.many2many(() => Region) visited!: Region[];
    }
    return { Region, Account };
  }
  const REL = 'ssy_h_account_ssy_h_region_rel';

  /** The tables of handMadeModels with their columns and keys only (no index but on city, no unique, no FK). */
  async function createByHand(env: Environment): Promise<void> {
    await env.knex.schema.createTable('ssy_h_region', (t) => {
      t.increments('id').primary();
      t.string('name', 255);
    });
    await env.knex.schema.createTable('ssy_h_account', (t) => {
      t.increments('id').primary();
      t.string('email', 255);
      t.string('city', 255);
      t.integer('region_id').unsigned();
      t.index(['city'], 'my_city_idx');
    });
    await env.knex.schema.createTable(REL, (t) => {
      t.integer('ssy_h_account_id').unsigned().notNullable();
      t.integer('ssy_h_region_id').unsigned().notNullable();
      t.primary(['ssy_h_account_id', 'ssy_h_region_id']);
    });
  }

  it('t15b: indexes, uniques and foreign keys missing from existing tables are added; those present are recognised by their columns', async () => {
    const lib = freshLib();
    const handMade = handMadeModels(lib);
    const env = await open(lib);
    await createByHand(env);
    await env.knex('ssy_h_region').insert({ id: 1, name: 'north' });
    await env.knex('ssy_h_account').insert([
      { id: 1, email: 'a@x', city: 'Oslo', region_id: 1 },
      { id: 2, email: 'gone@x' },
    ]);
    await env.knex('ssy_h_account').where('id', 2).delete(); // id 2 was used: it must not come back
    // A PostgreSQL program that gives ids moves the serial's sequence past them itself.
    if (db.name === 'postgres') await env.knex.raw("SELECT setval(pg_get_serial_sequence('ssy_h_account', 'id'), 2)");
    await env.knex(REL).insert({ ssy_h_account_id: 1, ssy_h_region_id: 1 });
    // A view on the table (SQLite rebuilds the table to add its foreign keys).
    await env.knex.raw('CREATE VIEW ssy_h_account_emails AS SELECT id, email FROM ssy_h_account');
    try {
      await completesHandMadeTables(lib, env, handMade);
    } finally {
      await env.knex.raw('DROP VIEW ssy_h_account_emails');
    }
  });

  /** Sync adds what createByHand left out, and no more; the rows survive, the constraints hold. */
  async function completesHandMadeTables(
    lib: Lib,
    env: Environment,
    { Region, Account }: ReturnType<typeof handMadeModels>,
  ): Promise<void> {
    expect(await env.sync()).toEqual({
      ...EMPTY,
      addedIndexes: ['ssy_h_account.ssy_h_account_region_id_index', `${REL}.${REL}_ssy_h_region_id_index`],
      addedConstraints: [
        'ssy_h_account.ssy_h_account_email_unique',
        'ssy_h_account.ssy_h_account_region_id_foreign',
        `${REL}.${REL}_ssy_h_account_id_foreign`,
        `${REL}.${REL}_ssy_h_region_id_foreign`,
      ],
    });
    expect(await env.sync()).toEqual(EMPTY);

    const account = await inspect(env, 'ssy_h_account');
    expect(indexOn(account, 'city')).toEqual([{ name: 'my_city_idx', columns: ['city'], unique: false }]); // not added twice
    expect(indexOn(account, 'email')).toEqual([
      { name: 'ssy_h_account_email_unique', columns: ['email'], unique: true },
    ]);
    expect(account.foreignKeys).toEqual([
      { name: 'ssy_h_account_region_id_foreign', columns: ['region_id'], target: 'ssy_h_region', onDelete: 'CASCADE' },
    ]);
    expect((await inspect(env, REL)).foreignKeys.map((k) => [k.columns, k.target, k.onDelete]).sort()).toEqual([
      [['ssy_h_account_id'], 'ssy_h_account', 'CASCADE'],
      [['ssy_h_region_id'], 'ssy_h_region', 'CASCADE'],
    ]);

    // The rows survived, and the constraints hold.
    expect(await env.model(Account).browse(1).toDict(['email', 'city'])).toEqual({ email: 'a@x', city: 'Oslo' });
    expect((await env.model(Account).create({ email: 'c@x' })).id).toBe(3); // the id counter survived
    expect(await rejection(env.model(Account).create({ email: 'a@x' }))).toBeInstanceOf(lib.UniqueViolationError);
    expect(await rejection(env.model(Account).create({ email: 'b@x', region: 42 }))).toBeInstanceOf(
      lib.ForeignKeyViolationError,
    );
    await env.model(Region).browse(1).unlink();
    expect(await env.knex('ssy_h_account').select('email')).toEqual([{ email: 'c@x' }]); // ON DELETE CASCADE
    expect(await env.knex(REL).count({ n: '*' })).toEqual([{ n: 0 }]);
    expect(await env.knex('ssy_h_account_emails').select('email')).toEqual([{ email: 'c@x' }]);
  }

  it('t15b: rows that break a missing unique or foreign key make sync fail with a typed error; once fixed, it completes', async () => {
    const lib = freshLib();
    handMadeModels(lib);
    const env = await open(lib);
    await createByHand(env);
    await env.knex('ssy_h_region').insert({ id: 1, name: 'north' });
    await env.knex('ssy_h_account').insert([
      { id: 1, email: 'a@x', region_id: 1 },
      { id: 2, email: 'a@x', region_id: 42 },
    ]);

    expect(await rejection(env.sync())).toBeInstanceOf(lib.UniqueViolationError);
    await env.knex('ssy_h_account').where('id', 2).update({ email: 'b@x' });
    expect(await rejection(env.sync())).toBeInstanceOf(lib.ForeignKeyViolationError);
    await env.knex('ssy_h_account').where('id', 2).update({ region_id: 1 });
    const report = await env.sync();
    expect(report.addedConstraints).toContain('ssy_h_account.ssy_h_account_region_id_foreign');
    expect(await env.sync()).toEqual(EMPTY);
    expect((await inspect(env, 'ssy_h_account')).foreignKeys).toHaveLength(1);
  });

  it('a many2one added to an existing table gets its column, index and foreign key', async () => {
    const lib = freshLib();
    const { Region, Account } = handMadeModels(lib);
    const env = await open(lib);
    await env.sync();
    await env.knex.schema.dropTable(REL);
    await env.knex.schema.dropTable('ssy_h_account');
    await env.knex.schema.createTable('ssy_h_account', (t) => {
      t.increments('id').primary();
      t.string('email', 255).unique('ssy_h_account_email_unique');
      t.string('city', 255).index('ssy_h_account_city_index');
    });
    await env.knex('ssy_h_account').insert({ id: 1, email: 'a@x' });

    expect(await env.sync()).toEqual({
      createdTables: [REL],
      addedColumns: ['ssy_h_account.region_id'],
      addedIndexes: ['ssy_h_account.ssy_h_account_region_id_index'],
      addedConstraints: ['ssy_h_account.ssy_h_account_region_id_foreign'],
    });
    expect(await env.sync()).toEqual(EMPTY);
    expect((await inspect(env, 'ssy_h_account')).foreignKeys).toEqual([
      { name: 'ssy_h_account_region_id_foreign', columns: ['region_id'], target: 'ssy_h_region', onDelete: 'CASCADE' },
    ]);
    expect(await rejection(env.model(Account).browse(1).write({ region: 42 }))).toBeInstanceOf(
      lib.ForeignKeyViolationError,
    );
    const north = await env.model(Region).create({ name: 'north' });
    await env.model(Account).browse(1).write({ region: north.id });
    await north.unlink();
    expect(await env.knex('ssy_h_account').count({ n: '*' })).toEqual([{ n: 0 }]); // ON DELETE CASCADE
  });

  it('never alters an existing column, even of another type or size than the field', async () => {
    const lib = freshLib();
    @lib.Model('ssy_t_note')
    class Note extends lib.BaseModel {
      @lib.Field.float() score!: number | null;
      @lib.Field.string({ size: 255 }) title!: string | null;
    }
    const env = await open(lib);
    await env.knex.schema.createTable('ssy_t_note', (t) => {
      t.increments('id').primary();
      t.text('score');
      t.string('title', 10);
    });
    await env.knex('ssy_t_note').insert({ id: 1, score: 'high', title: 'short' });
    const before = await env.knex('ssy_t_note').columnInfo();

    expect(await env.sync()).toEqual(EMPTY);
    expect(await env.knex('ssy_t_note').columnInfo()).toEqual(before);
    expect(Number(before.title.maxLength)).toBe(10);
    expect(await env.knex('ssy_t_note').select('score', 'title')).toEqual([{ score: 'high', title: 'short' }]);
    return Note;
  });

  it('two constraints whose default names coincide (table a_b + column c, table a + column b_c) both get made', async () => {
    const lib = freshLib();
    @lib.Model('ssy_c_target')
    class Target extends lib.BaseModel {}
    @lib.Model('ssy_c_a_b')
    class AB extends lib.BaseModel {
      @lib.Field.many2one(() => Target) c!: Target | null;
    }
    @lib.Model('ssy_c_a')
    class A extends lib.BaseModel {
      @lib.Field.many2one(() => Target) b_c!: Target | null;
    }
    const env = await open(lib);
    expect(await env.sync()).toEqual({ ...EMPTY, createdTables: ['ssy_c_target', 'ssy_c_a_b', 'ssy_c_a'] });
    expect(await env.sync()).toEqual(EMPTY);
    const ab = await inspect(env, 'ssy_c_a_b');
    const a = await inspect(env, 'ssy_c_a');
    expect([
      indexOn(ab, 'c_id').length,
      indexOn(a, 'b_c_id').length,
      ab.foreignKeys.length,
      a.foreignKeys.length,
    ]).toEqual([1, 1, 1, 1]);
    expect(indexOn(ab, 'c_id')[0].name).not.toBe(indexOn(a, 'b_c_id')[0].name);
    expect(ab.foreignKeys[0].name).not.toBe(a.foreignKeys[0].name);
    expect(await rejection(env.model(AB).create({ c: 7 }))).toBeInstanceOf(lib.ForeignKeyViolationError);
    expect(await rejection(env.model(A).create({ b_c: 7 }))).toBeInstanceOf(lib.ForeignKeyViolationError);
  });

  it('t12: a model whose table is the default relation table of another pair is a SchemaError at open, before any SQL', async () => {
    const lib = freshLib();
    @lib.Model('ssy_t12_tag')
    class Tag extends lib.BaseModel {
      @lib.Field() name!: string;
    }
    @lib.Model('ssy_t12_post')
    class Post extends lib.BaseModel {
      @lib.Field.many2many(() => Tag) tags!: Tag[];
    }
    @lib.Model('ssy_t12_post_ssy_t12_tag_rel')
    class Note extends lib.BaseModel {
      @lib.Field() text!: string;
    }
    const e = await rejection(lib.Environment.open(db.config));
    expect(e).toBeInstanceOf(lib.SchemaError);
    expect(e.message).toMatch(
      /ssy_t12_post\.tags: relation table "ssy_t12_post_ssy_t12_tag_rel" is the table of model "ssy_t12_post_ssy_t12_tag_rel"/,
    );
    return [Post, Note];
  });

  it('the two sides of one many2many may share its relation table', async () => {
    const lib = freshLib();
    @lib.Model('ssy_s_tag')
    class Tag extends lib.BaseModel {
      @lib.Field() name!: string;
      @lib.Field.many2many(() => Post) posts!: Post[];
    }
    @lib.Model('ssy_s_post')
    class Post extends lib.BaseModel {
      @lib.Field() title!: string;
      @lib.Field.many2many(() => Tag) tags!: Tag[];
    }
    const env = await open(lib);
    expect(await env.sync()).toEqual({
      ...EMPTY,
      createdTables: ['ssy_s_tag', 'ssy_s_post', 'ssy_s_post_ssy_s_tag_rel'],
    });
    const post = await env.model(Post).create({ title: 'p', tags: { create: [{ name: 't' }] } });
    const tags = await post.tags;
    expect(await (await env.fork().model(Tag).browse(tags.ids[0]).posts).mapped('title')).toEqual(['p']);
  });
});
