import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, SchemaError, ValidationError, type EnvironmentConfig } from '../lib';
import { countQueries, describeEachDatabase, tableNames } from './helpers/databases';

/**
 * Environment.open({ models }): each Environment maps a set of models, and names and
 * tables are unique within a set, not within the process. Here two classes map a table
 * named mset_customer (under one model name), as an app mapping two databases would.
 * Every open in this file gives `models`: the default set (every registered model)
 * holds both and is refused, which one test checks.
 */

// ---- the shop database ---------------------------------------------------------------

@Model({ name: 'mset_customer', table: 'mset_customer' })
class ShopCustomer extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => ShopOrder, 'customer') orders!: ShopOrder[];
}

@Model('mset_order')
class ShopOrder extends BaseModel {
  @Field.integer() amount!: number;
  @Field.many2one(() => ShopCustomer, { onDelete: 'cascade', required: true }) customer!: ShopCustomer;
}

/** Points at ShopCustomer but is in no set below but one: it must not matter to the others. */
@Model('mset_note')
class Note extends BaseModel {
  @Field() text!: string;
  @Field.many2one(() => ShopCustomer, { onDelete: 'cascade' }) customer!: ShopCustomer | null;
}

// ---- the CRM database: another class on a table of the same name ----------------------

@Model({ name: 'mset_customer', table: 'mset_customer' })
class CrmCustomer extends BaseModel {
  @Field() email!: string;
  @Field.many2many(() => CrmTag) tags!: CrmTag[];
}

@Model('mset_tag')
class CrmTag extends BaseModel {
  @Field() label!: string;
}

/** Another name, with a table that differs from ShopCustomer's only in case. */
@Model({ name: 'mset_client', table: 'MSET_Customer' })
class Client extends BaseModel {
  @Field() code!: string;
}

class NotAModel extends BaseModel {}

const SHOP = [ShopCustomer, ShopOrder];
const CRM = [CrmCustomer, CrmTag];
/** Refuses a connection: an open that fails with anything else checked before connecting. */
const UNREACHABLE: EnvironmentConfig = { client: 'mysql2', connection: 'mysql://u@127.0.0.1:1/none' };

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

/** The tables of `env`'s database, sorted, lower-cased. */
async function tablesOf(env: Environment): Promise<string[]> {
  return (await tableNames(env)).map((t) => t.toLowerCase()).sort();
}

async function columnsOf(env: Environment, table: string): Promise<string[]> {
  return Object.keys(await env.knex(table).columnInfo()).sort();
}

describeEachDatabase('model sets', (db) => {
  const opened: Environment[] = [];
  afterEach(async () => {
    for (const env of opened.splice(0)) await env.close();
  });
  async function open(models: readonly (typeof BaseModel)[], second = false): Promise<Environment> {
    const env = await (second ? db.openSecond({ models }) : db.open({ models }));
    opened.push(env);
    return env;
  }

  it('two Environments on two databases each map mset_customer with their own class, side by side', async () => {
    const shop = await open(SHOP);
    const crm = await open(CRM, true);
    expect(await columnsOf(shop, 'mset_customer')).toEqual(['id', 'name']);
    expect(await columnsOf(crm, 'mset_customer')).toEqual(['email', 'id']);
    expect(await tablesOf(shop)).toEqual(['mset_customer', 'mset_order']);
    expect(await tablesOf(crm)).toEqual(['mset_customer', 'mset_customer_mset_tag_rel', 'mset_tag']);

    const customers = await shop.model(ShopCustomer).create([{ name: 'Ada' }, { name: 'Bob' }, { name: 'Cy' }]);
    await shop.model(ShopOrder).create(
      customers.ids.flatMap((customer, i) => [
        { amount: 10 * i, customer },
        { amount: 10 * i + 1, customer },
      ]),
    );
    const tags = await crm.model(CrmTag).create([{ label: 'vip' }, { label: 'new' }]);
    await crm.model(CrmCustomer).create([
      { email: 'ada@crm', tags: { add: [tags.ids[0]] } },
      { email: 'bob@crm', tags: { add: tags.ids } },
    ]);
    // The same ids in both databases, different rows.
    expect(customers.ids.slice(0, 2)).toEqual([1, 2]);

    // Cold forks (forks share their root's models), read in one interleaved pass.
    const s = shop.fork();
    const c = crm.fork();
    const shopRows: string[] = [];
    const crmRows: string[] = [];
    const shopLoop = async () => {
      for (const customer of await s.model(ShopCustomer).search([], { order: 'id' })) {
        const amounts: number[] = [];
        for (const order of await customer.orders) amounts.push(await order.amount);
        shopRows.push(`${await customer.name}:${amounts.join(',')}`);
      }
    };
    const crmLoop = async () => {
      for (const customer of await c.model(CrmCustomer).search([], { order: 'id' })) {
        const labels: string[] = [];
        for (const tag of await customer.tags) labels.push(await tag.label);
        crmRows.push(`${await customer.email}:${labels.join(',')}`);
      }
    };
    await Promise.all([shopLoop(), crmLoop()]);
    expect(shopRows).toEqual(['Ada:0,1', 'Bob:10,11', 'Cy:20,21']);
    expect(crmRows).toEqual(['ada@crm:vip', 'bob@crm:vip,new']);
    // search, orders / tags of every customer, amount / label of every record, name / email.
    expect([s.stats.queries, c.stats.queries]).toEqual([4, 4]);

    // A name resolves within the Environment's models: the same name, each its own class.
    const shopCustomer = s.model(ShopCustomer).browse(1);
    const crmCustomer = c.model(CrmCustomer).browse(1);
    s.invalidateRecord('mset_customer', 1);
    c.clearCache('mset_customer');
    expect(await countQueries(s, async () => expect(await shopCustomer.name).toBe('Ada'))).toBe(1);
    expect(await countQueries(c, async () => expect(await crmCustomer.email).toBe('ada@crm'))).toBe(1);
    expect(await countQueries(s, async () => expect(await shopCustomer.name).toBe('Ada'))).toBe(0);

    // Writes land in each Environment's own database and cache.
    await s.model(ShopCustomer).browse(1).write({ name: 'Ada L.' });
    await c.model(CrmCustomer).browse(1).write({ email: 'ada@l.crm' });
    expect(await countQueries(s, async () => expect(await shopCustomer.name).toBe('Ada L.'))).toBe(0);
    expect(await countQueries(c, async () => expect(await crmCustomer.email).toBe('ada@l.crm'))).toBe(0);
    expect(await shop.knex('mset_customer').where('id', 1).first()).toEqual({ id: 1, name: 'Ada L.' });
    expect(await crm.knex('mset_customer').where('id', 1).first()).toEqual({ id: 1, email: 'ada@l.crm' });

    // A record of the other class of that name is not a shop customer (customer 2 exists in both).
    const wrong = await rejection(
      s.model(ShopOrder).create({ amount: 1, customer: c.model(CrmCustomer).browse(2) as never }),
    );
    expect(wrong).toBeInstanceOf(ValidationError);
    expect(wrong.message).toMatch(/expected records of "mset_customer" of class ShopCustomer, got class CrmCustomer/);

    // The cascade rule of the shop's set: unlinking a customer forgets its orders.
    const orders = await s.model(ShopOrder).search([['customer', '=', 1]]);
    expect(await orders.at(0).amount).toBe(0);
    await s.model(ShopCustomer).browse(1).unlink();
    expect(
      await s
        .model(ShopOrder)
        .browse(orders.ids)
        .exists()
        .then((r) => r.ids),
    ).toEqual([]);
    expect(
      await c
        .model(CrmCustomer)
        .browse(1)
        .exists()
        .then((r) => r.ids),
    ).toEqual([1]);
  });

  it('env.model, statics, clearCache and invalidateRecord refuse a model outside the set (SchemaError naming it)', async () => {
    const shop = await open(SHOP);
    const fork = shop.fork();
    for (const env of [shop, fork]) {
      expect(thrown(() => env.model(CrmTag))).toBeInstanceOf(SchemaError);
      expect(thrown(() => env.model(CrmTag)).message).toMatch(
        /model "mset_tag" \(class CrmTag\) is not one of this Environment's models/,
      );
      // Same model name as ShopCustomer, but another class: not this Environment's.
      expect(thrown(() => env.model(CrmCustomer)).message).toMatch(
        /model "mset_customer" \(class CrmCustomer\) is not one of this Environment's models/,
      );
      expect(thrown(() => env.clearCache(CrmTag))).toBeInstanceOf(SchemaError);
      expect(thrown(() => env.clearCache('mset_tag')).message).toMatch(/no model named "mset_tag"/);
      expect(thrown(() => env.invalidateRecord('mset_tag', 1))).toBeInstanceOf(SchemaError);
      expect(thrown(() => env.invalidateRecord(Note, 1)).message).toMatch(
        /model "mset_note" \(class Note\) is not one/,
      );
      expect(thrown(() => env.model(NotAModel)).message).toMatch(/NotAModel is not a model/);
    }
    Environment.setDefault(shop);
    expect(thrown(() => CrmTag.search())).toBeInstanceOf(SchemaError);
    expect(await countQueries(shop, () => ShopCustomer.search())).toBe(1);
  });

  it("sync creates only the set's tables; a registered model outside the set that points into it is ignored", async () => {
    const env = await open([CrmTag]);
    expect(await tablesOf(env)).toEqual(['mset_tag']);
    expect(await env.sync()).toEqual({ createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] });
    // Note points at ShopCustomer and is registered, but not in this set: no table, no FK.
    const shop = await open(SHOP, true);
    expect(await tablesOf(shop)).toEqual(['mset_customer', 'mset_order']);
    await shop.model(ShopCustomer).create({ name: 'Ada' });
    await shop.model(ShopCustomer).browse(1).unlink();
    expect(await shop.knex('mset_customer').count({ n: '*' })).toEqual([{ n: 0 }]);
  });
});

describe('model sets checked at open, before any connection', () => {
  it('a relation whose target is outside the set is a SchemaError naming the field and the model', async () => {
    for (const [models, message] of [
      [
        [ShopOrder],
        /mset_order\.customer: its target model "mset_customer" \(class ShopCustomer\) is not one of this Environment's models/,
      ],
      [
        [ShopCustomer],
        /mset_customer\.orders: its target model "mset_order" \(class ShopOrder\) is not one of this Environment's models/,
      ],
      [[CrmCustomer], /mset_customer\.tags: its target model "mset_tag" \(class CrmTag\) is not one/],
      [
        [CrmTag, CrmCustomer, ShopOrder],
        /mset_order\.customer: its target model "mset_customer" \(class ShopCustomer\)/,
      ],
    ] as const) {
      const e = await rejection(Environment.open({ ...UNREACHABLE, models }));
      expect(e).toBeInstanceOf(SchemaError);
      expect(e.message).toMatch(message);
    }
  });

  it('two models with one name, or one table (without case), in a set is a SchemaError naming both', async () => {
    for (const [models, message] of [
      [
        [ShopCustomer, ShopOrder, CrmCustomer],
        /model name "mset_customer" is used by class ShopCustomer and class CrmCustomer/,
      ],
      [
        [ShopCustomer, ShopOrder, Client],
        /table "MSET_Customer" of model "mset_client" is already used by model "mset_customer"/,
      ],
      // The default set is every registered model: this file's hold both.
      [undefined, /model name "mset_customer" is used by class ShopCustomer and class CrmCustomer/],
    ] as const) {
      const e = await rejection(Environment.open({ ...UNREACHABLE, models }));
      expect(e).toBeInstanceOf(SchemaError);
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(/open another with \{ models \}/);
    }
  });

  it('models that are not an array of model classes', async () => {
    for (const [models, type, message] of [
      ['mset_customer', ValidationError, /"models" must be an array of model classes/],
      [[ShopCustomer, 42], ValidationError, /models\[1\] is not a class/],
      [[NotAModel], SchemaError, /NotAModel is not a model/],
    ] as const) {
      const e = await rejection(Environment.open({ ...UNREACHABLE, models: models as never }));
      expect(e).toBeInstanceOf(type);
      expect(e.message).toMatch(message);
    }
  });

  it('a class given twice counts once; an empty set maps nothing', async () => {
    const env = await Environment.open({ models: [CrmTag, CrmTag] });
    const none = await Environment.open({ models: [] });
    try {
      expect((await env.sync()).createdTables).toEqual(['mset_tag']);
      expect((await none.sync()).createdTables).toEqual([]);
      expect(thrown(() => none.model(CrmTag))).toBeInstanceOf(SchemaError);
    } finally {
      await env.close();
      await none.close();
    }
  });
});
