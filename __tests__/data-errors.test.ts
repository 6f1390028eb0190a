import 'reflect-metadata';
import { inspect } from 'node:util';
import {
  BaseModel,
  DatabaseError,
  DataError,
  Environment,
  Field,
  ForeignKeyViolationError,
  Model,
  NotNullViolationError,
  UniqueViolationError,
  type RecordSet,
} from '../lib';
import { schemaOf } from '../lib/model/registry';
import { loadRows } from '../lib/query/statements';
import { describeEachDatabase } from './helpers/databases';

/*
 * Data another program wrote, and what errors carry.
 *
 * 1. A stored value that does not decode as its field's type fails the reads of that
 *    one cell with a DataError (model, field, key; never the value): loadRows returns
 *    the DataError in the cell, every other cell of the 1,000-record load decodes.
 * 2. The record-level form of 1: the readers of that cell are rejected with it, the
 *    others get their values, and the cell is not cached (these need the loader to
 *    honour the DataError-in-a-cell contract of LoadedColumns).
 * 3. A refused statement's error holds no bound value: not in its message, stack, sql,
 *    cause, JSON or util.inspect form.
 */

@Model('de_owner')
class Owner extends BaseModel {
  @Field.string() name!: string | null;
  @Field.one2many(() => Item, 'owner') items!: Item[];
  @Field.many2many(() => Item, { relation: 'de_owner_item_rel', column1: 'owner_id', column2: 'item_id' })
  tagged!: Item[];
}

@Model('de_item')
class Item extends BaseModel {
  @Field.string({ size: 40 }) name!: string | null;
  @Field.text() body!: string | null;
  @Field.integer() qty!: number | null;
  @Field.float() ratio!: number | null;
  @Field.decimal({ precision: 10, scale: 2 }) amount!: string | null;
  @Field.boolean() flag!: boolean | null;
  @Field.datetime() seen!: Date | null;
  @Field.json() meta!: unknown;
  @Field.many2one(() => Owner) owner!: Owner | null;
}

/** String fields over columns another program declared (see the coercion test). */
@Model('de_label')
class Label extends BaseModel {
  @Field.string() code!: string | null;
  @Field.string() tag!: string | null;
}

/** Over a table made by hand with stricter columns than the model declares (section 3). */
@Model('de_account')
class Account extends BaseModel {
  @Field.string({ size: 80, unique: true }) email!: string | null;
  @Field.string({ size: 200 }) secret!: string | null;
  @Field.many2one(() => Owner, { onDelete: 'restrict' }) owner!: Owner | null;
  @Field.string() note!: string | null;
  @Field.string() code!: string | null;
  @Field.string() num!: string | null;
}

type ItemField = 'name' | 'body' | 'qty' | 'ratio' | 'amount' | 'flag' | 'seen' | 'meta' | 'owner';
const ITEM_FIELDS: readonly ItemField[] = ['name', 'body', 'qty', 'ratio', 'amount', 'flag', 'seen', 'meta', 'owner'];
const COLUMN: Record<ItemField, string> = {
  name: 'name',
  body: 'body',
  qty: 'qty',
  ratio: 'ratio',
  amount: 'amount',
  flag: 'flag',
  seen: 'seen',
  meta: 'meta',
  owner: 'owner_id',
};

const N = 1000;
/** Index of the record whose cell is bad: one in the middle of the prefetch set. */
const BAD = 499;
const T0 = Date.UTC(2024, 0, 1);

/** What record i holds: the values it is created with, which are also the canonical values it reads back. */
function itemValues(i: number, owners: readonly number[]) {
  return {
    name: `n${i}`,
    body: `b${i}`,
    qty: i,
    ratio: i + 0.5,
    amount: `${i}.25`,
    flag: i % 2 === 0,
    seen: new Date(T0 + i * 60_000),
    meta: { i },
    owner: owners[i % 2],
  };
}
const expected = (i: number, owners: readonly number[]): Record<ItemField, unknown> => itemValues(i, owners);

/**
 * A bad cell: the value another program stored, per database (absent: that database
 * cannot hold it). On MariaDB the column is first changed to VARCHAR(64), since the
 * server refuses these values in the column type sync gives, unless `mariadbNative`.
 */
interface BadCell {
  readonly what: string;
  readonly field: ItemField;
  readonly detail: string;
  readonly sqlite?: unknown;
  readonly mariadb?: unknown;
  readonly mariadbNative?: boolean;
  /** PostgreSQL's, stored in a column loosened to VARCHAR(64) unless `postgresNative`. */
  readonly postgres?: unknown;
  readonly postgresNative?: boolean;
}

const CASES: readonly BadCell[] = [
  {
    what: 'text that is not JSON in a json column',
    field: 'meta',
    detail: 'JSON document',
    sqlite: 'json-BAD {',
    mariadb: 'json-BAD {',
    mariadbNative: true,
    postgres: 'json-BAD {',
  },
  {
    what: 'text in an integer column',
    field: 'qty',
    detail: 'integer',
    sqlite: 'qty-BAD',
    mariadb: 'qty-BAD',
    postgres: 'qty-BAD',
  },
  {
    what: 'a fraction in an integer column',
    field: 'qty',
    detail: 'integer',
    sqlite: 12.75,
    mariadb: '12.75',
    postgres: '12.75',
  },
  {
    what: 'an integer past the safe range',
    field: 'qty',
    detail: 'integer',
    sqlite: 2n ** 53n + 1n,
    mariadb: '9007199254740993',
    mariadbNative: true,
    postgres: '9007199254740993',
    postgresNative: true,
  },
  {
    what: "'yes' in a boolean column",
    field: 'flag',
    detail: 'boolean (0 or 1)',
    sqlite: 'yes-BAD',
    mariadb: 'yes-BAD',
    // PostgreSQL: a boolean column holds booleans only (and proxorm writes true/false to a text one).
  },
  {
    what: '7 in a boolean column',
    field: 'flag',
    detail: 'boolean (0 or 1)',
    sqlite: 7,
    mariadb: 7,
    mariadbNative: true,
  },
  {
    what: 'text in a datetime column',
    field: 'seen',
    detail: 'datetime',
    sqlite: 'date-BAD',
    mariadb: 'date-BAD',
    postgres: 'date-BAD',
  },
  {
    what: 'a day that does not exist',
    field: 'seen',
    detail: 'datetime',
    sqlite: '2024-02-30T10:00:00.000Z',
    mariadb: '2024-02-30 10:00:00.000',
    postgres: '2024-02-30 10:00:00.000',
  },
  {
    what: "MariaDB's zero date",
    field: 'seen',
    detail: 'datetime',
    mariadb: '0000-00-00 00:00:00',
    mariadbNative: true,
  },
  {
    what: 'text in a float column',
    field: 'ratio',
    detail: 'finite number',
    sqlite: 'ratio-BAD',
    mariadb: 'ratio-BAD',
    postgres: 'ratio-BAD',
  },
  {
    what: 'an infinite float',
    field: 'ratio',
    detail: 'finite number',
    sqlite: Infinity,
    mariadb: 'Infinity',
    postgres: 'Infinity',
    postgresNative: true,
  },
  {
    what: 'text in a decimal column',
    field: 'amount',
    detail: 'decimal(10,2)',
    sqlite: 'amount-BAD',
    mariadb: 'amount-BAD',
    postgres: 'amount-BAD',
  },
  {
    what: 'a decimal with more digits than its precision',
    field: 'amount',
    detail: 'decimal(10,2)',
    sqlite: 123456789.5,
    mariadb: '123456789.50',
    postgres: '123456789.50',
  },
  {
    what: 'text in a many2one column',
    field: 'owner',
    detail: 'record key',
    sqlite: 'owner-BAD',
    mariadb: 'owner-BAD',
    postgres: 'owner-BAD',
  },
  {
    what: 'a negative id in a many2one column',
    field: 'owner',
    detail: 'record key',
    sqlite: -3,
    mariadb: '-3',
    postgres: -3,
    postgresNative: true,
  },
  {
    what: 'bytes that are not UTF-8 in a string column',
    field: 'name',
    detail: 'string',
    sqlite: Buffer.from([0x6e, 0xff, 0xfe]),
  },
];

describeEachDatabase('data errors', (db) => {
  let env: Environment;
  beforeEach(async () => {
    env = await db.open();
  });
  afterEach(async () => {
    await env.close();
  });

  /** Two owners and N items (owners alternate), created through a fork. */
  async function seed(): Promise<{ owners: readonly number[]; items: readonly number[] }> {
    const w = env.fork();
    const owners = (await w.model(Owner).create([{ name: 'even' }, { name: 'odd' }])).ids;
    const items = await w.model(Item).create(Array.from({ length: N }, (_, i) => itemValues(i, owners)));
    return { owners, items: items.ids };
  }

  /** The raw value to store for `c` on this database. */
  const stored = (c: BadCell) => c[db.name];

  /**
   * Makes the column of `c` able to hold its bad value (MariaDB, PostgreSQL), before any
   * row exists; a bad many2one value cannot reference a row either (PostgreSQL).
   */
  async function loosen(c: BadCell): Promise<void> {
    if (db.name === 'postgres') {
      if (c.field === 'owner') await env.knex.raw('ALTER TABLE de_item DROP CONSTRAINT de_item_owner_id_foreign');
      if (!c.postgresNative)
        await env.knex.raw('ALTER TABLE de_item ALTER COLUMN ?? TYPE VARCHAR(64) USING ??::text', [
          COLUMN[c.field],
          COLUMN[c.field],
        ]);
      return;
    }
    if (db.name !== 'mariadb' || c.mariadbNative) return;
    if (c.field === 'owner') await env.knex.raw('ALTER TABLE de_item DROP FOREIGN KEY de_item_owner_id_foreign');
    await env.knex.raw('ALTER TABLE de_item MODIFY ?? VARCHAR(64)', [COLUMN[c.field]]);
  }

  /** Writes a value past proxorm, as another program would (SQLite: with FK checks off). */
  async function writeRaw(table: string, id: number, column: string, value: unknown): Promise<void> {
    if (db.name === 'sqlite') await env.knex.raw('PRAGMA foreign_keys = OFF');
    try {
      await env
        .knex(table)
        .where('id', id)
        .update({ [column]: value as never });
    } finally {
      if (db.name === 'sqlite') await env.knex.raw('PRAGMA foreign_keys = ON');
    }
  }

  async function insertRaw(table: string, row: Record<string, unknown>): Promise<void> {
    if (db.name === 'sqlite') await env.knex.raw('PRAGMA foreign_keys = OFF');
    try {
      await env.knex(table).insert(row);
    } finally {
      if (db.name === 'sqlite') await env.knex.raw('PRAGMA foreign_keys = ON');
    }
  }

  /** N items, record BAD's cell of `c` overwritten with the bad value. */
  async function seedWithBadCell(c: BadCell) {
    await loosen(c);
    const seeded = await seed();
    await writeRaw('de_item', seeded.items[BAD], COLUMN[c.field], stored(c));
    return seeded;
  }

  function expectDataError(err: unknown, c: BadCell, key: number): void {
    expect(err).toBeInstanceOf(DataError);
    const e = err as DataError;
    expect({ model: e.model, field: e.field, key: e.key }).toEqual({ model: 'de_item', field: c.field, key });
    expect(e.message).toContain(c.detail);
    expect(e.message).not.toContain(String(stored(c)));
    // Not the stack: its file:line:col positions may hold any digit (a stored 7, say).
    expect(inspect(e).replace(e.stack ?? '', '')).not.toContain(String(stored(c)));
  }

  describe('loadRows: a bad cell is a DataError in its place, every other cell decodes', () => {
    for (const c of CASES.filter((x) => stored(x) !== undefined)) {
      it(c.what, async () => {
        const { owners, items } = await seedWithBadCell(c);
        const schema = schemaOf(Item);
        const fields = ITEM_FIELDS.map((f) => schema.fields.get(f)!);
        const before = env.stats.queries;
        const { ids, columns } = await loadRows(env.session.scope().executor, schema, items, fields);
        expect(env.stats.queries - before).toBe(1);
        // Rows come in the order the database gives (PostgreSQL: an updated row moves).
        expect([...ids].sort((a, b) => Number(a) - Number(b))).toEqual(items);
        const row = new Map(ids.map((id, r) => [id, r]));
        fields.forEach((f, fi) => {
          for (let j = 0; j < N; j++) {
            const cell = columns[fi][row.get(items[j])!];
            if (j === BAD && f.name === c.field) expectDataError(cell, c, items[BAD]);
            else if (cell !== expected(j, owners)[f.name as ItemField])
              expect(cell).toEqual(expected(j, owners)[f.name as ItemField]);
          }
        });
      });
    }
  });

  // Need the loader to reject the readers of a DataError cell (and not cache it).
  describe('records: only the reads of the bad cell fail', () => {
    for (const c of CASES.filter((x) => stored(x) !== undefined)) {
      it(c.what, async () => {
        const { owners, items } = await seedWithBadCell(c);
        const reader = env.fork();
        const before = reader.stats.queries;
        const recs = await reader.model(Item).search([]);
        const read = (r: RecordSet<Item>, f: ItemField): Promise<unknown> =>
          f === 'owner' ? r.owner.then((o) => o.id) : r[f];
        const results = await Promise.allSettled([...recs].map((r) => read(r, c.field)));
        const failed = results.flatMap((r, j) => (r.status === 'rejected' ? [j] : []));
        expect(failed).toEqual([BAD]);
        expectDataError((results[BAD] as PromiseRejectedResult).reason, c, items[BAD]);
        results.forEach((r, j) => {
          if (j !== BAD) expect((r as PromiseFulfilledResult<unknown>).value).toEqual(expected(j, owners)[c.field]);
        });
        // Every other field of the bad record was loaded with it.
        const bad = recs.at(BAD);
        for (const f of ITEM_FIELDS.filter((x) => x !== c.field))
          expect(await read(bad, f)).toEqual(expected(BAD, owners)[f]);
        expect(reader.stats.queries - before).toBe(2); // search, one load of the 1,000
        // Not cached: a second read asks the database again, and fails the same way.
        const again = await read(bad, c.field).then(
          () => undefined,
          (e: unknown) => e,
        );
        expectDataError(again, c, items[BAD]);
        expect(reader.stats.queries - before).toBe(3);
      });
    }
  });

  describe('string fields over columns of another type', () => {
    /** de_label by hand: a numeric column and a binary one, as another program made them. */
    async function labels(): Promise<number[]> {
      await env.knex.schema.dropTable('de_label');
      await env.knex.schema.createTable('de_label', (t) => {
        t.increments('id');
        // SQLite: columns without a type keep what is stored (numbers, blobs) as it is.
        t.specificType('code', { sqlite: '', mariadb: 'DOUBLE', postgres: 'DOUBLE PRECISION' }[db.name]);
        t.specificType('tag', { sqlite: '', mariadb: 'VARBINARY(16)', postgres: 'BYTEA' }[db.name]);
      });
      await env.knex('de_label').insert([
        { code: 42, tag: Buffer.from('hi') },
        { code: 1.5, tag: Buffer.from([0xff, 0xfe]) },
      ]);
      return (await env.knex('de_label').select('id').orderBy('id')).map((r: { id: number }) => Number(r.id));
    }

    it('loadRows: a number reads as its text (String(n)), UTF-8 bytes as text, other bytes as a DataError', async () => {
      const ids = await labels();
      const schema = schemaOf(Label);
      const { columns } = await loadRows(env.session.scope().executor, schema, ids, [
        schema.fields.get('code')!,
        schema.fields.get('tag')!,
      ]);
      expect(columns[0]).toEqual(['42', '1.5']);
      expect(columns[1][0]).toBe('hi');
      expect(columns[1][1]).toBeInstanceOf(DataError);
      expect(columns[1][1]).toMatchObject({ model: 'de_label', field: 'tag', key: ids[1] });
    });

    // Needs the loader to reject the readers of a DataError cell.
    it('records: the same, through reads', async () => {
      const ids = await labels();
      const recs = env.model(Label).browse(ids);
      expect(await recs.at(0).code).toBe('42');
      expect(await recs.at(1).code).toBe('1.5');
      expect(await recs.at(0).tag).toBe('hi');
      await expect(recs.at(1).tag).rejects.toThrow(DataError);
    });
  });

  it('ids that are not integers, read by one2many and many2many loads, are no records: the others are listed', async () => {
    // The many2one column and the relation table hold text (MariaDB: columns loosened
    // by hand, as another program's schema could be).
    if (db.name !== 'sqlite') {
      if (db.name === 'mariadb') {
        await env.knex.raw('ALTER TABLE de_item DROP FOREIGN KEY de_item_owner_id_foreign');
        await env.knex.raw('ALTER TABLE de_item MODIFY owner_id VARCHAR(64)');
      } else {
        await env.knex.raw('ALTER TABLE de_item DROP CONSTRAINT de_item_owner_id_foreign');
        await env.knex.raw('ALTER TABLE de_item ALTER COLUMN owner_id TYPE VARCHAR(64) USING owner_id::text');
      }
      await env.knex.schema.dropTable('de_owner_item_rel');
      await env.knex.schema.createTable('de_owner_item_rel', (t) => {
        t.string('owner_id', 64);
        t.string('item_id', 64);
      });
    }
    const { owners, items } = await seed();
    await writeRaw('de_item', items[BAD], 'owner_id', 'owner-BAD');
    const tagged = items.slice(0, 10);
    await env.knex('de_owner_item_rel').insert(tagged.map((id) => ({ owner_id: owners[0], item_id: id })));
    await insertRaw('de_owner_item_rel', { owner_id: owners[0], item_id: 'item-BAD' });

    const reader = env.fork();
    const [even, odd] = [...reader.model(Owner).browse(owners)];
    if (db.name === 'postgres') {
      // PostgreSQL compares no text column with a number: the joins of the loads are refused.
      await expect(even.items).rejects.toMatchObject({ name: 'DatabaseError', code: '42883' });
      await expect(even.tagged).rejects.toMatchObject({ name: 'DatabaseError', code: '42883' });
      return;
    }
    expect((await even.items).ids).toEqual(items.filter((_, i) => i % 2 === 0));
    expect((await odd.items).ids).toEqual(items.filter((_, i) => i % 2 === 1 && i !== BAD));
    expect((await even.tagged).ids).toEqual(tagged);
  });

  describe('errors of refused statements carry no bound value', () => {
    const SECRET = 'SECRET-7d1f9';

    /**
     * de_account made by hand, stricter than the model: note NOT NULL, code at most 4
     * characters (SQLite: a CHECK; it does not enforce VARCHAR lengths), num an integer
     * column (SQLite: a STRICT table, or it would keep the text).
     */
    async function accounts(): Promise<void> {
      await env.knex.schema.dropTable('de_account');
      if (db.name === 'sqlite') {
        await env.knex.raw(`CREATE TABLE de_account (
          id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE, secret TEXT,
          owner_id INTEGER REFERENCES de_owner (id) ON DELETE RESTRICT, note TEXT NOT NULL,
          code TEXT CHECK (length(code) <= 4), num INTEGER) STRICT`);
      } else if (db.name === 'postgres') {
        await env.knex.raw(`CREATE TABLE de_account (
          id SERIAL PRIMARY KEY, email VARCHAR(80) UNIQUE, secret VARCHAR(200),
          owner_id INT REFERENCES de_owner (id) ON DELETE RESTRICT, note VARCHAR(255) NOT NULL, code VARCHAR(4), num INT)`);
      } else {
        await env.knex.raw(`CREATE TABLE de_account (
          id INT UNSIGNED AUTO_INCREMENT PRIMARY KEY, email VARCHAR(80) UNIQUE, secret VARCHAR(200),
          owner_id INT UNSIGNED, note VARCHAR(255) NOT NULL, code VARCHAR(4), num INT,
          FOREIGN KEY (owner_id) REFERENCES de_owner (id) ON DELETE RESTRICT
        ) ENGINE=InnoDB DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_nopad_bin`);
      }
    }

    async function refused(fn: () => Promise<unknown>): Promise<DatabaseError> {
      const err = await fn().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DatabaseError);
      return err as DatabaseError;
    }

    /**
     * Every string reachable from `value` through own properties, enumerable or not (a
     * driver error made in another realm, as jest runs native modules, is not inspected
     * as an Error: its message would not show in util.inspect).
     */
    function ownStrings(value: unknown, depth = 0, seen = new Set<unknown>()): string[] {
      if (typeof value === 'string') return [value];
      if (value === null || typeof value !== 'object' || depth > 10 || seen.has(value)) return [];
      seen.add(value);
      return Object.getOwnPropertyNames(value).flatMap((k) =>
        ownStrings((value as Record<string, unknown>)[k], depth + 1, seen),
      );
    }

    function expectNoSecret(err: DatabaseError): void {
      const forms: Record<string, string> = {
        inspect: inspect(err, { depth: 10 }),
        message: err.message,
        stack: String(err.stack),
        sql: String(err.sql),
        json: JSON.stringify(err),
        cause: inspect(err.cause, { depth: 10 }),
        string: String(err),
        properties: ownStrings(err).join('\n'),
      };
      const leaking = Object.keys(forms).filter((k) => forms[k].includes(SECRET));
      expect(leaking).toEqual([]);
    }

    const accountsApi = () => env.model(Account);

    it('unique violation, on INSERT and UPDATE: the key stays named, the values do not appear', async () => {
      await accounts();
      await accountsApi().create({ email: `${SECRET}@x`, secret: `${SECRET}-1`, note: 'n' });
      const insert = await refused(() =>
        accountsApi().create({ email: `${SECRET}@x`, secret: `${SECRET}-2`, note: 'n' }),
      );
      expect(insert).toBeInstanceOf(UniqueViolationError);
      expect(insert.message).toMatch(/email/);
      expectNoSecret(insert);
      const other = await accountsApi().create({ email: 'other@x', note: 'n' });
      const update = await refused(() => other.write({ email: `${SECRET}@x`, secret: `${SECRET}-3` }));
      expect(update).toBeInstanceOf(UniqueViolationError);
      expectNoSecret(update);
    });

    it('foreign key violation', async () => {
      await accounts();
      const err = await refused(() => accountsApi().create({ owner: 987654, secret: `${SECRET}-fk`, note: 'n' }));
      expect(err).toBeInstanceOf(ForeignKeyViolationError);
      expectNoSecret(err);
    });

    it('not-null violation', async () => {
      await accounts();
      const err = await refused(() => accountsApi().create({ note: null, secret: `${SECRET}-nn` }));
      expect(err).toBeInstanceOf(NotNullViolationError);
      expect(err.message).toMatch(/note/);
      expectNoSecret(err);
    });

    it('data too long (MariaDB ER_DATA_TOO_LONG; SQLite: a CHECK on the length)', async () => {
      await accounts();
      const err = await refused(() => accountsApi().create({ code: SECRET, note: 'n' }));
      expect(err.code).toBe(
        { sqlite: 'SQLITE_CONSTRAINT_CHECK', mariadb: 'ER_DATA_TOO_LONG', postgres: '22001' }[db.name],
      );
      // PostgreSQL names the type, not the column.
      expect(err.message).toMatch(db.name === 'postgres' ? /value too long for type character varying\(4\)/ : /code/);
      expectNoSecret(err);
    });

    it('a value of the wrong type for its column', async () => {
      await accounts();
      const err = await refused(() => accountsApi().create({ num: SECRET, note: 'n' }));
      expect(err.code).toBe(
        { sqlite: 'SQLITE_CONSTRAINT_DATATYPE', mariadb: 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', postgres: '22P02' }[
          db.name
        ],
      );
      // PostgreSQL names the type (its message quotes the value, which is cut), not the column.
      expect(err.message).toMatch(db.name === 'postgres' ? /invalid input syntax for type integer/ : /num/);
      expectNoSecret(err);
    });
  });
});
