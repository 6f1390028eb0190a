/**
 * Objection 3 (on knex) in its two documented ways of reaching related rows:
 *
 *  - "$relatedQuery": `order.$relatedQuery('customer')` builds and runs a query for the
 *    relation of one loaded instance, so a loop over N records runs N+1 queries.
 *  - "withGraphFetched": eager loading. Per the docs, withGraphFetched "uses multiple queries
 *    under the hood" (one per level of the relation expression, a WHERE IN on the parents'
 *    keys), while withGraphJoined uses one query with joins; the docs add that the two "have
 *    very similar performance in most cases" (withGraphFetched being much faster when several
 *    has-many relations are loaded).
 *
 * Objection has no identity map and no unit of work: every workload is a fresh set of queries,
 * and the timed second step of d simply runs b again.
 *
 * Models use the column names as properties (Objection's default), bound to a knex instance
 * built from the BenchDb (better-sqlite3, mysql2 or pg).
 */
import knexFactory, { type Knex } from 'knex';
import { Model, type RelationMappings } from 'objection';
import type { BenchDb, Contender } from '../harness/types';

/**
 * The models, created per contender and bound to that contender's knex (Model.knex() binds a
 * class and its subclasses, so two contenders set up at once do not share a connection pool).
 */
function defineModels(knex: Knex) {
  class BenchModel extends Model {}
  BenchModel.knex(knex);

  class User extends BenchModel {
    static override tableName = 'bench_user';
    id!: number;
    name!: string;
    email!: string;
    age!: number;
  }

  class Customer extends BenchModel {
    static override tableName = 'bench_customer';
    id!: number;
    name!: string;
    orders?: Order[];

    static override relationMappings = (): RelationMappings => ({
      orders: {
        relation: Model.HasManyRelation,
        modelClass: Order,
        join: { from: 'bench_customer.id', to: 'bench_order.customer_id' },
      },
    });
  }

  class Order extends BenchModel {
    static override tableName = 'bench_order';
    id!: number;
    status!: string;
    amount!: number;
    customer_id!: number | null;
    customer?: Customer;

    static override relationMappings = (): RelationMappings => ({
      customer: {
        relation: Model.BelongsToOneRelation,
        modelClass: Customer,
        join: { from: 'bench_order.customer_id', to: 'bench_customer.id' },
      },
    });
  }

  return { User, Customer, Order };
}

type Models = ReturnType<typeof defineModels>;
type Form = 'relatedQuery' | 'graphFetched';

function knexFor(db: BenchDb): Knex {
  if (db.kind === 'sqlite')
    return knexFactory({ client: 'better-sqlite3', connection: { filename: db.sqliteFile! }, useNullAsDefault: true });
  if (db.kind === 'postgres') return knexFactory({ client: 'pg', connection: db.pg ?? db.pgUrl! });
  return knexFactory({ client: 'mysql2', connection: db.mysql ?? db.mysqlUrl! });
}

function contender(name: string, form: Form): Contender {
  let knex: Knex;
  let m: Models;

  async function orderCustomerNames(): Promise<number> {
    let sum = 0;
    if (form === 'relatedQuery') {
      const orders = await m.Order.query().orderBy('id');
      // A belongsToOne $relatedQuery resolves to the single related model (or undefined).
      for (const o of orders) sum += ((await o.$relatedQuery('customer'))?.name ?? '').length;
    } else {
      const orders = await m.Order.query().withGraphFetched('customer').orderBy('id');
      for (const o of orders) sum += (o.customer?.name ?? '').length;
    }
    return sum;
  }

  return {
    name,
    async setup(db: BenchDb) {
      knex = knexFor(db);
      m = defineModels(knex);
      await knex.raw('select 1');
    },
    workloads: {
      a: async () => {
        const users = await m.User.query().orderBy('id');
        let sum = 0;
        for (const u of users) sum += u.name.length + u.email.length + Number(u.age);
        return sum;
      },
      b: orderCustomerNames,
      c: async () => {
        let sum = 0;
        if (form === 'relatedQuery') {
          const customers = await m.Customer.query().orderBy('id');
          for (const c of customers) for (const o of await c.$relatedQuery('orders')) sum += Number(o.amount);
        } else {
          const customers = await m.Customer.query().withGraphFetched('orders').orderBy('id');
          for (const c of customers) for (const o of c.orders ?? []) sum += Number(o.amount);
        }
        return sum;
      },
      d: async () => {
        await orderCustomerNames();
        return orderCustomerNames; // no identity map: the same queries again
      },
      e: async () => {
        const users = await m.User.query().orderBy('id');
        // The bulk form: a patch() on a query (not on an instance) is one UPDATE statement and
        // resolves to the number of updated rows; the loaded instances, plain properties in
        // Objection, are then given the value that was written.
        await m.User.query()
          .patch({ age: 42 })
          .whereIn(
            'id',
            users.map((u) => u.id),
          );
        for (const u of users) u.$set({ age: 42 });
        let sum = 0;
        for (const u of users) sum += Number(u.age);
        return sum;
      },
      f: async () => {
        const users = await m.User.query().orderBy('id');
        let sum = 0;
        for (const u of users) {
          const p = u.toJSON() as { id: number; name: string; email: string; age: number };
          sum += p.id + p.name.length + p.email.length + Number(p.age);
        }
        return sum;
      },
    },
    async teardown() {
      await knex.destroy();
    },
  };
}

export const contenders: Contender[] = [
  contender('Objection ($relatedQuery)', 'relatedQuery'),
  contender('Objection (withGraphFetched)', 'graphFetched'),
];
