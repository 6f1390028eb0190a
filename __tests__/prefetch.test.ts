import 'reflect-metadata';
import { BaseModel, Environment, Field, MissingError, Model, type Key, type RecordSet } from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';
import { KEY_KINDS, keyed, modelOptions, named, type KeyKind } from './helpers/keys';

/** The suite's models for one key kind (see helpers/keys.ts); names suffixed per kind. */
function models(kind: KeyKind) {
  @Model(modelOptions(kind, 'pf_user'))
  class User extends BaseModel {
    declare readonly id: Key;
    @Field() name!: string;
    @Field() email!: string;
    @Field.integer() age!: number | null;
    @Field.string() status!: string | null;
    @Field.text({ prefetch: false }) notes!: string | null;
  }

  @Model(modelOptions(kind, 'pf_order', { order: 'id' }))
  class Order extends BaseModel {
    declare readonly id: Key;
    @Field({ default: 'draft' }) status!: string;
    @Field.float() amount!: number;
    @Field.integer() customerId!: number | null;
  }

  return { User, Order };
}

for (const kind of KEY_KINDS) {
  const { User, Order } = models(kind);
  type User = InstanceType<typeof User>;
  const USERS = named('pf_user', kind);

  describeEachDatabase(`prefetch and batching [${kind} keys]`, (db) => {
    let env: Environment;
    afterEach(async () => {
      await env?.close();
    });

    /** Creates n users through a fork, so `env` starts with nothing cached. */
    async function seedUsers(n: number): Promise<readonly Key[]> {
      const rows = Array.from({ length: n }, (_, i) =>
        keyed(kind, i, {
          name: `u${i}`,
          email: `u${i}@x.io`,
          age: 18 + (i % 60),
          status: i % 3 ? 'active' : 'idle',
          notes: `notes ${i}`,
        }),
      );
      return (await env.fork().model(User).create(rows)).ids;
    }

    async function readLoop(users: RecordSet<User>): Promise<number> {
      let n = 0;
      for (const u of users) {
        await u.name;
        await u.email;
        await u.age;
        n++;
      }
      return n;
    }

    describe('with automatic prefetch', () => {
      beforeEach(async () => {
        env = await db.open();
      });

      it('a naive loop over 1,000 searched users runs 2 queries', async () => {
        await seedUsers(1000);
        env.resetStats();
        const users = await env.model(User).search([]);
        expect(await readLoop(users)).toBe(1000);
        expect(env.stats).toMatchObject({ queries: 2, loads: 1, misses: 1, hits: 2999 });
      });

      it('the same over 2,500 users runs 1 + 3 queries, loading 1,000 ids at a time as the loop moves on', async () => {
        await seedUsers(2500);
        env.resetStats();
        const users = await env.model(User).search([]);
        let loadsAtStart = -1;
        let i = 0;
        for (const u of users) {
          await u.name;
          if (i++ === 0) loadsAtStart = env.stats.loadedRecords;
        }
        expect(loadsAtStart).toBe(1000);
        expect(env.stats.loadedRecords).toBe(2500);
        expect(env.stats.queries).toBe(4); // the same for every key kind: chunks of 1,000 keys, not key ranges
      });

      it('prefetch(["name","email"]) on 2,500 records: 3 queries, then reading them: none', async () => {
        await seedUsers(2500);
        const users = await env.model(User).search([]);
        expect(await countQueries(env, () => users.prefetch(['name', 'email']))).toBe(3);
        const reads = await countQueries(env, async () => {
          for (const u of users) {
            await u.name;
            await u.email;
          }
        });
        expect(reads).toBe(0);
        expect(await countQueries(env, () => users.prefetch(['name', 'email']))).toBe(0);
      });

      it('Promise.all over 500 singletons from 500 separate browse calls: 1 query', async () => {
        const ids = await seedUsers(500);
        env.resetStats();
        const names = await Promise.all(ids.map((id) => env.model(User).browse(id).name));
        expect(names).toEqual(ids.map((_, i) => `u${i}`));
        expect(env.stats.queries).toBe(1);
      });

      it('two concurrent reads of the same uncached field of one record: 1 query', async () => {
        const [id] = await seedUsers(1);
        const a = env.model(User).browse(id);
        const b = env.model(User).browse(id);
        // The second read starts while the first one's statement is being sent.
        let second: Promise<string> | undefined;
        const onQuery = () => {
          second ??= b.name;
        };
        env.knex.on('query', onQuery);
        try {
          expect(await a.name).toBe('u0');
        } finally {
          env.knex.removeListener('query', onQuery);
        }
        expect(await second).toBe('u0');
        expect(env.stats).toMatchObject({ queries: 1, misses: 2, hits: 0 });
      });

      it('iteration, at, filtered, sorted and mapped keep the prefetch set', async () => {
        await seedUsers(300);
        const users = await env.model(User).search([]);
        const adults = await users.filtered(async (u) => (await u.age)! >= 30);
        const queries = await countQueries(env, async () => {
          const sorted = await adults.sorted('name');
          await sorted.at(5).email;
          await users.at(299).status;
          expect((await adults.mapped('age')).every((a) => a! >= 30)).toBe(true);
        });
        expect(queries).toBe(0);
        expect(env.stats.queries).toBe(2);
      });

      it('a field marked prefetch: false is not loaded with the others, and loads alone for the set', async () => {
        await seedUsers(50);
        const users = await env.model(User).search([]);
        await users.at(0).name;
        expect(env.cache.size(USERS, 'notes')).toBe(0);
        const queries = await countQueries(env, async () => {
          for (const u of users) await u.notes;
        });
        expect(queries).toBe(1);
      });

      it('toDict in a loop uses the same machinery: one query for the loop', async () => {
        await seedUsers(200);
        const users = await env.model(User).search([]);
        const queries = await countQueries(env, async () => {
          for (const u of users) await u.toDict(['name', 'email']);
        });
        expect(queries).toBe(1);
      });

      it('a record deleted by someone else: reading it is a MissingError, the others still load', async () => {
        const ids = await seedUsers(10);
        const users = await env.model(User).search([]);
        await env.fork().model(User).browse(ids[3]).unlink();
        // search orders by key: the fourth record created is not the fourth found for every key kind.
        const gone = users.ids.indexOf(ids[3]);
        env.resetStats();
        const results = await Promise.allSettled([...users].map((u) => u.name));
        expect(results[gone]).toMatchObject({ status: 'rejected', reason: expect.any(MissingError) });
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(9);
        expect(env.stats.queries).toBe(1);
        await expect(users.at(gone).email).rejects.toThrow(MissingError);
        expect(env.stats.queries).toBe(1);
      });

      it('a failed load rejects its readers and caches nothing', async () => {
        const ids = await seedUsers(3);
        const users = env.model(User).browse(ids);
        await env.knex.schema.alterTable(USERS, (t) => t.renameColumn('email', 'mail'));
        await expect(users.at(0).name).rejects.toThrow(/email|mail/i);
        expect(env.cache.size(USERS, 'name')).toBe(0);
      });

      it('per-call prefetch: false gives one query per record', async () => {
        await seedUsers(20);
        const users = await env.model(User).search([], { prefetch: false });
        const queries = await countQueries(env, () => readLoop(users));
        expect(queries).toBe(20);
      });
    });

    describe('with prefetch off on the Environment (the N+1 baseline)', () => {
      beforeEach(async () => {
        env = await db.open({ prefetch: false });
      });

      it('a loop over 1,000 users runs 1 + 1,000 queries (the first read of a record loads its fields)', async () => {
        await seedUsers(1000);
        env.resetStats();
        const users = await env.model(User).search([]);
        await readLoop(users);
        expect(env.stats.queries).toBe(1001);
      });

      it('toDict(fields) loads only the missing fields asked for', async () => {
        const [id] = await seedUsers(1);
        const user = env.model(User).browse(id);
        await user.toDict(['name']);
        expect(env.cache.has(USERS, 'name', id)).toBe(true);
        expect(env.cache.has(USERS, 'email', id)).toBe(false);
        expect(await countQueries(env, () => user.toDict(['name']))).toBe(0);
        expect(await countQueries(env, () => user.toDict(['name', 'email']))).toBe(1);
      });

      it('explicit prefetch() still loads the set in 1,000-id queries', async () => {
        await seedUsers(1000);
        const users = await env.model(User).search([]);
        expect(await countQueries(env, () => users.prefetch())).toBe(1);
        expect(await countQueries(env, () => readLoop(users))).toBe(0);
      });
    });

    describe("the seed plan's scenarios", () => {
      beforeEach(async () => {
        env = await db.open();
      });

      /** Scenario 1: UserManager.getUserDetails / updateUser. */
      class UserManager {
        constructor(private readonly env: Environment) {}
        async getUserDetails(userIds: readonly Key[]) {
          const users = this.env.model(User).browse(userIds);
          await users.prefetch(['name', 'email', 'status']);
          const out = [];
          for (const user of users) out.push(await user.toDict(['name', 'email', 'status']));
          return out;
        }
        async updateUser(userId: Key, values: Partial<Pick<User, 'name' | 'email' | 'status'>>) {
          const user = this.env.model(User).browse(userId);
          await user.write(values);
          this.env.invalidateRecord(USERS, userId);
        }
      }

      it('scenario 1: getUserDetails of 100 users is 1 query; updateUser then a read is 1 UPDATE + 1 load', async () => {
        const ids = await seedUsers(100);
        const manager = new UserManager(env);
        env.resetStats();
        const details = await manager.getUserDetails(ids);
        expect(details).toHaveLength(100);
        expect(details[7]).toEqual({ name: 'u7', email: 'u7@x.io', status: 'active' });
        expect(env.stats.queries).toBe(1);
        expect(await countQueries(env, () => manager.getUserDetails(ids))).toBe(0);
        expect(await countQueries(env, () => manager.updateUser(ids[7], { status: 'gone' }))).toBe(1);
        // updateUser invalidates the record, as the seed did: the next read loads it again.
        const again = await countQueries(env, async () => {
          expect((await manager.getUserDetails(ids))[7]).toEqual({ name: 'u7', email: 'u7@x.io', status: 'gone' });
        });
        expect(again).toBe(1);
      });

      /** Scenario 2: processOrders. */
      async function processOrders(e: Environment, orderIds: readonly Key[]): Promise<number[]> {
        const orders = e.model(Order).browse(orderIds);
        await orders.prefetch(['status', 'amount', 'customerId']);
        const customers: number[] = [];
        for (const order of orders) {
          if ((await order.status) === 'pending' && (await order.amount) > 1000) {
            customers.push((await order.customerId)!);
          }
        }
        return customers;
      }

      it('scenario 2: processOrders over 1,000 orders reads everything with 1 query', async () => {
        const rows = Array.from({ length: 1000 }, (_, i) =>
          keyed(kind, i, {
            status: i % 2 ? 'pending' : 'done',
            amount: (i % 20) * 100,
            customerId: (i % 7) + 1,
          }),
        );
        const ids = (await env.fork().model(Order).create(rows)).ids;
        env.resetStats();
        const customers = await processOrders(env, ids);
        const expected = rows.filter((r) => r.status === 'pending' && r.amount > 1000).map((r) => r.customerId);
        expect(customers).toEqual(expected);
        expect(env.stats.queries).toBe(1);
      });
    });
  });
}
