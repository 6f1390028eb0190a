import 'reflect-metadata';
import {
  BaseModel,
  Environment,
  Field,
  ForeignKeyViolationError,
  MissingError,
  Model,
  ValidationError,
  type Key,
} from '../lib';
import { countQueries, describeEachDatabase, tableNames } from './helpers/databases';
import {
  KEY_COLUMN,
  KEY_KINDS,
  absentKey,
  givenKey,
  compareKeys,
  keyed,
  modelOptions,
  named,
  withNextKey,
  type KeyKind,
} from './helpers/keys';

/** The suite's models for one key kind (see helpers/keys.ts); names suffixed per kind. */
function models(kind: KeyKind) {
  @Model(modelOptions(kind, 'rel_customer', { order: 'name' }))
  class Customer extends BaseModel {
    declare readonly id: Key;
    @Field() name!: string;
    @Field.one2many(() => Order, 'customer') orders!: Order[];
  }

  @Model(modelOptions(kind, 'rel_order', { table: 'rel_orders' }))
  class Order extends BaseModel {
    declare readonly id: Key;
    @Field({ default: 'draft' }) status!: string;
    @Field.float() amount!: number;
    @Field.many2one(() => Customer, { onDelete: 'restrict' }) customer!: Customer | null;
    @Field.one2many(() => Line, 'order') lines!: Line[];
  }

  @Model(modelOptions(kind, 'rel_line'))
  class Line extends BaseModel {
    declare readonly id: Key;
    @Field() label!: string;
    @Field.many2one(() => Order, { onDelete: 'cascade', required: true }) order!: Order;
    @Field.many2one(() => Customer, { onDelete: 'set null' }) buyer!: Customer | null;
  }

  @Model(modelOptions(kind, 'rel_post'))
  class Post extends BaseModel {
    declare readonly id: Key;
    @Field() title!: string;
    @Field.many2many(() => Tag) tags!: Tag[];
  }

  @Model(modelOptions(kind, 'rel_tag'))
  class Tag extends BaseModel {
    declare readonly id: Key;
    @Field() name!: string;
    @Field.many2many(() => Post) posts!: Post[];
  }

  return { Customer, Order, Line, Post, Tag };
}

/** A value that is not a key of the kind (the string kind takes any non-empty string). */
const NOT_A_KEY: Record<KeyKind, Key> = { integer: 'x', string: 7, uuid: 'x' };

/** Keys as a model without `order` lists them (by key). */
const byKey = (ids: readonly Key[]): Key[] => [...ids].sort(compareKeys);

for (const kind of KEY_KINDS) {
  const { Customer, Order, Line, Post, Tag } = models(kind);
  const T = (base: string) => named(base, kind);

  describeEachDatabase(`relations [${kind} keys]`, (db) => {
    let env: Environment;
    beforeEach(async () => {
      env = await db.open();
    });
    afterEach(async () => {
      await env.close();
    });

    /** 100 customers with 10 orders each, created through a fork: `env` starts cold. */
    async function seedOrders() {
      const w = env.fork();
      const customers = await w
        .model(Customer)
        .create(Array.from({ length: 100 }, (_, i) => keyed(kind, i, { name: customerName(i) })));
      const orders = await w
        .model(Order)
        .create(
          Array.from({ length: 1000 }, (_, i) =>
            keyed(kind, i, { amount: i, customer: customers.ids[i % 100], status: i % 2 ? 'pending' : 'done' }),
          ),
        );
      /** The name of an order's customer: order i belongs to customer i % 100. */
      const index = new Map(orders.ids.map((id, i) => [id, i]));
      const customerOf = (order: Key) => customerName(index.get(order)! % 100);
      return { customers: customers.ids, orders: orders.ids, customerOf };
    }

    const customerName = (i: number) => `c${String(i).padStart(3, '0')}`;

    it("1,000 orders over 100 customers, each order's customer name: 3 queries", async () => {
      const { customerOf } = await seedOrders();
      env.resetStats();
      const names: string[] = [];
      const orders = await env.model(Order).search([]);
      for (const order of orders) {
        const customer = await order.customer;
        names.push(await customer.name);
      }
      expect(names).toHaveLength(1000);
      expect(env.stats.queries).toBe(3);
      // Orders come by key: for integer keys, creation order (c000 first, c099 last).
      expect(names).toEqual(orders.ids.map(customerOf));
      if (kind === 'integer') expect([names[0], names[999]]).toEqual(['c000', 'c099']);
    });

    it("100 customers, each customer's orders and each order's amount: 3 queries", async () => {
      await seedOrders();
      env.resetStats();
      let total = 0;
      let count = 0;
      for (const customer of await env.model(Customer).search([])) {
        for (const order of await customer.orders) {
          total += await order.amount;
          count++;
        }
      }
      expect(count).toBe(1000);
      expect(total).toBe((999 * 1000) / 2);
      expect(env.stats.queries).toBe(3);
    });

    it("one2many children come in the target's order, grouped per parent", async () => {
      const c = await env.model(Customer).create(withNextKey(kind, { name: 'solo' }));
      // String keys a-2 then K_0: created in one order, sorted in the other.
      const o = await env
        .model(Order)
        .create([keyed(kind, 2, { amount: 3, customer: c.id }), keyed(kind, 3, { amount: 1, customer: c.id })]);
      const fresh = env.fork().model(Customer).browse(c.id);
      // Order has no `order`: by key (for string keys here, the reverse of creation).
      expect((await fresh.orders).ids).toEqual(byKey(o.ids));
      const amountOf = new Map([
        [o.ids[0], 3],
        [o.ids[1], 1],
      ]);
      expect(await (await fresh.orders).mapped('amount')).toEqual(byKey(o.ids).map((id) => amountOf.get(id)));
      if (kind === 'string') expect(byKey(o.ids)).toEqual([o.ids[1], o.ids[0]]);
    });

    it("many2many tags over 1,000 posts, each post's tag names: 3 queries", async () => {
      const w = env.fork();
      const tags = await w.model(Tag).create(Array.from({ length: 20 }, (_, i) => keyed(kind, i, { name: `t${i}` })));
      await w
        .model(Post)
        .create(
          Array.from({ length: 1000 }, (_, i) =>
            keyed(kind, i, { title: `p${i}`, tags: { set: [tags.ids[i % 20], tags.ids[(i + 7) % 20]] } }),
          ),
        );
      env.resetStats();
      let links = 0;
      for (const post of await env.model(Post).search([])) {
        for (const tag of await post.tags) {
          await tag.name;
          links++;
        }
      }
      expect(links).toBe(2000);
      expect(env.stats.queries).toBe(3);
      // The other side reads the same relation table.
      const t0 = env.model(Tag).browse(tags.ids[0]);
      expect((await t0.posts).length).toBe(100);
    });

    it("reassigning an order updates both customers' orders with no stale read and no manual invalidation", async () => {
      const { customers, orders } = await seedOrders();
      const c1 = env.model(Customer).browse(customers[0]);
      const c2 = env.model(Customer).browse(customers[1]);
      const order = env.model(Order).browse(orders[0]);
      expect((await c1.orders).ids).toContain(order.id);
      expect((await c2.orders).length).toBe(10);
      await order.write({ customer: c2 });
      expect((await c1.orders).ids).not.toContain(order.id);
      expect((await c1.orders).length).toBe(9);
      expect((await c2.orders).ids).toContain(order.id);
      expect((await c2.orders).length).toBe(11);
      expect((await order.customer).id).toBe(c2.id);
      await order.write({ customer: customers[2] });
      expect((await order.customer).id).toBe(customers[2]);
      await order.write({ customer: null });
      expect((await order.customer).length).toBe(0);
      expect(await (await order.customer).name).toBeNull();
      expect((await c2.orders).length).toBe(10);
    });

    it("create with a many2one invalidates the parent's one2many", async () => {
      const c = await env.model(Customer).create(withNextKey(kind, { name: 'x' }));
      expect((await c.orders).length).toBe(0);
      await env.model(Order).create(withNextKey(kind, { amount: 1, customer: c.id }));
      expect((await c.orders).length).toBe(1);
    });

    it('x2many commands: set, add, remove, create on one2many and many2many', async () => {
      const c = await env.model(Customer).create(withNextKey(kind, { name: 'cmd' }));
      const loose = await env.model(Order).create([1, 2, 3].map((amount) => withNextKey(kind, { amount })));
      await c.write({ orders: { add: loose.ids.slice(0, 2) } });
      expect((await c.orders).ids).toEqual(byKey(loose.ids.slice(0, 2)));
      expect((await loose.at(0).customer).id).toBe(c.id);
      await c.write({ orders: { set: [loose.ids[2]] } });
      expect((await c.orders).ids).toEqual([loose.ids[2]]);
      expect((await loose.at(0).customer).length).toBe(0);
      await c.write({ orders: { remove: [loose.ids[2]], create: [withNextKey(kind, { amount: 9 })] } });
      const after = await c.orders;
      expect(after.length).toBe(1);
      expect(await after.at(0).amount).toBe(9);

      const post = await env.model(Post).create(
        withNextKey(kind, {
          title: 'p',
          tags: { create: [withNextKey(kind, { name: 'a' }), withNextKey(kind, { name: 'b' })] },
        }),
      );
      const created = await post.tags;
      // Tags come by key; find the two by name.
      const names = await created.mapped('name');
      expect([...names].sort()).toEqual(['a', 'b']);
      const [a, b] = names[0] === 'a' ? created.ids : [...created.ids].reverse();
      expect(created.ids).toEqual(byKey([a, b]));
      const tagC = await env.model(Tag).create(withNextKey(kind, { name: 'c' }));
      await post.write({ tags: { add: [tagC.id], remove: [a] } });
      expect((await post.tags).ids).toEqual(byKey([b, tagC.id]));
      expect([...(await (await post.tags).mapped('name'))].sort()).toEqual(['b', 'c']);
      expect((await env.model(Tag).browse(a).posts).length).toBe(0);
      await post.write({ tags: { set: [a] } });
      expect((await post.tags).ids).toEqual([a]);
      expect((await tagC.posts).length).toBe(0);
      // a fresh Environment reads the same from the database
      expect((await env.fork().model(Post).browse(post.id).tags).ids).toEqual([a]);
      if (kind === 'integer')
        expect(b).toBeGreaterThan(a as number); // created in order: ids ascending
      else expect(typeof b === 'string' && b !== a).toBe(true);
    });

    it('x2many commands are validated before any SQL; a failing one changes nothing', async () => {
      const post = await env
        .model(Post)
        .create(withNextKey(kind, { title: 'p', tags: { create: [withNextKey(kind, { name: 'keep' })] } }));
      const before = (await post.tags).ids;
      const notAKey = NOT_A_KEY[kind];
      for (const bad of [
        { tags: [before[0]] },
        { tags: { replace: [before[0]] } },
        { tags: { set: [notAKey] } },
        { tags: null },
        { tags: {} },
      ]) {
        expect(await countQueries(env, () => expect(post.write(bad as never)).rejects.toThrow(ValidationError))).toBe(
          0,
        );
      }
      await expect(post.write({ tags: { set: [], add: [absentKey(kind)] } })).rejects.toThrow(ForeignKeyViolationError);
      expect((await post.tags).ids).toEqual(before);
      expect((await env.fork().model(Post).browse(post.id).tags).ids).toEqual(before);
      const line = await env.model(Line).create(
        withNextKey(kind, {
          label: 'l',
          order: (await env.model(Order).create(withNextKey(kind, { amount: 1 }))).id,
        }),
      );
      const order = await line.order;
      await expect(order.write({ lines: { remove: [line.id] } })).rejects.toThrow(/required; unlink/);
    });

    it('many2one values are checked: a wrong model, several records, a bad id', async () => {
      const c = await env.model(Customer).create(withNextKey(kind, { name: 'c' }));
      const o = await env.model(Order).create(withNextKey(kind, { amount: 1 }));
      const t = await env.model(Tag).create(withNextKey(kind, { name: 't' }));
      await expect(o.write({ customer: t as never })).rejects.toThrow(
        new RegExp(`expected records of "${T('rel_customer')}"`),
      );
      await expect(o.write({ customer: env.model(Customer).browse([c.id, absentKey(kind)]) })).rejects.toThrow(
        /one record/,
      );
      for (const bad of [-1, NOT_A_KEY[kind]]) await expect(o.write({ customer: bad })).rejects.toThrow(/invalid key/);
      await expect(o.write({ customer: absentKey(kind) })).rejects.toThrow(ForeignKeyViolationError);
      expect((await o.customer).length).toBe(0);
      await expect(env.model(Line).create(withNextKey(kind, { label: 'no order' }) as never)).rejects.toThrow(
        /order: is required/,
      );
    });

    it('restrict: deleting a referenced customer fails with ForeignKeyViolationError and deletes nothing', async () => {
      const c = await env.model(Customer).create(withNextKey(kind, { name: 'kept' }));
      await env.model(Order).create(withNextKey(kind, { amount: 5, customer: c.id }));
      await expect(c.unlink()).rejects.toThrow(ForeignKeyViolationError);
      expect(await c.name).toBe('kept');
      expect(await env.fork().model(Customer).searchCount([])).toBe(1);
    });

    it('cascade and set null are done by the database and reflected in the cache', async () => {
      const buyer = await env.model(Customer).create(withNextKey(kind, { name: 'buyer' }));
      const order = await env.model(Order).create(withNextKey(kind, { amount: 5 }));
      const lines = await env
        .model(Line)
        .create([
          withNextKey(kind, { label: 'a', order: order.id, buyer: buyer.id }),
          withNextKey(kind, { label: 'b', order: order.id }),
        ]);
      expect((await order.lines).length).toBe(2);
      expect((await lines.at(0).buyer).id).toBe(buyer.id);
      await buyer.unlink(); // set null
      expect((await lines.at(0).buyer).length).toBe(0);
      await order.unlink(); // cascade
      await expect(lines.at(0).label).rejects.toThrow(MissingError);
      await expect(lines.at(1).label).rejects.toThrow(MissingError);
      expect(await env.fork().model(Line).searchCount([])).toBe(0);
    });

    it("unlinking a tag removes it from posts' cached tags", async () => {
      const post = await env.model(Post).create(
        withNextKey(kind, {
          title: 'p',
          tags: { create: [withNextKey(kind, { name: 'x' }), withNextKey(kind, { name: 'y' })] },
        }),
      );
      const tags = await post.tags;
      await (await tags.filtered(async (t) => (await t.name) === 'x')).unlink();
      expect(await (await post.tags).mapped('name')).toEqual(['y']);
    });

    it('mapped follows paths and returns the union of related records', async () => {
      const { customerOf } = await seedOrders();
      const orders = await env.model(Order).search([['amount', '<', 250]]);
      const customers = await orders.mapped('customer');
      expect(customers.length).toBe(100);
      const names = (await orders.mapped('customer.name')) as string[];
      expect(names).toHaveLength(100);
      // In order of first appearance over the orders (by key): for integer keys, c000 first.
      expect(names).toEqual([...new Set(orders.ids.map(customerOf))]);
      if (kind === 'integer') expect(names[0]).toBe('c000');
      expect(await countQueries(env, () => orders.mapped('customer.name'))).toBe(0);
    });

    it('toDict renders a many2one as its id (or { id, displayName }) and x2many as id arrays', async () => {
      const c = await env.model(Customer).create(withNextKey(kind, { name: 'Ann' }));
      const o = await env.model(Order).create(withNextKey(kind, { amount: 2, customer: c.id }));
      expect(await o.toDict(['amount', 'customer'])).toEqual({ amount: 2, customer: c.id });
      expect(await o.toDict(['customer'], { display: true })).toEqual({ customer: { id: c.id, displayName: 'Ann' } });
      expect(await c.toDict(['orders'])).toEqual({ orders: [o.id] });
      expect(await env.model(Customer).browse(c.id).read(['name', 'orders'])).toEqual([
        { id: c.id, name: 'Ann', orders: [o.id] },
      ]);
      expect(
        await env
          .model(Order)
          .create(withNextKey(kind, { amount: 1 }))
          .then((x) => x.toDict(['customer'])),
      ).toEqual({ customer: null });
    });

    it('sync creates FK constraints and the relation table', async () => {
      const tables = await tableNames(env);
      expect(tables).toEqual(
        expect.arrayContaining([`${T('rel_post')}_${T('rel_tag')}_rel`, T('rel_orders'), T('rel_line')]),
      );
      // the constraint is real: the database itself refuses a dangling reference
      // (compared by message: better-sqlite3 keeps the error class of the first jest file that loaded it)
      const key = kind === 'integer' ? {} : { [KEY_COLUMN[kind]]: givenKey(kind, 1) };
      const outcome = await env
        .knex(T('rel_line'))
        .insert({ ...key, label: 'x', order_id: absentKey(kind) })
        .then(
          () => 'inserted',
          (e: Error) => e.message,
        );
      expect(outcome).toMatch(/foreign key/i);
    });

    it("['tags', '=', null] means no tags and ['tags', '!=', null] some, as in Odoo", async () => {
      const tagged = await env
        .model(Post)
        .create(withNextKey(kind, { title: 'tagged', tags: { create: [withNextKey(kind, { name: 't' })] } }));
      const bare = await env.model(Post).create(withNextKey(kind, { title: 'bare' }));
      expect((await env.model(Post).search([['tags', '=', null]])).ids).toEqual([bare.id]);
      expect((await env.model(Post).search([['tags', '!=', null]])).ids).toEqual([tagged.id]);
      expect((await env.model(Post).search(['!', ['tags', '=', null]])).ids).toEqual([tagged.id]);
    });
  });
}
