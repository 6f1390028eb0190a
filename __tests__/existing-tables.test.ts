import 'reflect-metadata';
import type { DialectName, Environment, SyncReport } from '../lib';
import {
  hasForeignKey,
  onDeleteRule,
  ruleConflict,
  type ForeignKeySpec,
  type TableConstraints,
} from '../lib/db/constraints';
import { snakeCase } from '../lib/model/naming';
import {
  countQueries,
  describeEachDatabase,
  dropAllTables,
  quoteMixedCase,
  type TestDatabase,
} from './helpers/databases';

/**
 * Existing databases mapped as they are: `naming: 'snake_case'`, readonly models (real
 * SQL views), and sync() over tables made by raw DDL with other names (PascalCase
 * tables, other index and constraint names, a link table with a composite key, ON
 * DELETE NO ACTION), which it must leave byte-for-byte as they were, and whose ON DELETE
 * rules it checks against the declarations.
 *
 * Each test declares its models in a copy of the library of its own (freshLib), so a
 * sync() syncs only them; it opens its Environments itself (not db.open(), which syncs
 * and, on MariaDB, drops tables) so that it controls what exists before sync.
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

async function rejection(p: Promise<unknown> | (() => unknown)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

// ---- raw SQL --------------------------------------------------------------------------------

async function rows<R>(env: Environment, sql: string, bindings: readonly unknown[] = []): Promise<R[]> {
  const result = (await env.knex.raw(forDialect(env, sql), bindings as never[])) as unknown;
  if (env.dialect === 'postgres') return (result as { rows: R[] }).rows;
  return (env.dialect === 'sqlite' ? result : (result as [R[]])[0]) as R[];
}

/** The raw SQL of this file as the database reads it (quoteMixedCase on PostgreSQL). */
function forDialect(env: Environment, sql: string): string {
  return env.dialect === 'postgres' ? quoteMixedCase(sql) : sql;
}

/** The whole schema, as text: what "left byte-for-byte unchanged" compares. */
async function dump(env: Environment): Promise<string> {
  if (env.dialect === 'sqlite') {
    return JSON.stringify(await rows(env, 'SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name'));
  }
  if (env.dialect === 'postgres') {
    const sql = [
      `SELECT table_name, column_name, ordinal_position, data_type, character_maximum_length, numeric_precision,
         numeric_scale, is_nullable, column_default, collation_name FROM information_schema.columns
       WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`,
      'SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() ORDER BY tablename, indexname',
      `SELECT c.conrelid::regclass::text AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def FROM pg_constraint c
       JOIN pg_namespace s ON s.oid = c.connamespace WHERE s.nspname = current_schema() ORDER BY 1, 2`,
      'SELECT viewname, definition FROM pg_views WHERE schemaname = current_schema() ORDER BY viewname',
    ];
    const out: unknown[] = [];
    for (const q of sql) out.push(await rows(env, q));
    return JSON.stringify(out);
  }
  const tables = await rows<{ t: string }>(
    env,
    'SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME',
  );
  const out: unknown[] = [];
  for (const { t } of tables) out.push(await rows(env, 'SHOW CREATE TABLE ??', [t]));
  out.push(
    await rows(
      env,
      `SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE, SUB_PART FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`,
    ),
  );
  out.push(
    await rows(
      env,
      `SELECT CONSTRAINT_NAME, TABLE_NAME, REFERENCED_TABLE_NAME, UPDATE_RULE, DELETE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS
    WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
    ),
  );
  return JSON.stringify(out);
}

/** MariaDB, PostgreSQL: drops every view and table of the test database (SQLite databases here are in memory). */
async function dropEverything(env: Environment): Promise<void> {
  if (env.dialect === 'sqlite') return;
  if (env.dialect === 'postgres') return dropAllTables(env);
  const found = await rows<{ t: string; type: string }>(
    env,
    'SELECT TABLE_NAME AS t, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()',
  );
  await env.knex.transaction(async (trx) => {
    await trx.raw('SET FOREIGN_KEY_CHECKS = 0');
    for (const { t, type } of found) await trx.raw(type === 'VIEW' ? 'DROP VIEW ??' : 'DROP TABLE ??', [t]);
    await trx.raw('SET FOREIGN_KEY_CHECKS = 1');
  });
}

/**
 * A table as raw DDL, written once for both databases: plain identifiers, `@PK` for an
 * auto-increment integer key, indexes inline on MariaDB (so that InnoDB makes none of
 * its own for the foreign keys) and by CREATE INDEX on SQLite.
 */
interface RawTable {
  readonly name: string;
  readonly body: readonly string[];
  readonly indexes?: ReadonlyArray<readonly [string, string]>;
}

function ddl(dialect: DialectName, tables: readonly RawTable[]): string[] {
  const pk = {
    sqlite: 'id INTEGER PRIMARY KEY AUTOINCREMENT',
    mysql: 'id INT NOT NULL AUTO_INCREMENT PRIMARY KEY',
    postgres: 'id SERIAL PRIMARY KEY',
  }[dialect];
  const out: string[] = [];
  for (const t of tables) {
    const body = t.body.map((line) => line.replace('@PK', pk));
    if (dialect === 'mysql') body.push(...(t.indexes ?? []).map(([name, col]) => `INDEX ${name} (${col})`));
    out.push(`CREATE TABLE ${t.name} (${body.join(', ')})${dialect === 'mysql' ? ' ENGINE=InnoDB' : ''}`);
    if (dialect !== 'mysql')
      out.push(...(t.indexes ?? []).map(([name, col]) => `CREATE INDEX ${name} ON ${t.name} (${col})`));
  }
  return out;
}

async function run(env: Environment, statements: readonly string[]): Promise<void> {
  for (const sql of statements) await env.knex.raw(forDialect(env, sql));
}

/** A Chinook-like schema, as another tool made it. `albumRule` is the ON DELETE of Album.ArtistId. */
function musicTables(albumRule = 'NO ACTION'): RawTable[] {
  return [
    {
      name: 'Artist',
      body: ['@PK', 'Name VARCHAR(120)', 'LegacyNo INTEGER', 'CONSTRAINT UQ_ArtistLegacyNo UNIQUE (LegacyNo)'],
    },
    {
      name: 'Album',
      body: [
        '@PK',
        'Title VARCHAR(160) NOT NULL',
        'ArtistId INTEGER NOT NULL',
        `CONSTRAINT FK_AlbumArtistId FOREIGN KEY (ArtistId) REFERENCES Artist (id) ON DELETE ${albumRule} ON UPDATE NO ACTION`,
      ],
      indexes: [['IFK_AlbumArtistId', 'ArtistId']],
    },
    {
      name: 'Track',
      body: [
        '@PK',
        'Name VARCHAR(200) NOT NULL',
        'AlbumId INTEGER',
        'UnitPrice NUMERIC(10,2) NOT NULL',
        'CONSTRAINT FK_TrackAlbumId FOREIGN KEY (AlbumId) REFERENCES Album (id) ON DELETE NO ACTION ON UPDATE NO ACTION',
      ],
      indexes: [['IFK_TrackAlbumId', 'AlbumId']],
    },
    { name: 'Playlist', body: ['@PK', 'Name VARCHAR(120)'] },
    {
      name: 'PlaylistTrack',
      body: [
        'PlaylistId INTEGER NOT NULL',
        'TrackId INTEGER NOT NULL',
        'CONSTRAINT PK_PlaylistTrack PRIMARY KEY (PlaylistId, TrackId)',
        'CONSTRAINT FK_PlaylistTrackPlaylistId FOREIGN KEY (PlaylistId) REFERENCES Playlist (id) ON DELETE NO ACTION ON UPDATE NO ACTION',
        'CONSTRAINT FK_PlaylistTrackTrackId FOREIGN KEY (TrackId) REFERENCES Track (id) ON DELETE NO ACTION ON UPDATE NO ACTION',
      ],
      indexes: [['IFK_PlaylistTrackTrackId', 'TrackId']],
    },
    {
      name: 'Employee',
      body: [
        '@PK',
        'LastName VARCHAR(20) NOT NULL',
        'ReportsTo INTEGER',
        'CONSTRAINT FK_EmployeeReportsTo FOREIGN KEY (ReportsTo) REFERENCES Employee (id) ON DELETE NO ACTION ON UPDATE NO ACTION',
      ],
      indexes: [['IFK_EmployeeReportsTo', 'ReportsTo']],
    },
    {
      name: 'customer_account',
      body: [
        '@PK',
        'first_name VARCHAR(40) NOT NULL',
        'customer_no VARCHAR(20)',
        'support_rep_id INTEGER',
        'CONSTRAINT UQ_CustomerNo UNIQUE (customer_no)',
        'CONSTRAINT FK_CustomerSupportRep FOREIGN KEY (support_rep_id) REFERENCES Employee (id) ON DELETE SET NULL',
      ],
      indexes: [['IFK_CustomerSupportRepId', 'support_rep_id']],
    },
  ];
}

/** Models over musicTables(), in a fresh registry. `albumOnDelete`: Album.artist's declared rule. */
function musicModels(lib: Lib, options: { albumOnDelete?: 'restrict' | 'cascade'; artistExtra?: boolean } = {}) {
  const { Model, Field, BaseModel } = lib;

  const none: PropertyDecorator = () => undefined;

  @Model({ name: 'xt_artist', table: 'Artist' })
  class Artist extends BaseModel {
    @Field.string({ column: 'Name', size: 120 }) name!: string | null;
    @Field.integer({ column: 'LegacyNo', unique: true }) legacyNo!: number | null;
    // a column the table lacks (with artistExtra): sync would add it, if nothing stopped it first
    @(options.artistExtra ? Field.string() : none) country!: string | null;
  }

  @Model({ name: 'xt_album', table: 'Album' })
  class Album extends BaseModel {
    @Field.string({ column: 'Title', size: 160, required: true }) title!: string;
    @Field.many2one(() => Artist, { column: 'ArtistId', required: true, onDelete: options.albumOnDelete ?? 'restrict' })
    artist!: Artist;
    @Field.one2many(() => Track, 'album') tracks!: Track[];
  }

  @Model({ name: 'xt_track', table: 'Track' })
  class Track extends BaseModel {
    @Field.string({ column: 'Name', size: 200, required: true }) name!: string;
    @Field.many2one(() => Album, { column: 'AlbumId', onDelete: 'restrict' }) album!: Album | null;
    @Field.decimal({ column: 'UnitPrice', precision: 10, scale: 2, required: true }) unitPrice!: string;
  }

  @Model({ name: 'xt_playlist', table: 'Playlist' })
  class Playlist extends BaseModel {
    @Field.string({ column: 'Name', size: 120 }) name!: string | null;
    @Field.many2many(() => Track, { relation: 'PlaylistTrack', column1: 'PlaylistId', column2: 'TrackId' })
    tracks!: Track[];
  }

  @Model({ name: 'xt_employee', table: 'Employee' })
  class Employee extends BaseModel {
    @Field.string({ column: 'LastName', size: 20, required: true }) lastName!: string;
    @Field.many2one(() => Employee, { column: 'ReportsTo', onDelete: 'restrict' }) manager!: Employee | null;
  }

  @Model({ name: 'xt_customer', table: 'customer_account', naming: 'snake_case' })
  class Customer extends BaseModel {
    @Field.string({ size: 40, required: true }) firstName!: string;
    @Field.string({ size: 20, unique: true }) customerNo!: string | null;
    @Field.many2one(() => Employee) supportRep!: Employee | null;
  }

  return { Artist, Album, Track, Playlist, Employee, Customer };
}

// ---- pure rules ------------------------------------------------------------------------------

describe('snake_case naming rule', () => {
  it.each([
    ['name', 'name'],
    ['firstName', 'first_name'],
    ['customerNo', 'customer_no'],
    ['supportRep', 'support_rep'],
    ['userID', 'user_id'],
    ['userID2', 'user_id2'],
    ['address2', 'address2'],
    ['line2Total', 'line2_total'],
    ['HTTPServer', 'http_server'],
    ['parseHTTPResponse', 'parse_http_response'],
    ['ABC', 'abc'],
    ['Name', 'name'],
    ['legacy_Code', 'legacy_code'],
    ['already_snake', 'already_snake'],
    ['a1B2C', 'a1_b2_c'],
  ])('%s -> %s', (property, column) => {
    expect(snakeCase(property)).toBe(column);
  });
});

describe('foreign key recognition and ON DELETE rules', () => {
  const spec: ForeignKeySpec = {
    name: 'k',
    column: 'ArtistId',
    target: 'Artist',
    targetColumn: 'ArtistKey',
    onDelete: 'restrict',
    accepts: ['restrict'],
  };
  const found = (references: string[], onDelete: string): TableConstraints => ({
    indexes: [],
    foreignKeys: [{ name: 'FK', columns: ['artistid'], target: 'artist', references, onDelete }],
  });

  it('compares the referenced column with the target key column, without case', () => {
    expect(hasForeignKey(found(['artistkey'], 'NO ACTION'), spec)).toBe(true);
    expect(hasForeignKey(found([], 'NO ACTION'), spec)).toBe(true); // SQLite: REFERENCES Artist, the primary key implied
    expect(hasForeignKey(found(['id'], 'NO ACTION'), spec)).toBe(false);
  });

  it("NO ACTION and RESTRICT are restrict; SET DEFAULT is none of proxorm's rules", () => {
    expect(['NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT', 'no action'].map(onDeleteRule)).toEqual([
      'restrict',
      'restrict',
      'cascade',
      'set null',
      undefined,
      'restrict',
    ]);
    expect(ruleConflict(found(['ArtistKey'], 'NO ACTION'), spec)).toBeUndefined();
    expect(ruleConflict(found(['ArtistKey'], 'CASCADE'), spec)?.onDelete).toBe('CASCADE');
    expect(ruleConflict(found(['ArtistKey'], 'SET DEFAULT'), spec)?.onDelete).toBe('SET DEFAULT');
    // a key on another referenced column is not this one: no conflict, sync adds its own
    expect(ruleConflict(found(['id'], 'CASCADE'), spec)).toBeUndefined();
  });
});

describe('@Model options naming and readonly', () => {
  it('rejects an unknown naming and a non-boolean readonly', () => {
    const lib = freshLib();
    class A extends lib.BaseModel {}
    expect(() => lib.Model({ name: 'xt_bad1', naming: 'camel' as 'snake_case' })(A)).toThrow(lib.SchemaError);
    expect(() => lib.Model({ name: 'xt_bad1', naming: 'camel' as 'snake_case' })(A)).toThrow(
      /naming must be one of 'snake_case'/,
    );
    class B extends lib.BaseModel {}
    expect(() => lib.Model({ name: 'xt_bad2', readonly: 'yes' as unknown as boolean })(B)).toThrow(
      /"readonly" must be a boolean/,
    );
  });
});

// ---- on both databases -----------------------------------------------------------------------

describeEachDatabase('existing tables', (db: TestDatabase) => {
  const opened: Environment[] = [];
  async function open(lib: Lib): Promise<Environment> {
    const env = await lib.Environment.open(db.config);
    opened.push(env);
    await dropEverything(env);
    return env;
  }
  afterEach(async () => {
    const envs = opened.splice(0);
    if (envs.length > 0 && !envs[0].isClosed) await dropEverything(envs[0]);
    for (const env of envs) if (!env.isClosed) await env.close();
  });

  describe('naming', () => {
    it('table names are exact: PostgreSQL folds an unquoted name to lower case, which a model then names', async () => {
      const exactLib = freshLib();
      @exactLib.Model({ name: 'xt_case_exact', table: 'XT_CaseArtist' })
      class Exact extends exactLib.BaseModel {
        @exactLib.Field.string({ column: 'Name' }) name!: string | null;
      }
      const foldedLib = freshLib();
      @foldedLib.Model({ name: 'xt_case_folded', table: 'xt_caseartist' })
      class Folded extends foldedLib.BaseModel {
        @foldedLib.Field.string({ column: 'name' }) name!: string | null;
      }
      const exact = await open(exactLib);
      // Unquoted, as another program writes it (a plain CREATE TABLE on every database).
      await exact.knex.raw('CREATE TABLE XT_CaseArtist (id INTEGER PRIMARY KEY, Name VARCHAR(20))');
      await exact.knex.raw("INSERT INTO XT_CaseArtist (id, Name) VALUES (1, 'stored')");
      const folded = await foldedLib.Environment.open(db.config);
      opened.push(folded);
      if (db.name === 'postgres') {
        // The table is xt_caseartist, its column name: the exact name is another table.
        expect((await exact.sync()).createdTables).toEqual(['XT_CaseArtist']);
        expect(await exact.model(Exact).searchCount()).toBe(0);
        expect((await folded.sync()).createdTables).toEqual([]);
        expect(await folded.model(Folded).browse(1).name).toBe('stored');
      } else {
        // SQLite and MariaDB keep the name as written.
        expect((await exact.sync()).createdTables).toEqual([]);
        expect(await exact.model(Exact).browse(1).name).toBe('stored');
      }
    });

    it("'snake_case' names columns of fields and many2ones without column; explicit columns and the default stay", async () => {
      const lib = freshLib();
      const { Model, Field, BaseModel } = lib;
      @Model('xt_rep')
      class Rep extends BaseModel {
        @Field() lastName!: string; // no naming: the property name
      }
      @Model({ name: 'xt_client', naming: 'snake_case' })
      class Client extends BaseModel {
        @Field() firstName!: string;
        @Field() customerNo!: string;
        @Field.integer() userID2!: number | null;
        @Field.string({ column: 'LegacyCODE' }) legacyCode!: string | null;
        @Field.many2one(() => Rep) supportRep!: Rep | null;
        @Field.many2one(() => Rep, { column: 'ReportsTo' }) backupRep!: Rep | null;
      }
      const env = await open(lib);
      expect((await env.sync()).createdTables).toEqual(['xt_rep', 'xt_client']);
      const columns = Object.keys(await env.knex('xt_client').columnInfo()).sort();
      expect(columns).toEqual(
        ['LegacyCODE', 'ReportsTo', 'customer_no', 'first_name', 'id', 'support_rep_id', 'user_id2'].sort(),
      );
      expect(Object.keys(await env.knex('xt_rep').columnInfo()).sort()).toEqual(['id', 'lastName']);

      const rep = await env.model(Rep).create({ lastName: 'Adams' });
      const client = await env
        .model(Client)
        .create({ firstName: 'Ann', customerNo: 'C-1', userID2: 7, legacyCode: 'L', supportRep: rep.id });
      expect(
        await rows(
          env,
          'SELECT first_name, customer_no, user_id2, LegacyCODE, support_rep_id, ReportsTo FROM xt_client',
        ),
      ).toEqual([
        {
          first_name: 'Ann',
          customer_no: 'C-1',
          user_id2: 7,
          LegacyCODE: 'L',
          support_rep_id: rep.id,
          ReportsTo: null,
        },
      ]);
      env.clearCache();
      const found = await env.model(Client).search([
        ['supportRep.lastName', '=', 'Adams'],
        ['customerNo', '=', 'C-1'],
      ]);
      expect(found.ids).toEqual([client.id]);
      expect(await found.toDict(['firstName', 'userID2'])).toEqual({ firstName: 'Ann', userID2: 7 });
    });
  });

  describe('sync() over tables made by raw DDL', () => {
    it('leaves a schema that already matches byte-for-byte as it was, and works in its columns', async () => {
      const lib = freshLib();
      const { Artist, Album, Track, Playlist, Employee, Customer } = musicModels(lib);
      const env = await open(lib);
      await run(env, ddl(env.dialect, musicTables()));
      const before = await dump(env);
      expect(await env.sync()).toEqual(EMPTY);
      expect(await dump(env)).toBe(before);
      expect(await env.sync()).toEqual(EMPTY);
      expect(await dump(env)).toBe(before);

      // create / write / unlink land in the existing columns
      const artist = await env.model(Artist).create({ name: 'AC/DC', legacyNo: 1 });
      const album = await env.model(Album).create({ title: 'Back in Black', artist: artist.id });
      const tracks = await env.model(Track).create([
        { name: 'Hells Bells', album: album.id, unitPrice: '0.99' },
        { name: 'Shoot to Thrill', album: album.id, unitPrice: '0.99' },
      ]);
      const playlist = await env.model(Playlist).create({ name: 'Rock', tracks: { set: tracks.ids } });
      const boss = await env.model(Employee).create({ lastName: 'Adams' });
      const rep = await env.model(Employee).create({ lastName: 'Edwards', manager: boss.id });
      await env.model(Customer).create({ firstName: 'Luís', customerNo: 'C-1', supportRep: rep.id });
      await tracks.at(1).write({ name: 'Shoot To Thrill' });
      expect(await rows(env, 'SELECT Name, AlbumId, UnitPrice FROM Track ORDER BY id')).toEqual([
        { Name: 'Hells Bells', AlbumId: album.id, UnitPrice: env.dialect === 'sqlite' ? 0.99 : '0.99' }, // NUMERIC as text
        { Name: 'Shoot To Thrill', AlbumId: album.id, UnitPrice: env.dialect === 'sqlite' ? 0.99 : '0.99' },
      ]);
      expect(await rows(env, 'SELECT PlaylistId, TrackId FROM PlaylistTrack ORDER BY TrackId')).toEqual(
        tracks.ids.map((id) => ({ PlaylistId: playlist.id, TrackId: id })),
      );
      expect(await rows(env, 'SELECT first_name, customer_no, support_rep_id FROM customer_account')).toEqual([
        { first_name: 'Luís', customer_no: 'C-1', support_rep_id: rep.id },
      ]);
      expect(await rows(env, 'SELECT ReportsTo FROM Employee ORDER BY id')).toEqual([
        { ReportsTo: null },
        { ReportsTo: boss.id },
      ]);

      // NO ACTION is restrict: the delete fails, and the cache and the rows stay
      const refused = await rejection(artist.unlink());
      expect(refused).toBeInstanceOf(lib.ForeignKeyViolationError);
      expect(await artist.name).toBe('AC/DC');
      expect((await album.artist).id).toBe(artist.id);
      await playlist.write({ tracks: { remove: [tracks.ids[0]] } });
      await tracks.at(0).unlink();
      expect(await rows(env, 'SELECT Name FROM Track')).toEqual([{ Name: 'Shoot To Thrill' }]);
    });

    it('an existing foreign key whose ON DELETE differs from the declared rule is a SchemaError before any change', async () => {
      const lib = freshLib();
      musicModels(lib, { albumOnDelete: 'cascade', artistExtra: true });
      const env = await open(lib);
      await run(env, ddl(env.dialect, musicTables()));
      const before = await dump(env);
      const e = await rejection(env.sync());
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toContain('"Album"."ArtistId"');
      expect(e.message).toContain('ON DELETE NO ACTION');
      expect(e.message).toContain("'cascade' is declared");
      // Artist comes first and lacks "country": nothing was added before the refusal
      expect(await dump(env)).toBe(before);
    });

    it('a declared rule matching the existing one is accepted, whatever its spelling (CASCADE, RESTRICT)', async () => {
      for (const [sqlRule, declared] of [
        ['CASCADE', 'cascade'],
        ['RESTRICT', 'restrict'],
      ] as const) {
        const lib = freshLib();
        musicModels(lib, { albumOnDelete: declared });
        const env = await open(lib);
        await run(env, ddl(env.dialect, musicTables(sqlRule)));
        const before = await dump(env);
        expect(await env.sync()).toEqual(EMPTY);
        expect(await dump(env)).toBe(before);
        await env.close();
      }
    });

    it('a foreign key to another column than the target key is not the declared one: sync adds its own', async () => {
      const lib = freshLib();
      musicModels(lib);
      const env = await open(lib);
      const tables = musicTables().map((t) =>
        t.name !== 'Album'
          ? t
          : {
              ...t,
              body: t.body.map((line) => line.replace('REFERENCES Artist (id)', 'REFERENCES Artist (LegacyNo)')),
            },
      );
      await run(env, ddl(env.dialect, tables));
      const report = await env.sync();
      expect(report).toEqual({ ...EMPTY, addedConstraints: ['Album.album_artistid_foreign'] });
      const keys = await rows<{ n: number }>(
        env,
        {
          sqlite: "SELECT count(*) AS n FROM pragma_foreign_key_list('Album') WHERE \"to\" = 'id'",
          mysql:
            "SELECT count(*) AS n FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'Album' AND REFERENCED_COLUMN_NAME = 'id'",
          postgres: `SELECT count(*) AS n FROM information_schema.referential_constraints r
            JOIN information_schema.constraint_column_usage u ON u.constraint_name = r.unique_constraint_name
              AND u.constraint_schema = r.unique_constraint_schema
            JOIN information_schema.table_constraints t ON t.constraint_name = r.constraint_name AND t.constraint_schema = r.constraint_schema
            WHERE r.constraint_schema = current_schema() AND t.table_name = 'Album' AND u.column_name = 'id'`,
        }[env.dialect],
      );
      expect(Number(keys[0].n)).toBe(1);
    });
  });

  describe('readonly models (SQL views)', () => {
    function viewModels(lib: Lib) {
      const { Model, Field, BaseModel } = lib;
      @Model({ name: 'xt_artist', table: 'Artist' })
      class Artist extends BaseModel {
        @Field.string({ column: 'Name', size: 120 }) name!: string | null;
        @Field.one2many(() => AlbumSummary, 'artist') summaries!: AlbumSummary[];
      }
      @Model({ name: 'xt_artist_stats', table: 'ArtistStats', readonly: true })
      class ArtistStats extends BaseModel {
        @Field.string({ column: 'Name' }) name!: string | null;
        @Field.integer({ column: 'AlbumCount' }) albumCount!: number;
      }
      @Model({ name: 'xt_album_summary', table: 'AlbumSummary', readonly: true, order: 'title' })
      class AlbumSummary extends BaseModel {
        @Field.string({ column: 'Title' }) title!: string;
        @Field.many2one(() => Artist, { column: 'ArtistId' }) artist!: Artist;
      }
      // A writable model sync creates, pointing at a view (no FK) and linked to it
      // through an existing relation table (readonly: one side is).
      @Model({ name: 'xt_feature', table: 'xt_feature' })
      class Feature extends BaseModel {
        @Field() label!: string;
        @Field.many2one(() => ArtistStats) stats!: ArtistStats | null;
        @Field.many2many(() => ArtistStats, { relation: 'FeatureStats', column1: 'FeatureId', column2: 'StatsId' })
        highlights!: ArtistStats[];
      }
      return { Artist, ArtistStats, AlbumSummary, Feature };
    }

    const VIEWS = [
      'CREATE VIEW ArtistStats AS SELECT a.id AS id, a.Name AS Name, (SELECT count(*) FROM Album b WHERE b.ArtistId = a.id) AS AlbumCount FROM Artist a',
      'CREATE VIEW AlbumSummary AS SELECT id, Title, ArtistId FROM Album',
    ];
    const LINK: RawTable = {
      name: 'FeatureStats',
      body: ['FeatureId INTEGER NOT NULL', 'StatsId INTEGER NOT NULL', 'PRIMARY KEY (FeatureId, StatsId)'],
    };

    async function withViews(lib: Lib): Promise<Environment> {
      const env = await open(lib);
      await run(env, ddl(env.dialect, [...musicTables().slice(0, 2), LINK]));
      await run(env, VIEWS);
      for (let a = 1; a <= 30; a++) {
        await env.knex('Artist').insert({ Name: `artist ${a}` });
        for (let b = 1; b <= a % 4; b++) await env.knex('Album').insert({ Title: `album ${a}.${b}`, ArtistId: a });
      }
      return env;
    }

    it('sync leaves views alone and adds no foreign key to them; reads and searches cost one statement per hop', async () => {
      const lib = freshLib();
      const { Artist, ArtistStats, Feature } = viewModels(lib);
      const env = await withViews(lib);
      const before = await dump(env);
      expect(await env.sync()).toEqual({ ...EMPTY, createdTables: ['xt_feature'] });
      const after = await dump(env);
      expect(after).not.toBe(before);
      expect(
        await rows(
          env,
          {
            sqlite: "SELECT count(*) AS n FROM pragma_foreign_key_list('xt_feature')",
            mysql:
              "SELECT count(*) AS n FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() AND TABLE_NAME = 'xt_feature'",
            postgres:
              "SELECT count(*)::int AS n FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid WHERE c.contype = 'f' AND t.relname = 'xt_feature'",
          }[env.dialect],
        ),
      ).toEqual([{ n: 0 }]); // a count: a number on every driver
      // the views and tables that existed are as they were: only xt_feature was added
      await env.knex.schema.dropTable('xt_feature');
      expect(await dump(env)).toBe(before);
      await env.sync();

      let stats = env.model(ArtistStats).browse([]);
      expect(
        await countQueries(env, async () => {
          stats = await env.model(ArtistStats).search([['albumCount', '>', 1]]);
        }),
      ).toBe(1);
      const read: Array<[string | null, number]> = [];
      expect(
        await countQueries(env, async () => {
          for (const s of stats) read.push([await s.name, await s.albumCount]);
        }),
      ).toBe(1);
      const sql = await rows<{ Name: string; AlbumCount: number }>(
        env,
        'SELECT Name, AlbumCount FROM ArtistStats WHERE AlbumCount > 1 ORDER BY id',
      );
      expect(read).toEqual(sql.map((r) => [r.Name, Number(r.AlbumCount)]));
      expect(read.length).toBe(15);

      // one2many onto a view, over every artist: one statement for the lists, one for the titles
      const artists = await env.model(Artist).search([]);
      const titles: string[] = [];
      expect(
        await countQueries(env, async () => {
          for (const artist of artists) for (const s of await artist.summaries) titles.push(await s.title);
        }),
      ).toBe(2);
      expect(titles.sort()).toEqual(
        (await rows<{ Title: string }>(env, 'SELECT Title FROM Album')).map((r) => r.Title).sort(),
      );

      // a writable model's many2one onto a view: written, read back through the view
      const feature = await env.model(Feature).create({ label: 'top', stats: stats.ids[0] });
      env.clearCache();
      expect(await (await env.model(Feature).browse(feature.id).stats).name).toBe(read[0][0]);
    });

    it('create / write / unlink on a readonly model are a ValidationError naming it, and send nothing', async () => {
      const lib = freshLib();
      const { ArtistStats, AlbumSummary } = viewModels(lib);
      const env = await withViews(lib);
      await env.sync();
      const stats = await env.model(ArtistStats).search([], { limit: 2 });
      await stats.prefetch();
      const before = await dump(env);
      const attempts: Array<[string, () => Promise<unknown>]> = [
        ['create', () => env.model(ArtistStats).create({ name: 'x', albumCount: 1 })],
        ['create', () => env.model(AlbumSummary).create([])],
        ['write', () => stats.write({ name: 'x' })],
        ['unlink', () => stats.unlink()],
        ['unlink', () => env.model(AlbumSummary).browse([]).unlink()],
      ];
      for (const [kind, attempt] of attempts) {
        let e!: Error;
        expect(
          await countQueries(env, async () => {
            e = await rejection(attempt);
          }),
        ).toBe(0);
        expect(e).toBeInstanceOf(lib.ValidationError);
        expect(e.message).toMatch(
          new RegExp(`^model "xt_(artist_stats|album_summary)" is readonly: ${kind} is not allowed$`),
        );
      }
      expect(await stats.at(0).name).toBe('artist 1');
      expect(await dump(env)).toBe(before);
    });

    it('x2many commands that would write a readonly model or its relation table are refused before any SQL', async () => {
      const lib = freshLib();
      const { Artist, Feature, ArtistStats } = viewModels(lib);
      const env = await withViews(lib);
      await env.sync();
      const artist = env.model(Artist).browse(1);
      const feature = await env.model(Feature).create({ label: 'f' });
      const attempts: Array<[RegExp, () => Promise<unknown>]> = [
        [
          /^xt_artist\.summaries: model "xt_album_summary" is readonly/,
          () => artist.write({ summaries: { add: [1] } }),
        ],
        [
          /^xt_artist\.summaries: model "xt_album_summary" is readonly/,
          () => artist.write({ summaries: { create: [{ title: 't' }] } }),
        ],
        [
          /^xt_artist\.summaries: .*writes model "xt_album_summary"/,
          () => env.model(Artist).create({ name: 'n', summaries: { set: [] } }),
        ],
        [
          /^xt_feature\.highlights: .*writes the relation table "FeatureStats" of model "xt_artist_stats"/,
          () => feature.write({ highlights: { add: [1] } }),
        ],
        [
          /^xt_feature\.highlights: model "xt_artist_stats" is readonly/,
          () => env.model(Feature).create({ label: 'g', highlights: { set: [1] } }),
        ],
      ];
      for (const [message, attempt] of attempts) {
        let e!: Error;
        expect(
          await countQueries(env, async () => {
            e = await rejection(attempt);
          }),
        ).toBe(0);
        expect(e).toBeInstanceOf(lib.ValidationError);
        expect(e.message).toMatch(message);
      }
      // reading through the readonly relation table works
      await env.knex('FeatureStats').insert({ FeatureId: feature.id, StatsId: 3 });
      expect((await feature.highlights).ids).toEqual([3]);
      expect(await (await feature.highlights).name).toBe('artist 3');
      expect(await env.model(Artist).searchCount([])).toBe(30);
      void ArtistStats;
    });

    it('a missing view, a view without a declared column, or a missing relation table with a readonly side is a SchemaError; nothing is created', async () => {
      const lib = freshLib();
      viewModels(lib);
      const env = await open(lib);
      await run(env, ddl(env.dialect, musicTables().slice(0, 2)));
      let before = await dump(env);
      let e = await rejection(env.sync());
      expect(e).toBeInstanceOf(lib.SchemaError);
      expect(e.message).toBe(
        'table "ArtistStats" of readonly model "xt_artist_stats" does not exist: sync() creates nothing for a readonly model; create the table or view first',
      );
      expect(await dump(env)).toBe(before);

      await run(env, ['CREATE VIEW ArtistStats AS SELECT id, Name FROM Artist', VIEWS[1]]);
      before = await dump(env);
      e = await rejection(env.sync());
      expect(e.message).toBe(
        'table "ArtistStats" of readonly model "xt_artist_stats" lacks column(s) "AlbumCount": sync() adds nothing to a readonly model',
      );
      expect(await dump(env)).toBe(before);

      await run(env, ['DROP VIEW ArtistStats', VIEWS[0]]);
      before = await dump(env);
      e = await rejection(env.sync());
      expect(e.message).toBe(
        'table "FeatureStats" of readonly model "xt_artist_stats" does not exist: sync() creates nothing for a readonly model; create the table or view first',
      );
      expect(await dump(env)).toBe(before);

      await run(env, ddl(env.dialect, [LINK]));
      expect((await env.sync()).createdTables).toEqual(['xt_feature']);
    });
  });
});
