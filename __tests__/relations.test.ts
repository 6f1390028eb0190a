import 'reflect-metadata';
import {
  BaseModel, Environment, Field, ForeignKeyViolationError, MissingError, Model, ValidationError,
} from '../lib';
import { countQueries, describeEachDatabase } from './helpers/databases';

@Model({ name: 'rel_customer', order: 'name' })
class Customer extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => Order, 'customer') orders!: Order[];
}

@Model({ name: 'rel_order', table: 'rel_orders' })
class Order extends BaseModel {
  @Field({ default: 'draft' }) status!: string;
  @Field.float() amount!: number;
  @Field.many2one(() => Customer, { onDelete: 'restrict' }) customer!: Customer | null;
  @Field.one2many(() => Line, 'order') lines!: Line[];
}

@Model('rel_line')
class Line extends BaseModel {
  @Field() label!: string;
  @Field.many2one(() => Order, { onDelete: 'cascade', required: true }) order!: Order;
  @Field.many2one(() => Customer, { onDelete: 'set null' }) buyer!: Customer | null;
}

@Model('rel_post')
class Post extends BaseModel {
  @Field() title!: string;
  @Field.many2many(() => Tag) tags!: Tag[];
}

@Model('rel_tag')
class Tag extends BaseModel {
  @Field() name!: string;
  @Field.many2many(() => Post) posts!: Post[];
}

describeEachDatabase('relations', (db) => {
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
    const customers = await w.model(Customer).create(Array.from({ length: 100 }, (_, i) => ({ name: `c${String(i).padStart(3, '0')}` })));
    const orders = await w.model(Order).create(
      Array.from({ length: 1000 }, (_, i) => ({ amount: i, customer: customers.ids[i % 100], status: i % 2 ? 'pending' : 'done' })),
    );
    return { customers: customers.ids, orders: orders.ids };
  }

  it('1,000 orders over 100 customers, each order\'s customer name: 3 queries', async () => {
    await seedOrders();
    env.resetStats();
    const names: string[] = [];
    for (const order of await env.model(Order).search([])) {
      const customer = await order.customer;
      names.push(await customer.name);
    }
    expect(names).toHaveLength(1000);
    expect(names[0]).toBe('c000');
    expect(names[999]).toBe('c099');
    expect(env.stats.queries).toBe(3);
  });

  it('100 customers, each customer\'s orders and each order\'s amount: 3 queries', async () => {
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

  it('one2many children come in the target\'s order, grouped per parent', async () => {
    const c = await env.model(Customer).create({ name: 'solo' });
    const o = await env.model(Order).create([{ amount: 3, customer: c.id }, { amount: 1, customer: c.id }]);
    const fresh = env.fork().model(Customer).browse(c.id);
    expect((await fresh.orders).ids).toEqual(o.ids);
    expect(await (await fresh.orders).mapped('amount')).toEqual([3, 1]);
  });

  it('many2many tags over 1,000 posts, each post\'s tag names: 3 queries', async () => {
    const w = env.fork();
    const tags = await w.model(Tag).create(Array.from({ length: 20 }, (_, i) => ({ name: `t${i}` })));
    await w.model(Post).create(Array.from({ length: 1000 }, (_, i) => ({ title: `p${i}`, tags: { set: [tags.ids[i % 20], tags.ids[(i + 7) % 20]] } })));
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

  it('reassigning an order updates both customers\' orders with no stale read and no manual invalidation', async () => {
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

  it('create with a many2one invalidates the parent\'s one2many', async () => {
    const c = await env.model(Customer).create({ name: 'x' });
    expect((await c.orders).length).toBe(0);
    await env.model(Order).create({ amount: 1, customer: c.id });
    expect((await c.orders).length).toBe(1);
  });

  it('x2many commands: set, add, remove, create on one2many and many2many', async () => {
    const c = await env.model(Customer).create({ name: 'cmd' });
    const loose = await env.model(Order).create([{ amount: 1 }, { amount: 2 }, { amount: 3 }]);
    await c.write({ orders: { add: loose.ids.slice(0, 2) } });
    expect((await c.orders).ids).toEqual(loose.ids.slice(0, 2));
    expect((await loose.at(0).customer).id).toBe(c.id);
    await c.write({ orders: { set: [loose.ids[2]] } });
    expect((await c.orders).ids).toEqual([loose.ids[2]]);
    expect((await loose.at(0).customer).length).toBe(0);
    await c.write({ orders: { remove: [loose.ids[2]], create: [{ amount: 9 }] } });
    const after = await c.orders;
    expect(after.length).toBe(1);
    expect(await after.at(0).amount).toBe(9);

    const post = await env.model(Post).create({ title: 'p', tags: { create: [{ name: 'a' }, { name: 'b' }] } });
    const [a, b] = (await post.tags).ids;
    const tagC = await env.model(Tag).create({ name: 'c' });
    await post.write({ tags: { add: [tagC.id], remove: [a] } });
    expect(await (await post.tags).mapped('name')).toEqual(['b', 'c']);
    expect((await env.model(Tag).browse(a).posts).length).toBe(0);
    await post.write({ tags: { set: [a] } });
    expect((await post.tags).ids).toEqual([a]);
    expect((await tagC.posts).length).toBe(0);
    // a fresh Environment reads the same from the database
    expect((await env.fork().model(Post).browse(post.id).tags).ids).toEqual([a]);
    expect(b).toBeGreaterThan(0);
  });

  it('x2many commands are validated before any SQL; a failing one changes nothing', async () => {
    const post = await env.model(Post).create({ title: 'p', tags: { create: [{ name: 'keep' }] } });
    const before = (await post.tags).ids;
    for (const bad of [{ tags: [1] }, { tags: { replace: [1] } }, { tags: { set: ['x'] } }, { tags: null }, { tags: {} }]) {
      expect(await countQueries(env, () => expect(post.write(bad as never)).rejects.toThrow(ValidationError))).toBe(0);
    }
    await expect(post.write({ tags: { set: [], add: [999999] } })).rejects.toThrow(ForeignKeyViolationError);
    expect((await post.tags).ids).toEqual(before);
    expect((await env.fork().model(Post).browse(post.id).tags).ids).toEqual(before);
    const line = await env.model(Line).create({ label: 'l', order: (await env.model(Order).create({ amount: 1 })).id });
    const order = await line.order;
    await expect(order.write({ lines: { remove: [line.id] } })).rejects.toThrow(/required; unlink/);
  });

  it('many2one values are checked: a wrong model, several records, a bad id', async () => {
    const c = await env.model(Customer).create({ name: 'c' });
    const o = await env.model(Order).create({ amount: 1 });
    const t = await env.model(Tag).create({ name: 't' });
    await expect(o.write({ customer: t as never })).rejects.toThrow(/expected records of "rel_customer"/);
    await expect(o.write({ customer: env.model(Customer).browse([c.id, c.id + 1]) })).rejects.toThrow(/one record/);
    await expect(o.write({ customer: -1 })).rejects.toThrow(ValidationError);
    await expect(o.write({ customer: 424242 })).rejects.toThrow(ForeignKeyViolationError);
    expect((await o.customer).length).toBe(0);
    await expect(env.model(Line).create({ label: 'no order' } as never)).rejects.toThrow(/order: is required/);
  });

  it('restrict: deleting a referenced customer fails with ForeignKeyViolationError and deletes nothing', async () => {
    const c = await env.model(Customer).create({ name: 'kept' });
    await env.model(Order).create({ amount: 5, customer: c.id });
    await expect(c.unlink()).rejects.toThrow(ForeignKeyViolationError);
    expect(await c.name).toBe('kept');
    expect(await env.fork().model(Customer).searchCount([])).toBe(1);
  });

  it('cascade and set null are done by the database and reflected in the cache', async () => {
    const buyer = await env.model(Customer).create({ name: 'buyer' });
    const order = await env.model(Order).create({ amount: 5 });
    const lines = await env.model(Line).create([{ label: 'a', order: order.id, buyer: buyer.id }, { label: 'b', order: order.id }]);
    expect((await order.lines).length).toBe(2);
    expect((await lines.at(0).buyer).id).toBe(buyer.id);
    await buyer.unlink(); // set null
    expect((await lines.at(0).buyer).length).toBe(0);
    await order.unlink(); // cascade
    await expect(lines.at(0).label).rejects.toThrow(MissingError);
    await expect(lines.at(1).label).rejects.toThrow(MissingError);
    expect(await env.fork().model(Line).searchCount([])).toBe(0);
  });

  it('unlinking a tag removes it from posts\' cached tags', async () => {
    const post = await env.model(Post).create({ title: 'p', tags: { create: [{ name: 'x' }, { name: 'y' }] } });
    const tags = await post.tags;
    await tags.at(0).unlink();
    expect(await (await post.tags).mapped('name')).toEqual(['y']);
  });

  it('mapped follows paths and returns the union of related records', async () => {
    await seedOrders();
    const orders = await env.model(Order).search([['amount', '<', 250]]);
    const customers = await orders.mapped('customer');
    expect(customers.length).toBe(100);
    const names = (await orders.mapped('customer.name')) as string[];
    expect(names).toHaveLength(100);
    expect(names[0]).toBe('c000');
    expect(await countQueries(env, () => orders.mapped('customer.name'))).toBe(0);
  });

  it('toDict renders a many2one as its id (or { id, displayName }) and x2many as id arrays', async () => {
    const c = await env.model(Customer).create({ name: 'Ann' });
    const o = await env.model(Order).create({ amount: 2, customer: c.id });
    expect(await o.toDict(['amount', 'customer'])).toEqual({ amount: 2, customer: c.id });
    expect(await o.toDict(['customer'], { display: true })).toEqual({ customer: { id: c.id, displayName: 'Ann' } });
    expect(await c.toDict(['orders'])).toEqual({ orders: [o.id] });
    expect(await env.model(Customer).browse(c.id).read(['name', 'orders'])).toEqual([{ id: c.id, name: 'Ann', orders: [o.id] }]);
    expect(await env.model(Order).create({ amount: 1 }).then((x) => x.toDict(['customer']))).toEqual({ customer: null });
  });

  it('sync creates FK constraints and the relation table', async () => {
    const tables = db.name === 'sqlite'
      ? (await env.knex.raw("SELECT name FROM sqlite_master WHERE type = 'table'")).map((r: { name: string }) => r.name)
      : ((await env.knex.raw('SHOW TABLES'))[0] as Array<Record<string, string>>).map((r) => Object.values(r)[0]);
    expect(tables).toEqual(expect.arrayContaining(['rel_post_rel_tag_rel', 'rel_orders', 'rel_line']));
    // the constraint is real: the database itself refuses a dangling reference
    // (compared by message: better-sqlite3 keeps the error class of the first jest file that loaded it)
    const outcome = await env.knex('rel_line').insert({ label: 'x', order_id: 999999 }).then(() => 'inserted', (e: Error) => e.message);
    expect(outcome).toMatch(/foreign key/i);
  });

  it("['tags', '=', null] means no tags and ['tags', '!=', null] some, as in Odoo", async () => {
    const tagged = await env.model(Post).create({ title: 'tagged', tags: { create: [{ name: 't' }] } });
    const bare = await env.model(Post).create({ title: 'bare' });
    expect((await env.model(Post).search([['tags', '=', null]])).ids).toEqual([bare.id]);
    expect((await env.model(Post).search([['tags', '!=', null]])).ids).toEqual([tagged.id]);
    expect((await env.model(Post).search(['!', ['tags', '=', null]])).ids).toEqual([tagged.id]);
  });
});
