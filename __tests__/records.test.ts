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
  type Key,
  type RecordSet,
} from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';
import {
  KEY_COLUMN,
  KEY_KINDS,
  absentKey,
  keyed,
  modelOptions,
  named,
  withNextKey,
  type KeyKind,
} from './helpers/keys';

/** The suite's models for one key kind (see helpers/keys.ts); names suffixed per kind. */
function models(kind: KeyKind) {
  @Model(modelOptions(kind, 'rec_user'))
  class User extends BaseModel {
    declare readonly id: Key;
    @Field({ required: true }) name!: string;
    @Field.string({ unique: true, size: 40 }) email!: string | null;
    @Field.integer() age!: number | null;
    @Field({ default: true }) active!: boolean;
    @Field.float() score!: number | null;
    @Field.decimal({ precision: 10, scale: 2 }) balance!: string | null;
    @Field.datetime() seen!: Date | null;
    @Field.json() meta!: unknown;
    @Field.text() bio!: string | null;
  }

  @Model(modelOptions(kind, 'rec_other'))
  class Other extends BaseModel {
    declare readonly id: Key;
    @Field() label!: string;
  }

  return { User, Other };
}

for (const kind of KEY_KINDS) {
  const { User, Other } = models(kind);
  type User = InstanceType<typeof User>;
  const TABLE = named('rec_user', kind);
  const KEY = KEY_COLUMN[kind];

  describeEachDatabase(`records [${kind} keys]`, (db) => {
    let env: Environment;
    beforeEach(async () => {
      env = await db.open();
    });
    afterEach(async () => {
      await env.close();
    });

    const users = () => env.model(User);

    /** Rows created through a fork, so the env under test starts with a cold cache. */
    async function seed(
      n: number,
      values: (i: number) => Partial<Pick<User, 'name' | 'email' | 'age'>> = (i) => ({
        name: `u${i}`,
        email: `u${i}@x.io`,
        age: i % 50,
      }),
    ) {
      const created = await env
        .fork()
        .model(User)
        .create(Array.from({ length: n }, (_, i) => keyed(kind, i, values(i))));
      return created.ids;
    }

    it('reads a field twice on a browsed record with one query in all', async () => {
      const [id] = await seed(1);
      env.resetStats();
      const user = users().browse(id);
      expect(await user.name).toBe('u0');
      expect(await user.name).toBe('u0');
      expect(env.stats).toMatchObject({ queries: 1, misses: 1, hits: 1 });
    });

    it('counts a cached null as a loaded value', async () => {
      const [id] = await seed(1, () => ({ name: 'n', email: null, age: null }));
      const user = users().browse(id);
      const queries = await countQueries(env, async () => {
        expect(await user.email).toBeNull();
        expect(await user.age).toBeNull();
        expect(await user.email).toBeNull();
      });
      expect(queries).toBe(1);
    });

    it('create fills the cache with values, defaults and nulls: reading back sends no query', async () => {
      const user = await users().create(withNextKey(kind, { name: 'ann', email: 'ann@x.io' }));
      const queries = await countQueries(env, async () => {
        expect(await user.toDict()).toEqual({
          name: 'ann',
          email: 'ann@x.io',
          age: null,
          active: true,
          score: null,
          balance: null,
          seen: null,
          meta: null,
          bio: null,
        });
      });
      expect(queries).toBe(0);
      const fresh = env.fork().model(User).browse(user.id);
      expect(await fresh.toDict()).toEqual(await user.toDict());
    });

    it('create of many rows is batched and returns ids in order', async () => {
      const rows = Array.from({ length: 1200 }, (_, i) => keyed(kind, i, { name: `b${i}`, age: i }));
      let created!: RecordSet<User>;
      const queries = await countQueries(env, async () => {
        created = await users().create(rows);
      });
      expect(queries).toBe(db.name === 'sqlite' ? 3 : 2); // 500 rows a statement on SQLite, 1,000 on MariaDB
      expect(created.length).toBe(1200);
      expect(new Set(created.ids).size).toBe(1200);
      if (kind === 'string') expect(created.ids).toEqual(rows.map((r) => r.id)); // the given keys, in the given order
      if (kind === 'uuid')
        expect(created.ids.every((id) => typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id))).toBe(true);
      if (kind === 'integer')
        expect(created.ids.every((id, i) => i === 0 || (id as number) > (created.ids[i - 1] as number))).toBe(true);
      const fork = env.fork();
      const check = await fork.model(User).browse(created.ids).read(['name', 'age']);
      expect(check.map((r) => r.name)).toEqual(rows.map((r) => r.name));
      expect(check.map((r) => r.id)).toEqual(created.ids);
      // Each id names the row created from the values at its position.
      const stored = await env.knex(TABLE).select(KEY, 'name');
      const nameOf = new Map(stored.map((r: Record<string, unknown>) => [r[KEY], r.name]));
      expect(created.ids.map((id) => nameOf.get(id))).toEqual(rows.map((r) => r.name));
    });

    it("a json value reads back equal; PostgreSQL's jsonb orders its object keys its own way", async () => {
      const meta = { zz: 1, a: { yy: 2, b: 3 } };
      const user = await users().create(withNextKey(kind, { name: 'j', meta }));
      const loaded = (await env.fork().model(User).browse(user.id).meta) as typeof meta;
      expect(loaded).toEqual(meta);
      // jsonb: shorter keys first, then bytewise; the others keep the order written.
      const order =
        db.name === 'postgres'
          ? [
              ['a', 'zz'],
              ['b', 'yy'],
            ]
          : [
              ['zz', 'a'],
              ['yy', 'b'],
            ];
      expect([Object.keys(loaded), Object.keys(loaded.a)]).toEqual(order);
      expect(Object.keys((await user.meta) as typeof meta)).toEqual(['zz', 'a']); // the cache holds what was written
    });

    it('round-trips every field type exactly as the cache holds it', async () => {
      // PostgreSQL's text and jsonb cannot hold U+0000: refused before any SQL (pinned below).
      const nul = db.name === 'postgres' ? '' : ' \u0000 nul';
      const values = {
        name: `Zoë 🎉${nul} and "quotes" 'single' \\ back`,
        email: 'x'.repeat(40),
        age: 2 ** 53 - 1,
        active: false,
        score: -1.25e-7,
        balance: '-12345678.90',
        seen: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 123)),
        meta: { list: [1, 'two', null, { deep: true }], __proto__key: 'k', emoji: '🦄' },
        bio: 'long '.repeat(20000),
      };
      const user = await users().create(withNextKey(kind, values));
      const cached = await user.toDict();
      const loaded = await env.fork().model(User).browse(user.id).toDict();
      expect(loaded).toEqual(cached);
      expect(loaded).toEqual({ ...values });
      if (db.name === 'postgres') {
        for (const bad of [{ name: 'a\u0000b' }, { bio: '\u0000' }, { meta: { 'k\u0000': 1 } }, { meta: ['\u0000'] }]) {
          const queries = await countQueries(env, async () => {
            await expect(user.write(bad)).rejects.toThrow(/cannot store the character U\+0000 \(NUL\)/);
            await expect(users().create(withNextKey(kind, { ...values, ...bad }))).rejects.toThrow(ValidationError);
          });
          expect(queries).toBe(0);
        }
        expect(await user.toDict()).toEqual(cached);
      }
    });

    it('normalizes decimals and rejects values of the wrong type before any SQL', async () => {
      const user = await users().create(withNextKey(kind, { name: 'd', balance: 7.5 as unknown as string }));
      expect(await user.balance).toBe('7.50');
      const bad: Array<[string, unknown]> = [
        ['age', 'twelve'],
        ['age', 1.5],
        ['age', NaN],
        ['score', Infinity],
        ['active', 1],
        ['name', 42],
        ['seen', new Date('nope')],
        ['seen', new Date(Date.UTC(99999, 0, 1))],
        ['balance', '1.234'],
        ['balance', 'abc'],
        ['email', 'y'.repeat(41)],
        ['meta', { f: () => 1 }],
        ['meta', NaN],
        ['name', null],
        ['name', undefined],
      ];
      for (const [field, value] of bad) {
        const queries = await countQueries(env, async () => {
          await expect(user.write({ [field]: value })).rejects.toThrow(ValidationError);
        });
        expect(queries).toBe(0);
      }
      expect(await env.fork().model(User).browse(user.id).balance).toBe('7.50');
    });

    it('rejects unknown and dangerous keys in create and write', async () => {
      const user = await users().create(withNextKey(kind, { name: 'k' }));
      for (const values of [{ nope: 1 }, JSON.parse('{"__proto__": {"polluted": 1}}'), { constructor: 'x' }]) {
        await expect(users().create(withNextKey(kind, { name: 'x', ...values }))).rejects.toThrow(/unknown field/);
        await expect(user.write(values)).rejects.toThrow(ValidationError);
      }
      // The key: given on create (here invalid), never written.
      await expect(user.write({ id: 5 } as Partial<User>)).rejects.toThrow(
        new RegExp(`the key "id" \\(column ${KEY}\\) cannot be changed`),
      );
      const badKey = {
        integer: ['five', /invalid key: expected an integer key, got string/],
        string: [5, /invalid key: expected a string key, got number/],
        uuid: ['five', /invalid key: expected a UUID/],
      } as const;
      await expect(users().create({ name: 'x', id: badKey[kind][0] })).rejects.toThrow(badKey[kind][1]);
      if (kind === 'string') {
        await expect(users().create({ name: 'x' })).rejects.toThrow(
          /the key "id" \(column skey\) is not generated by the database/,
        );
      }
      await expect(users().create(withNextKey(kind, {}) as Partial<User>)).rejects.toThrow(/name: is required/);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(await users().searchCount()).toBe(1);
    });

    it('write is write-through: one UPDATE, the read needs no query, the row holds the value', async () => {
      const ids = await seed(3);
      const set = users().browse(ids);
      await set.prefetch();
      const queries = await countQueries(env, async () => {
        await set.write({ age: 99, name: 'same' });
        for (const u of set) {
          expect(await u.age).toBe(99);
          expect(await u.name).toBe('same');
        }
      });
      expect(queries).toBe(1);
      const rows = await env.knex(TABLE).select('age').whereIn(KEY, ids);
      expect(rows.map((r: { age: number }) => Number(r.age))).toEqual([99, 99, 99]);
    });

    it('a failed write (required null, unique clash) leaves the cache and the row as they were', async () => {
      const [a, b] = await seed(2);
      const ua = users().browse(a);
      expect(await ua.email).toBe('u0@x.io');
      await expect(ua.write({ name: null as unknown as string })).rejects.toThrow(ValidationError);
      await expect(ua.write({ email: 'u1@x.io', age: 7 })).rejects.toThrow(UniqueViolationError);
      const queries = await countQueries(env, async () => {
        expect(await ua.email).toBe('u0@x.io');
        expect(await ua.age).toBe(0);
        expect(await ua.name).toBe('u0');
      });
      expect(queries).toBe(0);
      const row = await env.knex(TABLE).where(KEY, a).first();
      expect(row).toMatchObject({ name: 'u0', email: 'u0@x.io' });
      expect(Number(row.age)).toBe(0);
      expect(await env.fork().model(User).browse(b).email).toBe('u1@x.io');
    });

    it('write on a record deleted elsewhere fails with MissingError and changes nothing', async () => {
      const ids = await seed(2);
      await env.fork().model(User).browse(ids[1]).unlink();
      const set = users().browse(ids);
      await expect(set.write({ age: 5 })).rejects.toThrow(MissingError);
      const row = await env.knex(TABLE).where(KEY, ids[0]).first();
      expect(Number(row.age)).toBe(0);
    });

    it('unlink deletes rows; reading them afterwards is a MissingError without a query', async () => {
      const ids = await seed(3);
      const set = users().browse(ids);
      await set.at(1).unlink();
      expect(await users().searchCount()).toBe(2);
      const queries = await countQueries(env, async () => {
        await expect(set.at(1).name).rejects.toThrow(MissingError);
      });
      expect(queries).toBe(0);
      expect((await set.exists()).ids).toEqual([ids[0], ids[2]]);
    });

    it('reading a field of several records is a SingletonError; of none, null', async () => {
      const ids = await seed(2);
      const set = users().browse(ids);
      expect(() => set.name).toThrow(SingletonError);
      expect(() => set.id).toThrow(SingletonError);
      expect(() => set.ensureOne()).toThrow(SingletonError);
      await expect(set.toDict()).rejects.toThrow(SingletonError);
      expect(await users().browse([]).name).toBeNull();
      expect(set.at(-1).ensureOne().id).toBe(ids[1]);
      expect(() => set.at(2)).toThrow(ValidationError);
    });

    it('records are read-only objects', async () => {
      const [id] = await seed(1);
      const user = users().browse(id) as unknown as Record<string, unknown>;
      expect(() => {
        user.name = 'x';
      }).toThrow(/use write/);
      expect('name' in user).toBe(true);
      // String keys are shown quoted: rec_user_s("k_0").
      expect(String(users().browse(id))).toBe(`${TABLE}(${typeof id === 'string' ? JSON.stringify(id) : id})`);
    });

    it('read, toDict, filtered, mapped, sorted, concat and union', async () => {
      const ids = await seed(5, (i) => ({ name: `n${4 - i}`, age: i % 2 ? null : i }));
      const set = users().browse(ids);
      env.resetStats();
      expect(await set.read(['name'])).toEqual(ids.map((id, i) => ({ id, name: `n${4 - i}` })));
      expect(await set.at(0).toDict(['name', 'age'])).toEqual({ name: 'n4', age: 0 });
      expect((await set.filtered('age')).ids).toEqual([ids[2], ids[4]]);
      expect((await set.filtered(async (u) => (await u.name) > 'n2')).ids).toEqual([ids[0], ids[1]]);
      expect(await set.mapped('name')).toEqual(['n4', 'n3', 'n2', 'n1', 'n0']);
      expect(await set.mapped(async (u) => (await u.age) ?? -1)).toEqual([0, -1, 2, -1, 4]);
      expect((await set.sorted('name')).ids).toEqual([...ids].reverse());
      expect((await set.sorted('age', { reverse: true })).ids).toEqual([ids[4], ids[2], ids[0], ids[3], ids[1]]);
      // read(['name']) loads only names; the toDict miss on age loads every field of the set.
      expect(env.stats.queries).toBe(2);
      const a = users().browse([ids[0], ids[1]]);
      const b = users().browse([ids[1], ids[2]]);
      expect(a.concat(b).ids).toEqual([ids[0], ids[1], ids[1], ids[2]]);
      expect(a.union(b).ids).toEqual([ids[0], ids[1], ids[2]]);
      expect(() => a.concat(env.model(Other).browse(absentKey(kind)) as never)).toThrow(/same model/);
    });

    it('invalidateRecord and clearCache make the next read load again', async () => {
      const [id] = await seed(1);
      const user = users().browse(id);
      await user.name;
      await env.knex(TABLE).where(KEY, id).update({ name: 'outside' });
      expect(await user.name).toBe('u0');
      env.invalidateRecord(TABLE, id);
      expect(await countQueries(env, async () => expect(await user.name).toBe('outside'))).toBe(1);
      await env.knex(TABLE).where(KEY, id).update({ name: 'again' });
      env.clearCache(User);
      expect(await user.name).toBe('again');
    });

    it('the static API works through the default Environment', async () => {
      Environment.setDefault(env);
      const created = await User.create(withNextKey(kind, { name: 'static' }));
      expect(await User.browse(created.id).name).toBe('static');
      expect((await User.search([['name', '=', 'static']])).ids).toEqual([created.id]);
      expect(await User.searchCount()).toBe(1);
    });

    it('validates browse ids and search options', async () => {
      // Not a key of the kind: integer keys start at 1; string keys are non-empty strings; uuids are UUIDs.
      const notKeys: Record<KeyKind, readonly unknown[]> = {
        integer: [0, '1', 1.5],
        string: ['', 1],
        uuid: ['1', 1, 'g'.repeat(36)],
      };
      for (const bad of notKeys[kind]) expect(() => users().browse([bad as Key])).toThrow(ValidationError);
      await expect(users().search([], { limit: -1 })).rejects.toThrow(ValidationError);
      await expect(users().search([], { order: `name; DROP TABLE ${TABLE}` })).rejects.toThrow(ValidationError);
      await expect(users().search([], { order: 'nope' })).rejects.toThrow(/unknown field "nope"/);
      await expect(users().search([], { bogus: 1 } as never)).rejects.toThrow(/unknown option/);
    });
  });
}
