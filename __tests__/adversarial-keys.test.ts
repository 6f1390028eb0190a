import 'reflect-metadata';
import {
  BaseModel,
  Environment,
  Field,
  MissingError,
  Model,
  SingletonError,
  UniqueViolationError,
  ValidationError,
} from '../lib';
import { countQueries, describeEachDatabase, postgresCaseless, rawRows } from './helpers/databases';

/**
 * An adversarial pass over issue 10 (keys of any column and type). The first tests
 * are probes that held (odd keys, batches past the statement limits, duplicates in a
 * batch, x2many commands, savepoints); the last three are the bugs it found:
 * - invalidateRecord with a key of the wrong type ('5' for 5) dropped nothing, silently;
 * - on MariaDB, write/unlink of a non-ASCII string key in a latin1 key column was a
 *   MissingError (with no key counted) for a row that reads found (whereKeyIn compared
 *   the column's latin1 bytes with the key's UTF-8 bytes);
 * - on MariaDB, sync() of a new table with a many2one to an existing table whose key is
 *   `INT` (signed) or a utf8mb3 VARCHAR failed (ER_CANT_CREATE_TABLE): the referencing
 *   column took proxorm's type for the key, not the existing column's.
 */

type Lib = typeof import('../lib');

function freshLib(): Lib {
  let lib!: Lib;
  jest.isolateModules(() => {
    lib = require('../lib') as Lib;
  });
  return lib;
}

@Model({ name: 'adv_user', table: 'adv_user', primaryKey: { column: 'login', type: 'string', size: 64 } })
class User extends BaseModel {
  declare readonly id: string;
  @Field({ required: true }) name!: string;
  @Field.many2one(() => User, { column: 'boss_login' }) boss!: User | null;
  @Field.one2many(() => User, 'boss') reports!: User[];
  @Field.many2many(() => Tag, { relation: 'adv_user_tag', column1: 'login', column2: 'tag_ref' }) tags!: Tag[];
}

@Model({ name: 'adv_tag', table: 'adv_tag', primaryKey: { column: 'ref', type: 'uuid' } })
class Tag extends BaseModel {
  declare readonly id: string;
  @Field({ required: true }) label!: string;
  @Field.one2many(() => Note, 'tag') notes!: Note[];
  @Field.many2many(() => Note, { relation: 'adv_tag_note', column1: 'tag_ref', column2: 'note_ref' }) pinned!: Note[];
}

@Model({ name: 'adv_note', table: 'adv_note', primaryKey: { column: 'ref', type: 'uuid' } })
class Note extends BaseModel {
  declare readonly id: string;
  @Field() body!: string;
  @Field.many2one(() => Tag, { column: 'tag_ref' }) tag!: Tag | null;
}

@Model({ name: 'adv_track', table: 'adv_track', primaryKey: 'TrackId' })
class Track extends BaseModel {
  @Field() title!: string;
}

describeEachDatabase('adversarial keys', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
  });
  afterEach(async () => {
    await env.close();
  });

  it('odd string keys (__proto__, constructor, "1" and "01", trailing and leading spaces, case, NUL, emoji, SQL) are distinct keys everywhere', async () => {
    const keys = [
      '__proto__',
      'constructor',
      'hasOwnProperty',
      '1',
      '01',
      'a',
      'a ',
      ' a',
      'A',
      'a\u0000b',
      '😀',
      "x'; DROP TABLE adv_user; --",
    ].filter((k) => db.name !== 'postgres' || !k.includes('\u0000'));
    // PostgreSQL stores no U+0000: such a key is refused before any SQL, and is no record.
    const nulKey = db.name === 'postgres' ? '01' : 'a\u0000b';
    if (db.name === 'postgres') {
      const queries = await countQueries(env, async () => {
        await expect(env.model(User).create({ id: 'a\u0000b', name: 'x' })).rejects.toThrow(
          /adv_user\.create: a key holds the character U\+0000, which PostgreSQL cannot store/,
        );
      });
      expect(queries).toBe(0);
      await expect(env.fork().model(User).browse('a\u0000b').name).rejects.toThrow(MissingError);
    }
    await env.model(User).create(keys.map((id, i) => ({ id, name: `n${i}` })));
    const fresh = env.fork();
    for (const [i, k] of keys.entries()) expect(await fresh.model(User).browse(k).name).toBe(`n${i}`);
    const all = await env.fork().model(User).search([], { order: 'id' });
    expect([...all.ids].sort()).toEqual([...keys].sort());
    const f2 = env.fork();
    expect((await f2.model(User).browse(keys).read(['name'])).map((r) => r.id)).toEqual(keys);
    for (const [i, k] of keys.entries())
      expect(await f2.model(User).browse(k).toDict(['name'])).toEqual({ name: `n${i}` });
    for (const k of keys)
      expect(
        (
          await env
            .fork()
            .model(User)
            .search([['id', '=', k]])
        ).ids,
      ).toEqual([k]);
    expect(
      (
        await env
          .fork()
          .model(User)
          .search([['id', 'in', keys]])
      ).length,
    ).toBe(keys.length);
    expect(
      (
        await env
          .fork()
          .model(User)
          .search([['id', 'not in', keys]])
      ).length,
    ).toBe(0);
    expect(
      (
        await env
          .fork()
          .model(User)
          .search([['id', '!=', 'a']])
      ).length,
    ).toBe(keys.length - 1);
    await f2.model(User).browse([nulKey, '__proto__']).write({ boss: 'constructor' });
    const f3 = env.fork();
    expect((await f3.model(User).browse('constructor').reports).ids.slice().sort()).toEqual(
      ['__proto__', nulKey].sort(),
    );
    await f3.model(User).browse('a').unlink();
    expect(await env.fork().model(User).searchCount()).toBe(keys.length - 1);
    expect(await env.fork().model(User).browse('a ').name).toBe('n6');
    expect(() => env.model(User).browse(1 as unknown as string)).toThrow(ValidationError);
  });

  it("batches past 1,000 rows and SQLite's 500-row INSERT, with given and generated keys mixed, read back right", async () => {
    const q = await countQueries(env, () =>
      env.model(User).create(Array.from({ length: 1234 }, (_, i) => ({ id: `u${i}`, name: `n${i}` }))),
    );
    expect(q).toBe(db.name === 'sqlite' ? 3 : 2); // 500 rows a statement on SQLite, 1,000 on MariaDB
    const tags = Array.from({ length: 1100 }, (_, i) =>
      i % 3 === 0 ? { label: `t${i}`, id: crypto.randomUUID() } : { label: `t${i}` },
    );
    const created = await env.model(Tag).create(tags);
    tags.forEach((t, i) => {
      if (t.id) expect(created.ids[i]).toBe(t.id);
    });
    const fresh = env.fork();
    const all = await fresh.model(User).search([]);
    expect(
      await countQueries(fresh, async () => {
        for (const u of all) await u.name;
      }),
    ).toBe(2);
    const tracks = await env
      .model(Track)
      .create([{ id: 50, title: 'a' }, { title: 'b' }, { id: 70, title: 'c' }, { title: 'd' }, { title: 'e' }]);
    const rows = await env.knex('adv_track').select('TrackId', 'title').orderBy('TrackId');
    expect(rows).toEqual(tracks.ids.map((TrackId, i) => ({ TrackId, title: 'abcde'[i] })));
  });

  it('duplicate keys within one batch, or of a stored row, fail the whole create and leave nothing', async () => {
    await env.model(User).create({ id: 'keep', name: 'k' });
    await expect(
      env.model(User).create([
        { id: 'd', name: '1' },
        { id: 'd', name: '2' },
      ]),
    ).rejects.toThrow(UniqueViolationError);
    await expect(
      env.model(User).create([
        { id: 'e', name: '1' },
        { id: 'keep', name: '2' },
      ]),
    ).rejects.toThrow(UniqueViolationError);
    expect(await env.model(User).searchCount()).toBe(1);
    await expect(env.model(User).browse('d').name).rejects.toThrow(MissingError);
    await expect(env.model(User).browse('e').name).rejects.toThrow(MissingError);
    expect(await env.model(User).browse('keep').name).toBe('k');
  });

  it('x2many commands over string and uuid keys, prefetch over uuid keys on both sides, messages without keys', async () => {
    const [t1, t2, t3] = (await env.model(Tag).create([{ label: '1' }, { label: '2' }, { label: '3' }])).ids;
    const u = await env.model(User).create({ id: 'u', name: 'u', tags: { set: [t1, t2] } });
    await u.write({ tags: { remove: [t1], add: [t3], create: [{ label: '4' }] } });
    expect((await u.tags).length).toBe(3);
    expect((await env.fork().model(User).browse('u').tags).length).toBe(3);
    await u.write({
      reports: {
        create: [
          { id: 'r1', name: 'r1' },
          { id: 'r2', name: 'r2' },
        ],
      },
    });
    await u.write({ reports: { remove: ['r1'] } });
    expect((await u.reports).ids).toEqual(['r2']);
    expect((await env.fork().model(User).browse('u').reports).ids).toEqual(['r2']);
    await expect(u.write({ reports: { add: ['nobody'] } })).rejects.toThrow(/^adv_user: 1 record\(s\) do not exist/);
    await env
      .model(Tag)
      .browse(t1)
      .write({ notes: { create: [{ body: 'n1' }, { body: 'n2' }] }, pinned: { create: [{ body: 'p' }] } });
    const f = env.fork();
    const q = await countQueries(f, async () => {
      const tags = await f.model(Tag).search([]);
      for (const t of tags) {
        for (const n of await t.notes) await n.body;
        for (const n of await t.pinned) await n.body;
      }
    });
    expect(q).toBe(5); // tags, notes, their bodies, pinned, their bodies
    const two = env.model(User).browse(['u', 'r2']);
    expect(() => two.name).toThrow(SingletonError);
    expect(() => two.name).toThrow(/has 2$/);
  });

  it('savepoints with string keys: a rolled-back level leaves neither rows nor cache entries', async () => {
    await env.model(User).create({ id: 'base', name: 'b' });
    await expect(
      env.transaction(async () => {
        await env.model(User).create({ id: 't1', name: 't' });
        await env
          .transaction(async () => {
            await env.model(User).browse('base').write({ name: 'changed' });
            await env.model(User).create({ id: 't2', name: 't' });
            throw new Error('inner');
          })
          .catch(() => undefined);
        expect(await env.model(User).browse('base').name).toBe('b');
        await expect(env.model(User).browse('t2').name).rejects.toThrow(MissingError);
        throw new Error('outer');
      }),
    ).rejects.toThrow('outer');
    await expect(env.model(User).browse('t1').name).rejects.toThrow(MissingError);
    expect(await env.model(User).searchCount()).toBe(1);
  });

  it('bug: invalidateRecord checks keys as browse does (a string "5" for the integer key 5 was silently ignored)', async () => {
    const [id] = (await env.model(Track).create({ title: 'old' })).ids;
    expect(await env.model(Track).browse(id).title).toBe('old');
    await env.knex('adv_track').update({ title: 'new' });
    expect(() => env.invalidateRecord(Track, String(id) as unknown as number)).toThrow(ValidationError);
    expect(() => env.invalidateRecord(Track, String(id) as unknown as number)).toThrow(
      /adv_track\.invalidateRecord: invalid key: expected an integer key/,
    );
    expect(() => env.invalidateRecord(User, 5)).toThrow(/expected a string key/);
    expect(() => env.invalidateRecord('adv_nope', 1)).toThrow(/there is no model named "adv_nope"/);
    expect(await env.model(Track).browse(id).title).toBe('old'); // nothing dropped by the refused calls
    env.invalidateRecord('adv_track', id);
    expect(await env.model(Track).browse(id).title).toBe('new');
  });

  if (db.name === 'mariadb') {
    it('bug: a non-ASCII string key in a latin1 key column is written and unlinked, not a MissingError', async () => {
      await env.knex.schema.dropTable('adv_user_tag');
      await env.knex.raw('SET FOREIGN_KEY_CHECKS = 0');
      await env.knex.schema.dropTable('adv_user');
      await env.knex.raw('SET FOREIGN_KEY_CHECKS = 1');
      await env.knex.raw(
        'CREATE TABLE adv_user (login VARCHAR(64) PRIMARY KEY, name VARCHAR(255) NOT NULL, boss_login VARCHAR(64)) CHARSET latin1 COLLATE latin1_swedish_ci',
      );
      await env.knex('adv_user').insert({ login: 'café', name: 'stored' });
      const fresh = env.fork();
      expect(await fresh.model(User).browse('café').name).toBe('stored');
      // Exact still: the near keys change nothing.
      await expect(fresh.model(User).browse('CAFÉ').write({ name: 'near' })).rejects.toThrow(MissingError);
      await expect(fresh.model(User).browse('café ').write({ name: 'near' })).rejects.toThrow(MissingError);
      await fresh.model(User).browse('café').write({ name: 'changed' });
      expect(await env.knex('adv_user').select('login', 'name')).toEqual([{ login: 'café', name: 'changed' }]);
      expect(await env.fork().model(User).browse('café').name).toBe('changed');
      await fresh.model(User).browse('CAFÉ').unlink();
      expect(await env.knex('adv_user').count({ n: '*' })).toEqual([{ n: 1 }]);
      await fresh.model(User).browse('café').unlink();
      expect(await env.knex('adv_user').count({ n: '*' })).toEqual([{ n: 0 }]);
    });

    it('bug: a new table referencing existing INT and utf8mb3 keys gets their exact column types, so sync() adds its foreign keys', async () => {
      const lib = freshLib();
      const raw = await lib.Environment.open(db.config);
      const cleanup: Array<() => Promise<void>> = [];
      try {
        for (const t of ['adv_review', 'adv_artist', 'adv_genre', 'adv_code'])
          await raw.knex.raw('DROP TABLE IF EXISTS ??', [t]);
        await raw.knex.raw(
          'CREATE TABLE adv_artist (ArtistId INT NOT NULL, Name VARCHAR(120), PRIMARY KEY (ArtistId)) CHARSET utf8mb3 COLLATE utf8mb3_general_ci',
        );
        await raw.knex.raw(
          'CREATE TABLE adv_genre (GenreId INT NOT NULL AUTO_INCREMENT, Name VARCHAR(120), PRIMARY KEY (GenreId))',
        );
        await raw.knex.raw(
          'CREATE TABLE adv_code (Code VARCHAR(10) NOT NULL, PRIMARY KEY (Code)) CHARSET utf8mb3 COLLATE utf8mb3_general_ci',
        );
        @lib.Model({
          name: 'adv_artist',
          table: 'adv_artist',
          primaryKey: { column: 'ArtistId', type: 'integer', generated: false },
        })
        class Artist extends lib.BaseModel {
          @lib.Field.string({ column: 'Name', size: 120 }) name!: string | null;
        }
        @lib.Model({ name: 'adv_genre', table: 'adv_genre', primaryKey: 'GenreId' })
        class Genre extends lib.BaseModel {
          @lib.Field.string({ column: 'Name', size: 120 }) name!: string | null;
        }
        @lib.Model({ name: 'adv_code', table: 'adv_code', primaryKey: { column: 'Code', type: 'string', size: 10 } })
        class Code extends lib.BaseModel {
          declare readonly id: string;
        }
        @lib.Model({ name: 'adv_review', table: 'adv_review' })
        class Review extends lib.BaseModel {
          @lib.Field.many2one(() => Artist, { onDelete: 'cascade' }) artist!: Artist | null;
          @lib.Field.many2one(() => Genre, { onDelete: 'cascade' }) genre!: Genre | null;
          @lib.Field.many2one(() => Code, { onDelete: 'cascade' }) code!: Code | null;
        }
        // Opened once the models exist: an Environment maps the models registered when it opens.
        const mapped = await lib.Environment.open({ ...db.config, models: [Artist, Genre, Code, Review] });
        cleanup.push(() => mapped.close());
        const report = await mapped.sync();
        expect(report.createdTables).toEqual(['adv_review']);
        const [cols] = (await raw.knex.raw(
          `SELECT COLUMN_NAME AS c, COLUMN_TYPE AS t, COLLATION_NAME AS coll FROM information_schema.COLUMNS
           WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'adv_review' AND COLUMN_NAME <> 'id' ORDER BY COLUMN_NAME`,
        )) as [Array<{ c: string; t: string; coll: string | null }>];
        expect(cols).toEqual([
          { c: 'artist_id', t: 'int(11)', coll: null },
          { c: 'code_id', t: 'varchar(10)', coll: 'utf8mb3_general_ci' },
          { c: 'genre_id', t: 'int(11)', coll: null },
        ]);
        const artist = await mapped.model(Artist).create({ id: 7, name: 'a' });
        const genre = await mapped.model(Genre).create({ name: 'g' });
        await mapped.model(Code).create({ id: 'X1' });
        await mapped.model(Review).create({ artist, genre, code: 'X1' });
        await expect(mapped.model(Review).create({ artist: 8 })).rejects.toThrow(lib.ForeignKeyViolationError);
        await artist.unlink();
        expect(await mapped.fork().model(Review).searchCount()).toBe(0); // ON DELETE CASCADE is in place
        const again = await mapped.sync();
        expect(again).toEqual({ createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] });
      } finally {
        for (const close of cleanup) await close();
        for (const t of ['adv_review', 'adv_artist', 'adv_genre', 'adv_code'])
          await raw.knex.raw('DROP TABLE IF EXISTS ??', [t]);
        await raw.close();
      }
    });
  }

  if (db.name === 'postgres') {
    it('a new table referencing existing INT, VARCHAR(36) and caseless keys gets their column types, so sync() adds its foreign keys', async () => {
      // A uuid key stored as VARCHAR(36) by another program: a native uuid column could not
      // reference it (PostgreSQL has no uuid = varchar operator for a foreign key).
      const lib = freshLib();
      const raw = await lib.Environment.open({ ...db.config, models: [] });
      const cleanup: Array<() => Promise<void>> = [];
      const drop = async () => {
        for (const t of ['adv_review', 'adv_artist', 'adv_ticket', 'adv_code'])
          await raw.knex.raw('DROP TABLE IF EXISTS ?? CASCADE', [t]);
      };
      try {
        await drop();
        const caseless = await postgresCaseless(raw);
        await raw.knex.raw('CREATE TABLE adv_artist ("ArtistId" INT NOT NULL PRIMARY KEY, "Name" VARCHAR(120))');
        await raw.knex.raw('CREATE TABLE adv_ticket (ref VARCHAR(36) NOT NULL PRIMARY KEY)');
        await raw.knex.raw(`CREATE TABLE adv_code ("Code" VARCHAR(10) COLLATE ${caseless} NOT NULL PRIMARY KEY)`);
        @lib.Model({
          name: 'adv_artist',
          table: 'adv_artist',
          primaryKey: { column: 'ArtistId', type: 'integer', generated: false },
        })
        class Artist extends lib.BaseModel {
          @lib.Field.string({ column: 'Name', size: 120 }) name!: string | null;
        }
        @lib.Model({ name: 'adv_ticket', table: 'adv_ticket', primaryKey: { column: 'ref', type: 'uuid' } })
        class Ticket extends lib.BaseModel {
          declare readonly id: string;
        }
        @lib.Model({ name: 'adv_code', table: 'adv_code', primaryKey: { column: 'Code', type: 'string', size: 10 } })
        class Code extends lib.BaseModel {
          declare readonly id: string;
        }
        @lib.Model({ name: 'adv_review', table: 'adv_review' })
        class Review extends lib.BaseModel {
          @lib.Field.many2one(() => Artist, { onDelete: 'cascade' }) artist!: Artist | null;
          @lib.Field.many2one(() => Ticket, { onDelete: 'cascade' }) ticket!: Ticket | null;
          @lib.Field.many2one(() => Code, { onDelete: 'cascade' }) code!: Code | null;
        }
        const mapped = await lib.Environment.open({ ...db.config, models: [Artist, Ticket, Code, Review] });
        cleanup.push(() => mapped.close());
        const report = await mapped.sync();
        expect(report.createdTables).toEqual(['adv_review']);
        expect(
          await rawRows(
            raw,
            `SELECT column_name AS c, data_type AS t, collation_name AS coll FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = 'adv_review' AND column_name <> 'id' ORDER BY column_name`,
          ),
        ).toEqual([
          { c: 'artist_id', t: 'integer', coll: null },
          { c: 'code_id', t: 'character varying', coll: caseless },
          { c: 'ticket_id', t: 'character varying', coll: null },
        ]);
        const artist = await mapped.model(Artist).create({ id: 7, name: 'a' });
        const ticket = await mapped.model(Ticket).create({});
        await mapped.model(Code).create({ id: 'X1' });
        await mapped.model(Review).create({ artist, ticket, code: 'X1' });
        await expect(mapped.model(Review).create({ artist: 8 })).rejects.toThrow(lib.ForeignKeyViolationError);
        await ticket.unlink();
        expect(await mapped.fork().model(Review).searchCount()).toBe(0); // ON DELETE CASCADE is in place
        expect(await mapped.sync()).toEqual({
          createdTables: [],
          addedColumns: [],
          addedIndexes: [],
          addedConstraints: [],
        });
      } finally {
        for (const close of cleanup) await close();
        await drop();
        await raw.close();
      }
    });
  }
});
