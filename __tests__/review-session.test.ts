import 'reflect-metadata';
import v8 from 'node:v8';
import vm from 'node:vm';
import { BaseModel, Environment, type RecordSet, Field, MissingError, Model, TransactionEndedError } from '../lib';
import { EnvironmentError } from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';
import { barrier, clearHooks, holdReply, isSelect, turns } from './helpers/interleave';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/*
 * Adversarial review of lib/session: each test forces one interleaving (held reply,
 * barrier) and states what the promise requires. The failing ones are bugs.
 */

@Model('rv_customer')
class Customer extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => Order, 'customer') orders!: Order[];
}

@Model('rv_order')
class Order extends BaseModel {
  @Field() ref!: string;
  @Field.many2one(() => Customer, { onDelete: 'cascade' }) customer!: Customer | null;
}

@Model('rv_item')
class Item extends BaseModel {
  @Field() name!: string;
}

describeEachDatabase('review: session', (db) => {
  let root: Environment;
  beforeEach(async () => {
    root = await db.open();
  });
  afterEach(async () => {
    clearHooks();
    await root.close();
  });

  const dbRow = async (table: string, id: number) => root.knex(table).where('id', id).first();

  it('exists() in flight while a create takes one of the asked ids: the created record stays readable', async () => {
    const [a] = (await root.model(Item).create([{ name: 'a' }])).ids;
    const env = root.fork();
    const asked = [a, a + 1];
    const hold = holdReply(isSelect('rv_item'));
    const p = env.model(Item).browse(asked).exists();
    await hold.reached;
    const created = await env.model(Item).create({ name: 'b' });
    expect(created.ids).toEqual([a + 1]);
    hold.release();
    expect((await p).ids).toEqual([a]);
    expect(await dbRow('rv_item', a + 1)).toBeDefined();
    // The database holds the record: reading it must not be a MissingError.
    await expect(env.model(Item).browse(a + 1).name).resolves.toBe('b');
  });

  it("a read from a rolled-back transaction's context after it ended never serves the rolled-back value", async () => {
    const [id] = (await root.model(Item).create([{ name: 'committed' }])).ids;
    const env = root.fork();
    const rec = env.model(Item).browse(id);
    const gate = barrier();
    let later!: Promise<unknown>;
    await expect(
      env.transaction(async () => {
        await rec.write({ name: 'rolled back' });
        later = gate.promise.then(() => rec.name);
        later.catch(() => undefined);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    gate.open();
    expect((await dbRow('rv_item', id)).name).toBe('committed');
    const outcome = await later.then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    // Either refused (TransactionEndedError, as a statement would be) or the committed value.
    if ('e' in outcome) expect(outcome.e).toBeInstanceOf(TransactionEndedError);
    else expect(outcome.v).toBe('committed');
  });

  it("a read from a committed transaction's context after a later write never serves the older value", async () => {
    const [id] = (await root.model(Item).create([{ name: 'v0' }])).ids;
    const env = root.fork();
    const rec = env.model(Item).browse(id);
    const gate = barrier();
    let later!: Promise<unknown>;
    await env.transaction(async () => {
      await rec.write({ name: 'v1' });
      later = gate.promise.then(() => rec.name);
      later.catch(() => undefined);
    });
    await rec.write({ name: 'v2' });
    expect(await rec.name).toBe('v2');
    gate.open();
    const outcome = await later.then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    if ('e' in outcome) expect(outcome.e).toBeInstanceOf(TransactionEndedError);
    else expect(outcome.v).toBe('v2');
  });

  it('a loop over customers reading their orders, after an order was created, costs one query again, not one per customer', async () => {
    const customers = await root.model(Customer).create(Array.from({ length: 50 }, (_, i) => ({ name: `c${i}` })));
    await root.model(Order).create(customers.ids.map((c, i) => ({ ref: `o${i}`, customer: c })));
    const env = root.fork();
    const all = await env.model(Customer).search([]);
    const loop = async () => {
      for (const c of all) await c.orders;
    };
    expect(await countQueries(env, loop)).toBe(1);
    await env.model(Order).create({ ref: 'new', customer: customers.ids[0] });
    expect(await countQueries(env, loop)).toBe(1);
  });

  it('inside a transaction too: a loop over customers reading their orders, after an order was created in it, costs one query again', async () => {
    const customers = await root.model(Customer).create(Array.from({ length: 50 }, (_, i) => ({ name: `c${i}` })));
    await root.model(Order).create(customers.ids.map((c, i) => ({ ref: `o${i}`, customer: c })));
    const env = root.fork();
    await env.transaction(async () => {
      const all = await env.model(Customer).search([]);
      const loop = async () => {
        for (const c of all) await c.orders;
      };
      expect(await countQueries(env, loop)).toBe(1);
      await env.model(Order).create({ ref: 'new', customer: customers.ids[0] });
      expect(await countQueries(env, loop)).toBe(1);
    });
  });

  it('new children reached through a reloaded one2many are prefetched together (one query), not one per child', async () => {
    const customers = await root.model(Customer).create(Array.from({ length: 30 }, (_, i) => ({ name: `c${i}` })));
    await root.model(Order).create(customers.ids.map((c, i) => ({ ref: `o${i}`, customer: c })));
    const env = root.fork();
    const all = await env.model(Customer).search([]);
    const loop = async () => {
      for (const c of all) for (const o of await c.orders) await o.ref;
    };
    expect(await countQueries(env, loop)).toBe(2);
    await root.model(Order).create(customers.ids.map((c, i) => ({ ref: `n${i}`, customer: c })));
    env.clearCache(Customer);
    expect(await countQueries(env, loop)).toBe(2);
  });

  it('a loop of 1,000 records inside a transaction is 2 queries, and after commit 0', async () => {
    await root.model(Item).create(Array.from({ length: 1000 }, (_, i) => ({ name: `i${i}` })));
    const env = root.fork();
    let all!: RecordSet<Item>;
    const inside = await countQueries(env, () =>
      env.transaction(async () => {
        all = await env.model(Item).search([]);
        for (const r of all) await r.name;
      }),
    );
    expect(inside).toBe(2);
    expect(
      await countQueries(env, async () => {
        for (const r of all) await r.name;
      }),
    ).toBe(0);
  });

  if (db.name === 'mariadb') {
    it('MariaDB: a transaction whose snapshot predates a concurrent create does not put the old one2many list in the cache at commit', async () => {
      const [c] = (await root.model(Customer).create([{ name: 'c' }])).ids;
      const [o1] = (await root.model(Order).create([{ ref: 'o1', customer: c }])).ids;
      const [other] = (await root.model(Item).create([{ name: 'x' }])).ids;
      const env = root.fork();
      const snapshotTaken = barrier();
      const created = barrier();
      const t = env.transaction(async () => {
        await env.model(Item).browse(other).name; // first read: InnoDB takes the read view
        snapshotTaken.open();
        await created.promise;
        return (await env.model(Customer).browse(c).orders).ids;
      });
      await snapshotTaken.promise;
      const [o2] = (await env.model(Order).create([{ ref: 'o2', customer: c }])).ids;
      created.open();
      expect(await t).toEqual([o1]); // its snapshot: fine inside the transaction
      const db2 = (await root.knex('rv_order').where('customer_id', c).select('id'))
        .map((r: { id: number }) => r.id)
        .sort();
      expect(db2).toEqual([o1, o2].sort());
      expect([...(await env.model(Customer).browse(c).orders).ids].sort()).toEqual([o1, o2].sort());
    });

    it('MariaDB: a transaction whose snapshot predates a concurrent cascade does not put deleted children back at commit', async () => {
      const [c] = (await root.model(Customer).create([{ name: 'c' }])).ids;
      const [o1] = (await root.model(Order).create([{ ref: 'o1', customer: c }])).ids;
      const [other] = (await root.model(Item).create([{ name: 'x' }])).ids;
      const env = root.fork();
      const snapshotTaken = barrier();
      const deleted = barrier();
      const t = env.transaction(async () => {
        await env.model(Item).browse(other).name;
        snapshotTaken.open();
        await deleted.promise;
        return env.model(Order).browse(o1).ref;
      });
      await snapshotTaken.promise;
      await env.model(Customer).browse(c).unlink(); // cascade deletes o1
      deleted.open();
      expect(await t).toBe('o1');
      expect(await dbRow('rv_order', o1)).toBeUndefined();
      await expect(env.model(Order).browse(o1).ref).rejects.toThrow(MissingError);
    });
  }

  it('a raw env.knex statement of the enclosing level while a savepoint is open is refused (it would run inside the savepoint and be undone by its rollback)', async () => {
    const env = root.fork();
    const open = barrier();
    const fail = barrier();
    let refused: unknown;
    await env.transaction(async () => {
      const inner = env
        .transaction(async () => {
          await env.model(Item).create({ name: 'inner' });
          open.open();
          await fail.promise;
          throw new Error('inner fails');
        })
        .catch(() => undefined);
      await open.promise;
      try {
        await env.knex('rv_item').insert({ name: 'outer raw' }); // outer level's context
      } catch (e) {
        refused = e;
      }
      fail.open();
      await inner;
      await env.knex('rv_item').insert({ name: 'outer raw, after' }); // the savepoint ended: allowed
    });
    expect(refused).toBeInstanceOf(EnvironmentError);
    const names = (await root.knex('rv_item').select('name')).map((r: { name: string }) => r.name);
    expect(names).toEqual(['outer raw, after']);
  });

  it("an ended transaction's cache layer is not retained (a fork's reads inside it grew the pool)", async () => {
    await root.model(Item).create(Array.from({ length: 20 }, (_, i) => ({ name: `i${i}` })));
    const env = root.fork();
    let layer!: WeakRef<object>;
    await env.transaction(async () => {
      const frame = env.session.shared.transactions.getStore() as unknown as { cache: { layer: object } };
      layer = new WeakRef(frame.cache.layer);
      for (const r of await env.model(Item).search([])) await r.name; // what the layer holds
      const other = root.fork();
      if (db.name !== 'sqlite') await Promise.all(Array.from({ length: 6 }, () => other.model(Item).search([]))); // a server: new pooled connections
    });
    await turns(3);
    gc();
    await turns(2);
    gc();
    expect(layer.deref()).toBeUndefined();
  });
});
