import 'reflect-metadata';
import {
  BaseModel,
  DatabaseError,
  Environment,
  Field,
  MissingError,
  Model,
  UniqueViolationError,
  type Key,
} from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';
import { KEY_COLUMN, KEY_KINDS, givenKey, modelOptions, named, withNextKey, type KeyKind } from './helpers/keys';

/** The suite's model for one key kind (see helpers/keys.ts); names suffixed per kind. */
function models(kind: KeyKind) {
  @Model(modelOptions(kind, 'tx_account'))
  class Account extends BaseModel {
    declare readonly id: Key;
    @Field({ required: true }) owner!: string;
    @Field.integer() balance!: number | null;
    @Field.string({ unique: true }) code!: string | null;
  }

  /** Its table is dropped by the test that reads it: a statement that fails. */
  @Model(modelOptions(kind, 'tx_ghost'))
  class Ghost extends BaseModel {
    @Field.string() name!: string | null;
  }

  return { Account, Ghost };
}

class Boom extends Error {}

for (const kind of KEY_KINDS) {
  const { Account, Ghost } = models(kind);
  const TABLE = named('tx_account', kind);
  const KEY = KEY_COLUMN[kind];
  /** create() values with the key the kind needs from the caller. */
  const k = <V extends object>(values: V) => withNextKey(kind, values);

  describeEachDatabase(`transactions [${kind} keys]`, (db) => {
    let env: Environment;
    beforeEach(async () => {
      env = await db.open();
    });
    afterEach(async () => {
      await env.close();
    });

    const accounts = () => env.model(Account);
    const rowBalance = async (id: Key) => Number((await env.knex(TABLE).where(KEY, id).first()).balance);

    it('commits when the callback resolves and returns its value', async () => {
      const acc = await accounts().create(k({ owner: 'ann', balance: 10 }));
      const out = await env.transaction(async (tx) => {
        await acc.write({ balance: 20 });
        expect(await acc.balance).toBe(20); // reads inside see the transaction's own writes
        return (await tx.model(Account).create(k({ owner: 'bob' }))).id;
      });
      expect(await rowBalance(acc.id)).toBe(20);
      expect(await env.fork().model(Account).browse(out).owner).toBe('bob');
    });

    it('a transaction that throws after a write: the row and a fresh read show the old value', async () => {
      const acc = await accounts().create(k({ owner: 'ann', balance: 10 }));
      await expect(
        env.transaction(async () => {
          await acc.write({ balance: 99 });
          expect(await acc.balance).toBe(99);
          throw new Boom('fail after write');
        }),
      ).rejects.toThrow(Boom);
      expect(await rowBalance(acc.id)).toBe(10);
      // The transaction's layer is gone; the committed value cached before it is still served.
      expect(await countQueries(env, async () => expect(await acc.balance).toBe(10))).toBe(0);
      expect(await env.fork().model(Account).browse(acc.id).balance).toBe(10);
    });

    it('rolls back creates and unlinks with the cache', async () => {
      const keep = await accounts().create(k({ owner: 'keep', balance: 1 }));
      let createdId: Key | undefined;
      await expect(
        env.transaction(async () => {
          createdId = (await accounts().create(k({ owner: 'temp' }))).id;
          await keep.unlink();
          await expect(keep.owner).rejects.toThrow(MissingError);
          throw new Boom();
        }),
      ).rejects.toThrow(Boom);
      expect(await keep.owner).toBe('keep');
      await expect(accounts().browse(createdId!).owner).rejects.toThrow(MissingError);
      expect(await accounts().searchCount()).toBe(1);
    });

    it('a key created in a rolled-back transaction is free again, and reads fresh once created again', async () => {
      const key = kind === 'integer' ? 77 : givenKey(kind, 77); // given by the caller, for every kind
      await expect(
        env.transaction(async () => {
          await accounts().create({ id: key, owner: 'doomed', balance: 1 });
          expect(await accounts().browse(key).owner).toBe('doomed');
          throw new Boom();
        }),
      ).rejects.toThrow(Boom);
      await expect(accounts().browse(key).owner).rejects.toThrow(MissingError);
      const again = await accounts().create({ id: key, owner: 'again', balance: 2 });
      expect(again.id).toBe(key);
      expect(await countQueries(env, async () => expect(await accounts().browse(key).owner).toBe('again'))).toBe(0);
      expect(await env.fork().model(Account).browse(key).toDict(['owner', 'balance'])).toEqual({
        owner: 'again',
        balance: 2,
      });
    });

    it('a database error inside the transaction rolls back its earlier writes', async () => {
      const [a, b] = (await accounts().create([k({ owner: 'a', code: 'A' }), k({ owner: 'b', code: 'B' })])).ids;
      await expect(
        env.transaction(async () => {
          await accounts().browse(a).write({ balance: 5 });
          await accounts().browse(b).write({ code: 'A' });
        }),
      ).rejects.toThrow(UniqueViolationError);
      expect(await accounts().browse(a).balance).toBeNull();
      expect((await env.knex(TABLE).where(KEY, a).first()).balance).toBeNull();
      expect(await accounts().browse(b).code).toBe('B');
    });

    it('nested transactions use savepoints: a failed inner block rolls back only its own writes', async () => {
      const acc = await accounts().create(k({ owner: 'ann', balance: 1 }));
      const other = await accounts().create(k({ owner: 'bob', balance: 1 }));
      await env.transaction(async () => {
        await acc.write({ balance: 2 });
        await expect(
          env.transaction(async () => {
            await other.write({ balance: 50 });
            await acc.write({ balance: 60 });
            throw new Boom('inner');
          }),
        ).rejects.toThrow(Boom);
        expect(await other.balance).toBe(1);
        // acc was touched by the inner block too: its entry is dropped and reloaded from the outer state.
        expect(await acc.balance).toBe(2);
        await env.transaction(async () => {
          await other.write({ balance: 3 });
        });
      });
      expect(await rowBalance(acc.id)).toBe(2);
      expect(await rowBalance(other.id)).toBe(3);
    });

    it('a failed read or write the callback catches leaves the transaction usable: what it wrote before and after commits', async () => {
      // PostgreSQL aborts a transaction on any failed statement (25P02 for every later one):
      // proxorm runs each statement of the callback under a savepoint there.
      const acc = await accounts().create(k({ owner: 'ann', balance: 1, code: 'A' }));
      await env.knex.schema.dropTable(named('tx_ghost', kind));
      const queries = await countQueries(env, () =>
        env.transaction(async () => {
          await acc.write({ balance: 2 });
          await expect(env.model(Ghost).search([])).rejects.toThrow(DatabaseError); // no such table
          await expect(accounts().create(k({ owner: 'dup', code: 'A' }))).rejects.toThrow(UniqueViolationError);
          expect(await accounts().searchCount([['balance', '=', 2]])).toBe(1);
          await acc.write({ balance: 3 });
        }),
      );
      expect(queries).toBe(5); // the same statements on every database (savepoints are not counted)
      expect(await rowBalance(acc.id)).toBe(3);
      expect(await accounts().searchCount()).toBe(1);
    });

    it('a raw statement through env.knex that fails in a transaction: it commits where the database undoes the statement alone, else the COMMIT fails and nothing is cached', async () => {
      const acc = await accounts().create(k({ owner: 'ann', balance: 1 }));
      const done = env.transaction(async () => {
        await acc.write({ balance: 2 });
        // (Checked by outcome: better-sqlite3's error class may come from another jest file's realm.)
        const failed = await env.knex.raw('SELECT * FROM no_such_table_tx').then(
          () => false,
          () => true,
        );
        expect(failed).toBe(true);
      });
      if (db.name === 'postgres') {
        // The raw statement aborted the transaction: PostgreSQL answers its COMMIT with ROLLBACK.
        await expect(done).rejects.toThrow(/the transaction was rolled back instead of committed/);
        await expect(done).rejects.toMatchObject({ name: 'DatabaseError', sql: 'COMMIT' });
        expect(await rowBalance(acc.id)).toBe(1);
        expect(await acc.balance).toBe(1); // what the transaction wrote never reached the cache
      } else {
        await done;
        expect(await rowBalance(acc.id)).toBe(2);
        expect(await acc.balance).toBe(2);
      }
    });

    it('a failed outer block rolls back what committed inner blocks wrote', async () => {
      const acc = await accounts().create(k({ owner: 'ann', balance: 1 }));
      await expect(
        env.transaction(async () => {
          await env.transaction(async () => {
            await acc.write({ balance: 7 });
          });
          expect(await acc.balance).toBe(7);
          throw new Boom('outer');
        }),
      ).rejects.toThrow(Boom);
      expect(await acc.balance).toBe(1);
      expect(await rowBalance(acc.id)).toBe(1);
    });

    it('other Environments do not see uncommitted writes', async () => {
      const acc = await accounts().create(k({ owner: 'ann', balance: 1 }));
      const other = env.fork();
      let outside: Promise<number | null> | undefined;
      await env.transaction(async () => {
        await acc.write({ balance: 42 });
        outside = other.model(Account).browse(acc.id).balance;
        if (db.name !== 'sqlite') {
          // Another connection reads the committed value while the transaction is open.
          expect(await outside).toBe(1);
        }
        // SQLite has one connection: the fork's read waits for the transaction to end.
      });
      expect(await outside).toBe(db.name !== 'sqlite' ? 1 : 42);
      expect(await env.fork().model(Account).browse(acc.id).balance).toBe(42);
    });

    it('loads inside and outside a transaction are never batched together', async () => {
      const ids = (
        await env
          .fork()
          .model(Account)
          .create([k({ owner: 'a' }), k({ owner: 'b' })])
      ).ids;
      const inside = env.transaction(async () => accounts().browse(ids[0]).owner);
      const outside = env.fork().model(Account).browse(ids[1]).owner;
      expect(await Promise.all([inside, outside])).toEqual(['a', 'b']);
    });
  });
}
