import 'reflect-metadata';
import { BaseModel, DeadlockError, Environment, Field, MissingError, Model, ValidationError } from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';
import { barrier, clearHooks, holdReply, isSelect, sent, turns } from './helpers/interleave';

/*
 * The cache never serves what the database doesn't hold (issue 9, failures 1–5). Each
 * test forces the interleaving that broke it with a held statement reply or a barrier.
 */

@Model('cc_customer')
class Customer extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => Order, 'customer') orders!: Order[];
  @Field.one2many(() => Note, 'customer') notes!: Note[];
}

@Model('cc_order')
class Order extends BaseModel {
  @Field() ref!: string;
  @Field.many2one(() => Customer, { onDelete: 'cascade' }) customer!: Customer | null;
}

@Model('cc_note')
class Note extends BaseModel {
  @Field() text!: string;
  @Field.many2one(() => Customer, { onDelete: 'set null' }) customer!: Customer | null;
}

@Model('cc_account')
class Account extends BaseModel {
  @Field() name!: string;
  @Field.integer() bal!: number | null;
}

describeEachDatabase('cache consistency', (db) => {
  let root: Environment;
  beforeEach(async () => {
    root = await db.open();
  });
  afterEach(async () => {
    clearHooks();
    await root.close();
  });

  const dbValue = async (table: string, id: number, column: string) =>
    (await root.knex(table).where('id', id).first())?.[column];

  describe('a load in flight never puts back what this Environment changed meanwhile', () => {
    const seed = async () => {
      const [c1, c2] = (await root.model(Customer).create([{ name: 'c1' }, { name: 'c2' }])).ids;
      const orders = (
        await root
          .model(Order)
          .create(Array.from({ length: 20 }, (_, i) => ({ ref: `o${i}`, customer: i < 10 ? c1 : c2 })))
      ).ids;
      return { c1, c2, orders };
    };

    it('own unlink during the load: the deleted record stays missing', async () => {
      const { orders } = await seed();
      const env = root.fork();
      const all = await env.model(Order).search([]);
      const victim = all.at(5);
      const hold = holdReply(isSelect('cc_order'));
      const p = all.at(0).ref;
      await hold.reached;
      await victim.unlink();
      hold.release();
      expect(await p).toBe('o0');
      await expect(victim.ref).rejects.toThrow(MissingError);
      expect(await dbValue('cc_order', orders[5], 'ref')).toBeUndefined();
    });

    it('own write during the load: the written value stays', async () => {
      await seed();
      const env = root.fork();
      const all = await env.model(Order).search([]);
      const hold = holdReply(isSelect('cc_order'));
      const p = all.at(0).ref;
      await hold.reached;
      await all.at(3).write({ ref: 'new' });
      hold.release();
      await p;
      expect(await all.at(3).ref).toBe('new');
    });

    it('a cascade during the load: the children deleted by the database stay missing', async () => {
      const { c1, orders } = await seed();
      const env = root.fork();
      const all = await env.model(Order).search([]);
      const hold = holdReply(isSelect('cc_order'));
      const p = all.at(15).ref;
      await hold.reached;
      await env.model(Customer).browse(c1).unlink();
      hold.release();
      expect(await p).toBe('o15');
      await expect(env.model(Order).browse(orders[0]).ref).rejects.toThrow(MissingError);
    });

    it('a set-null during the load: the reference reads null', async () => {
      const [c1] = (await root.model(Customer).create([{ name: 'c1' }])).ids;
      const notes = await root
        .model(Note)
        .create(Array.from({ length: 5 }, (_, i) => ({ text: `n${i}`, customer: c1 })));
      const env = root.fork();
      const all = env.model(Note).browse(notes.ids);
      const hold = holdReply(isSelect('cc_note'));
      const p = all.at(0).text;
      await hold.reached;
      await env.model(Customer).browse(c1).unlink();
      hold.release();
      await p;
      expect((await all.at(1).customer).ids).toEqual([]);
      expect(await dbValue('cc_note', notes.ids[1], 'customer_id')).toBeNull();
    });

    it('clearCache() during the load: the reader gets the value committed after it', async () => {
      const { orders } = await seed();
      const env = root.fork();
      const all = await env.model(Order).search([]);
      const hold = holdReply(isSelect('cc_order'));
      const p = all.at(2).ref;
      await hold.reached;
      await root.knex('cc_order').where('id', orders[2]).update({ ref: 'changed by another program' });
      env.clearCache();
      hold.release();
      expect(await p).toBe('changed by another program');
      expect(await all.at(2).ref).toBe('changed by another program');
    });

    it('invalidateRecord() during the load: the reader gets the value committed after it', async () => {
      const { orders } = await seed();
      const env = root.fork();
      const all = await env.model(Order).search([]);
      const hold = holdReply(isSelect('cc_order'));
      const p = all.at(2).ref;
      await hold.reached;
      await root.knex('cc_order').where('id', orders[2]).update({ ref: 'changed' });
      env.invalidateRecord(Order, orders[2]);
      hold.release();
      expect(await p).toBe('changed');
    });

    it('a many2one write during a one2many load: both lists follow the move', async () => {
      const { orders } = await seed();
      const env = root.fork();
      const customers = await env.model(Customer).search([], { order: 'id' });
      const [c1, c2] = [customers.at(0), customers.at(1)];
      const moved = orders[3];
      const hold = holdReply(isSelect('cc_order'));
      const p = c1.orders;
      await hold.reached;
      await env.model(Order).browse(moved).write({ customer: c2.id });
      hold.release();
      await p;
      expect((await c1.orders).ids).not.toContain(moved);
      expect((await c2.orders).ids).toContain(moved);
      expect((await env.model(Order).browse(moved).customer).ids).toEqual([c2.id]);
    });

    it('a cached value of a record marked missing is never served', async () => {
      const { orders } = await seed();
      const env = root.fork();
      const r = env.model(Order).browse(orders[0]);
      expect(await r.ref).toBe('o0');
      await root.knex('cc_order').where('id', orders[0]).del();
      expect((await env.model(Order).browse(orders).exists()).ids).not.toContain(orders[0]);
      await expect(r.ref).rejects.toThrow(MissingError);
    });
  });

  it('versions are kept while a load that could need them runs, and pruned once none does', async () => {
    const ids = (await root.model(Account).create(Array.from({ length: 50 }, (_, i) => ({ name: `a${i}`, bal: i }))))
      .ids;
    const env = root.fork();
    const all = env.model(Account).browse(ids);
    const hold = holdReply(isSelect('cc_account'));
    const p = all.at(0).name;
    await hold.reached;
    for (const id of ids.slice(0, 20)) await env.model(Account).browse(id).write({ bal: -1 });
    expect(env.cache.versions.size).toBe(20);
    hold.release();
    await p;
    expect(env.cache.versions.size).toBe(0);
    expect((await all.read(['bal'])).map((r) => r.bal)).toEqual(ids.map((_, i) => (i < 20 ? -1 : i)));
  });

  it('a loop after clearCache() or invalidateRecord() over the same set costs one load again, not one per record', async () => {
    const ids = (await root.model(Account).create(Array.from({ length: 30 }, (_, i) => ({ name: `a${i}`, bal: i }))))
      .ids;
    const env = root.fork();
    const all = await env.model(Account).search([]);
    const loop = async () => {
      for (const r of all) await r.name;
    };
    expect(await countQueries(env, loop)).toBe(1);
    env.clearCache();
    expect(await countQueries(env, loop)).toBe(1);
    env.invalidateRecord(Account, ids);
    expect(await countQueries(env, loop)).toBe(1);
  });

  describe('transaction-scoped visibility', () => {
    it('a read by the enclosing level while a savepoint is open waits for it, and sees nothing of its rollback', async () => {
      const [c1, c2] = (await root.model(Customer).create([{ name: 'c1' }, { name: 'c2' }])).ids;
      const o = (await root.model(Order).create({ ref: 'o1', customer: c1 })).id;
      const env = root.fork();
      const C = env.model(Customer);
      let outerRead: readonly number[] = [];
      const written = barrier();
      const requested = barrier();
      await env.transaction(async () => {
        await Promise.all([
          env
            .transaction(async () => {
              await env.model(Order).browse(o).write({ customer: c2 });
              written.open();
              await requested.promise;
              await turns(3); // the outer read's batch has flushed: sent, or waiting for this savepoint
              throw new Error('inner block fails');
            })
            .catch(() => undefined),
          (async () => {
            await written.promise;
            const p = C.browse(c1).orders;
            requested.open();
            outerRead = (await p).ids;
          })(),
        ]);
      });
      expect(outerRead).toEqual([o]);
      expect((await C.browse(c1).orders).ids).toEqual([o]);
      expect((await C.browse(c2).orders).ids).toEqual([]);
      expect((await root.fork().model(Customer).browse(c1).orders).ids).toEqual([o]);
    });

    it('a read of the same transaction during a failing write does not cache what the rolled-back write did', async () => {
      const [id] = (await root.model(Account).create([{ name: 'orig', bal: 1 }])).ids;
      const env = root.fork();
      let seen: unknown;
      await env.transaction(async () => {
        const hold = holdReply((sql) => /^update/i.test(sql));
        const w = env.model(Account).browse([id, 999_999]).write({ name: 'bad' });
        await hold.reached; // the UPDATE ran in the write's savepoint
        const read = env.model(Account).browse(id).name;
        await turns(3);
        hold.release();
        await expect(w).rejects.toThrow(MissingError);
        seen = await read;
      });
      expect(seen).toBe('orig');
      expect(await env.model(Account).browse(id).name).toBe('orig');
      expect(await dbValue('cc_account', id, 'name')).toBe('orig');
    });

    it('code of the same Environment outside the transaction reads committed state, not its uncommitted writes', async () => {
      const [a, b] = (
        await root.model(Account).create([
          { name: 'a', bal: 100 },
          { name: 'b', bal: 0 },
        ])
      ).ids;
      const A = root.model(Account);
      const wrote = barrier();
      const readDone = barrier();
      let seen: number | null = null;
      await Promise.all([
        root
          .transaction(async () => {
            await A.browse(a).write({ bal: 0 });
            wrote.open();
            await readDone.promise;
            throw new Error('rolled back');
          })
          .catch(() => undefined),
        (async () => {
          await wrote.promise;
          seen = await A.browse(a).bal; // cached before the transaction: no statement needed
          readDone.open();
          await A.browse(b).write({ bal: seen });
        })(),
      ]);
      expect(seen).toBe(100);
      expect(await dbValue('cc_account', b, 'bal')).toBe(100);
      expect(await A.browse(a).bal).toBe(100);
    });

    it("two transactions of one Environment do not see each other's uncommitted writes", async () => {
      if (db.name === 'sqlite') return expect(db.name).toBe('sqlite'); // one connection: they cannot overlap
      const [a, b] = (
        await root.model(Account).create([
          { name: 'a', bal: 100 },
          { name: 'b', bal: 0 },
        ])
      ).ids;
      const env = root.fork();
      const A = env.model(Account);
      const wrote = barrier();
      const t2Done = barrier();
      let seen: number | null = null;
      await Promise.all([
        env
          .transaction(async () => {
            await A.browse(a).write({ bal: 0 });
            wrote.open();
            await t2Done.promise;
            throw new Error('T1 aborts');
          })
          .catch(() => undefined),
        env
          .transaction(async () => {
            await wrote.promise;
            seen = await A.browse(a).bal;
            await A.browse(b).write({ bal: seen === 0 ? -1 : 1 });
          })
          .then(() => t2Done.open()),
      ]);
      expect(seen).toBe(100);
      expect(await dbValue('cc_account', b, 'bal')).toBe(1);
      expect(await A.browse(a).bal).toBe(100);
    });

    it('a load and a write in one transaction become visible outside only at the outermost commit', async () => {
      const [a] = (await root.model(Account).create([{ name: 'a', bal: 1 }])).ids;
      const env = root.fork();
      await env.transaction(async () => {
        await env.transaction(async () => {
          await env.model(Account).browse(a).write({ bal: 2 });
        });
        expect(env.cache.has('cc_account', 'bal', a)).toBe(false); // the savepoint merged into the transaction, not below
      });
      expect(env.cache.has('cc_account', 'bal', a)).toBe(true);
      expect(await countQueries(env, async () => expect(await env.model(Account).browse(a).bal).toBe(2))).toBe(0);
    });
  });

  describe('write, unlink and reads issued together', () => {
    it('the Environment ends up serving what the database holds', async () => {
      for (let i = 0; i < 30; i++) {
        const env = root.fork();
        const r = await env.model(Account).create({ name: 'start', bal: 0 });
        const ops: Promise<unknown>[] = [
          r.name,
          r.write({ name: `a${i}` }),
          r.name,
          r.write({ name: `b${i}` }),
          r.name,
        ];
        if (i % 3 === 0) ops.push(r.unlink(), r.write({ name: `c${i}` }));
        await Promise.allSettled(ops);
        const mine = await r.name.then(String, (e: Error) => e.constructor.name);
        const truth = await root
          .fork()
          .model(Account)
          .browse(r.id)
          .name.then(String, (e: Error) => e.constructor.name);
        expect(`${i}: ${mine}`).toBe(`${i}: ${truth}`);
      }
    });

    it('two writes of one record whose COMMIT replies arrive in the other order: the cache forgets rather than guesses', async () => {
      if (db.name === 'sqlite') return expect(db.name).toBe('sqlite'); // one connection: the two cannot overlap
      const env = root.fork();
      const r = await env.model(Account).create({ name: 'start', bal: 0 });
      // The first write's COMMIT is done on the server, but its reply is held until the
      // second write (which waited for the row lock) has committed and been merged.
      const hold = holdReply((sql) => sql === 'COMMIT');
      const first = r.write({ name: 'first' });
      await hold.reached;
      await r.write({ name: 'second' });
      expect(await r.name).toBe('second');
      hold.release();
      await first;
      expect(await dbValue('cc_account', r.id, 'name')).toBe('second');
      expect(await countQueries(env, async () => expect(await r.name).toBe('second'))).toBe(1);
    });

    it('a write whose UPDATE waited for a concurrent unlink: the later commit wins in the cache', async () => {
      if (db.name === 'sqlite') return expect(db.name).toBe('sqlite'); // one connection: the two cannot overlap
      const env = root.fork();
      const r = await env.model(Account).create({ name: 'start', bal: 0 });
      // The UPDATE's reply is held until the DELETE was sent (it waits for the row lock,
      // then runs once the write committed): commit order is write, then unlink.
      const deleteSent = sent(root.knex, (sql) => /^delete/i.test(sql));
      const hold = holdReply((sql) => /^update/i.test(sql));
      const write = r.write({ name: 'w' });
      await hold.reached;
      const unlink = r.unlink();
      await deleteSent;
      hold.release();
      await Promise.all([write, unlink]);
      await expect(r.name).rejects.toThrow(MissingError);
    });
  });
});

describeEachDatabase('deadlocks', (db) => {
  if (db.name === 'sqlite') {
    it('SQLite has one writer: two transactions of forks never deadlock, they queue', async () => {
      const root = await db.open();
      try {
        const [a, b] = (
          await root.model(Account).create([
            { name: 'a', bal: 0 },
            { name: 'b', bal: 0 },
          ])
        ).ids;
        const f1 = root.fork();
        const f2 = root.fork();
        await Promise.all([
          f1.transaction(async () => {
            await f1.model(Account).browse(a).write({ bal: 1 });
            await f1.model(Account).browse(b).write({ bal: 1 });
          }),
          f2.transaction(async () => {
            await f2.model(Account).browse(b).write({ bal: 2 });
            await f2.model(Account).browse(a).write({ bal: 2 });
          }),
        ]);
        expect(await dbValue(root, a)).toBe(2);
      } finally {
        await root.close();
      }
    });
    return;
  }

  let root: Environment;
  beforeEach(async () => {
    root = await db.open();
  });
  afterEach(async () => {
    await root.close();
  });

  async function dbValue(env: Environment, id: number): Promise<unknown> {
    return (await env.knex('cc_account').where('id', id).first())?.bal;
  }

  /**
   * Two forks update a and b in opposite orders inside transactions; both first writes
   * are done before either second write starts, so one of them deadlocks. The loser's
   * callback catches the error and goes on writing c: that must fail too.
   */
  async function opposite(retries: number) {
    const [a, b, c] = (
      await root.model(Account).create([
        { name: 'a', bal: 0 },
        { name: 'b', bal: 0 },
        { name: 'c', bal: 0 },
      ])
    ).ids;
    const forks = [root.fork(), root.fork()];
    let firstWrites = 0;
    const bothWrote = barrier();
    const attempts = [0, 0];
    const afterCatch: unknown[] = [];
    const job = (k: number, first: number, second: number) =>
      forks[k].transaction(
        async () => {
          const M = forks[k].model(Account);
          attempts[k]++;
          await M.browse(first).write({ bal: k + 1 });
          if (++firstWrites === 2) bothWrote.open();
          await bothWrote.promise;
          try {
            await M.browse(second).write({ bal: k + 1 });
          } catch (e) {
            afterCatch.push(e);
            await M.browse(c)
              .write({ bal: 99 })
              .catch((e2: unknown) => afterCatch.push(e2));
          }
        },
        { retries },
      );
    const results = await Promise.allSettled([job(0, a, b), job(1, b, a)]);
    return { a, b, c, forks, results, attempts, afterCatch };
  }

  it('the loser gets DeadlockError; later statements of its callback fail with it; nothing of it is committed or cached', async () => {
    const { a, b, c, forks, results, afterCatch } = await opposite(0);
    const lost = results.findIndex((r) => r.status === 'rejected');
    expect(lost).toBeGreaterThanOrEqual(0);
    expect(results.filter((r) => r.status === 'rejected')).toHaveLength(1);
    const reason = (results[lost] as PromiseRejectedResult).reason;
    expect(reason).toBeInstanceOf(DeadlockError);
    expect(afterCatch).toHaveLength(2);
    expect(afterCatch[0]).toBeInstanceOf(DeadlockError);
    expect(afterCatch[1]).toBe(afterCatch[0]); // the write of c was refused with the same error
    const won = 1 - lost;
    expect(await dbValue(root, a)).toBe(won + 1);
    expect(await dbValue(root, b)).toBe(won + 1);
    expect(await dbValue(root, c)).toBe(0);
    const loserView = await forks[lost].model(Account).browse([a, b, c]).read(['bal']);
    expect(loserView.map((r) => r.bal)).not.toContain(lost + 1);
    expect(loserView.map((r) => r.bal)).not.toContain(99);
  });

  it("{ retries: 1 } runs the loser's callback again, and both commit", async () => {
    const { a, b, results, attempts } = await opposite(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(attempts[0] + attempts[1]).toBe(3);
    expect([await dbValue(root, a), await dbValue(root, b)]).toEqual([
      attempts[0] === 2 ? 1 : 2,
      attempts[0] === 2 ? 1 : 2,
    ]);
  });

  it('retries is refused on a nested transaction', async () => {
    await expect(root.transaction(() => root.transaction(async () => 1, { retries: 2 }))).rejects.toThrow(
      ValidationError,
    );
  });
});
