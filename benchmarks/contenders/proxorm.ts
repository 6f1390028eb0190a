/**
 * proxorm in its three forms: automatic prefetch (the naive code), the same code with
 * prefetch off (the N+1 baseline), and explicit prefetch() calls.
 */
import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, type RecordSet } from '../../lib';
import type { BenchDb, Contender } from '../harness/types';

@Model({ name: 'bench_user', table: 'bench_user' })
class User extends BaseModel {
  @Field() name!: string;
  @Field() email!: string;
  @Field() age!: number;
}

@Model({ name: 'bench_customer', table: 'bench_customer' })
class Customer extends BaseModel {
  @Field() name!: string;
  @Field.one2many(() => Order, 'customer') orders!: Order[];
}

@Model({ name: 'bench_order', table: 'bench_order' })
class Order extends BaseModel {
  @Field() status!: string;
  @Field.float() amount!: number;
  @Field.many2one(() => Customer) customer!: Customer | null;
}

type Mode = 'auto' | 'off' | 'explicit';

/** Opens the seeded database. */
async function open(db: BenchDb): Promise<Environment> {
  if (db.kind === 'sqlite') return Environment.open({ filename: db.sqliteFile });
  if (db.kind === 'mysql') return Environment.open({ client: 'mysql2', connection: db.mysqlUrl! });
  return Environment.open({ client: 'pg', connection: db.pgUrl! });
}

function contender(name: string, mode: Mode): Contender {
  let root: Environment;
  const unit = () => root.fork({ prefetch: mode === 'auto' });
  const prefetch = async <M>(records: RecordSet<M>, fields: Parameters<RecordSet<M>['prefetch']>[0]) => {
    if (mode === 'explicit') await records.prefetch(fields);
  };

  async function readUsers(env: Environment): Promise<number> {
    const users = await env.model(User).search([]);
    await prefetch(users, ['name', 'email', 'age']);
    let sum = 0;
    for (const u of users) sum += (await u.name).length + (await u.email).length + (await u.age);
    return sum;
  }

  async function orderCustomerNames(env: Environment): Promise<number> {
    const orders = await env.model(Order).search([]);
    await prefetch(orders, ['customer']);
    if (mode === 'explicit') await (await orders.mapped('customer')).prefetch(['name']);
    let sum = 0;
    for (const o of orders) sum += ((await (await o.customer).name) ?? '').length;
    return sum;
  }

  return {
    name,
    async setup(db: BenchDb) {
      root = await open(db);
    },
    workloads: {
      a: () => readUsers(unit()),
      b: () => orderCustomerNames(unit()),
      c: async () => {
        const env = unit();
        const customers = await env.model(Customer).search([]);
        await prefetch(customers, ['orders']);
        if (mode === 'explicit') await (await customers.mapped('orders')).prefetch(['amount']);
        let sum = 0;
        for (const c of customers) for (const o of await c.orders) sum += await o.amount;
        return sum;
      },
      d: async () => {
        const env = unit();
        await orderCustomerNames(env);
        return () => orderCustomerNames(env);
      },
      e: async () => {
        const env = unit();
        const users = await env.model(User).search([]);
        await prefetch(users, ['age']);
        await users.write({ age: 42 });
        let sum = 0;
        for (const u of users) sum += await u.age;
        return sum;
      },
      f: async () => {
        const env = unit();
        const users = await env.model(User).search([]);
        if (mode === 'explicit') {
          const rows = await users.read(['name', 'email', 'age']);
          return rows.reduce((s, r) => s + r.id + r.name.length + r.email.length + r.age, 0);
        }
        let sum = 0;
        for (const u of users) {
          const d = await u.toDict(['name', 'email', 'age']);
          sum += u.id + d.name.length + d.email.length + d.age;
        }
        return sum;
      },
    },
    async teardown() {
      await root.close();
    },
  };
}

export const contenders: Contender[] = [
  contender('proxorm (automatic prefetch)', 'auto'),
  contender('proxorm (prefetch off: N+1)', 'off'),
  contender('proxorm (explicit prefetch())', 'explicit'),
];
