/**
 * MikroORM 6 in three forms. Each contender has its own MikroORM instance and its own
 * entity definitions (MikroORM decorates the entity prototypes per instance, and the
 * dataloader form needs a different ORM config), all mapped onto the seeded tables with
 * `EntitySchema` and explicit types, so nothing depends on reflected metadata.
 *
 *  - "MikroORM (references)": to-one relations are `Ref<>` wrappers (`ref: true`), loaded on
 *    access with `await order.customer.load()`; collections with `await customer.orders.load()`.
 *    The docs' lazy form ("Type-safe relations"). The identity map of the fork means each
 *    customer is loaded once, so b costs 1 + (distinct customers) statements.
 *  - "MikroORM (populate)": `em.find(Order, {}, { populate: ['customer'], orderBy })`, the
 *    docs' way to load relations up front; v6's default `joined` strategy for SQL drivers.
 *  - "MikroORM (dataloader)": the references code with `dataloader: DataloaderType.ALL`.
 *    The dataloader only coalesces loads issued in the same tick of the event loop, so the
 *    loads are started together (`Promise.all(orders.map((o) => o.customer.load()))`) as in
 *    the "Dataloaders" docs; an `await` per iteration would batch nothing.
 *
 * Every workload runs in a fresh fork of the EntityManager (its unit of work), except d,
 * which forks once in the untimed step and reuses the fork (its identity map) in the timed
 * step. e sets the field on the managed entities and calls `em.flush()` (the unit-of-work
 * way; MikroORM batches the changesets into few UPDATE statements). f serializes with
 * `wrap(entity).toObject()`.
 */
import 'reflect-metadata';
import {
  BigIntType,
  Collection,
  DataloaderType,
  DoubleType,
  EntitySchema,
  MikroORM,
  ReflectMetadataProvider,
  wrap,
  type EntityManager,
  type Options,
  type Ref,
} from '@mikro-orm/core';
import { MySqlDriver } from '@mikro-orm/mysql';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { SqliteDriver } from '@mikro-orm/sqlite';
import type { BenchDb, Contender, ServerSettings } from '../harness/types';

interface User {
  id: number;
  name: string;
  email: string;
  age: number;
}

interface Customer {
  id: number;
  name: string;
  orders: Collection<Order>;
}

interface Order {
  id: number;
  status: string;
  amount: number;
  customer: Ref<Customer> | null;
}

/** A fresh set of entity definitions (one per ORM instance), named with `prefix`. */
function defineEntities(prefix: string) {
  const UserSchema = new EntitySchema<User>({
    name: `${prefix}User`,
    tableName: 'bench_user',
    properties: {
      id: { type: 'integer', primary: true },
      name: { type: 'string', length: 255 },
      email: { type: 'string', length: 255 },
      // BIGINT column, read as a JS number (ages are small).
      age: { type: new BigIntType('number') },
    },
  });
  const CustomerSchema: EntitySchema<Customer> = new EntitySchema<Customer>({
    name: `${prefix}Customer`,
    tableName: 'bench_customer',
    properties: {
      id: { type: 'integer', primary: true },
      name: { type: 'string', length: 255 },
      orders: { kind: '1:m', entity: () => OrderSchema, mappedBy: 'customer' },
    },
  });
  const OrderSchema: EntitySchema<Order> = new EntitySchema<Order>({
    name: `${prefix}Order`,
    tableName: 'bench_order',
    properties: {
      id: { type: 'integer', primary: true },
      status: { type: 'string', length: 255 },
      // DOUBLE column: DoubleType maps to string unless the runtime type is number.
      amount: { type: DoubleType, runtimeType: 'number' },
      customer: { kind: 'm:1', entity: () => CustomerSchema, ref: true, nullable: true, fieldName: 'customer_id' },
    },
  });
  return { User: UserSchema, Customer: CustomerSchema, Order: OrderSchema };
}

type Entities = ReturnType<typeof defineEntities>;

async function openOrm(db: BenchDb, entities: Entities, dataloader: DataloaderType): Promise<MikroORM> {
  const common: Options = {
    entities: [entities.User, entities.Customer, entities.Order],
    metadataProvider: ReflectMetadataProvider,
    metadataCache: { enabled: false },
    discovery: { warnWhenNoEntities: false },
    ensureDatabase: false, // the runner owns the schema
    debug: false,
    dataloader,
  };
  if (db.kind === 'sqlite') return MikroORM.init({ ...common, driver: SqliteDriver, dbName: db.sqliteFile! });
  const server = (m: ServerSettings) => ({
    host: m.host,
    port: m.port,
    user: m.user,
    password: m.password,
    dbName: m.database,
  });
  if (db.kind === 'postgres') return MikroORM.init({ ...common, driver: PostgreSqlDriver, ...server(db.pg!) });
  return MikroORM.init({ ...common, driver: MySqlDriver, ...server(db.mysql!) });
}

type Form = 'references' | 'populate' | 'dataloader';

function contender(name: string, form: Form): Contender {
  const E = defineEntities(form);
  let orm: MikroORM;
  const unit = (): EntityManager => orm.em.fork();
  const byId = { orderBy: { id: 'asc' } } as const;

  async function orderCustomerNames(em: EntityManager): Promise<number> {
    let sum = 0;
    if (form === 'populate') {
      const orders = await em.find(E.Order, {}, { ...byId, populate: ['customer'] });
      for (const o of orders) sum += (o.customer?.$.name ?? '').length;
    } else if (form === 'dataloader') {
      const orders = await em.find(E.Order, {}, byId);
      // tsc types each element Promise<Loaded<Customer>> | undefined; the rule misreads MikroORM's Ref.
      // eslint-disable-next-line @typescript-eslint/await-thenable
      const customers = await Promise.all(orders.map((o) => o.customer?.load()));
      for (const c of customers) sum += (c?.name ?? '').length;
    } else {
      const orders = await em.find(E.Order, {}, byId);
      for (const o of orders) sum += ((await o.customer?.load())?.name ?? '').length;
    }
    return sum;
  }

  async function customerOrderAmounts(em: EntityManager): Promise<number> {
    let sum = 0;
    if (form === 'populate') {
      const customers = await em.find(E.Customer, {}, { ...byId, populate: ['orders'] });
      for (const c of customers) for (const o of c.orders) sum += o.amount;
    } else if (form === 'dataloader') {
      const customers = await em.find(E.Customer, {}, byId);
      const collections = await Promise.all(customers.map((c) => c.orders.load()));
      for (const orders of collections) for (const o of orders) sum += o.amount;
    } else {
      const customers = await em.find(E.Customer, {}, byId);
      for (const c of customers) for (const o of await c.orders.load()) sum += o.amount;
    }
    return sum;
  }

  return {
    name,
    async setup(db: BenchDb) {
      orm = await openOrm(db, E, form === 'dataloader' ? DataloaderType.ALL : DataloaderType.NONE);
    },
    workloads: {
      a: async () => {
        const users = await unit().find(E.User, {}, byId);
        let sum = 0;
        for (const u of users) sum += u.name.length + u.email.length + u.age;
        return sum;
      },
      b: () => orderCustomerNames(unit()),
      c: () => customerOrderAmounts(unit()),
      d: async () => {
        const em = unit();
        await orderCustomerNames(em);
        return () => orderCustomerNames(em);
      },
      e: async () => {
        const em = unit();
        const users = await em.find(E.User, {}, byId);
        for (const u of users) u.age = 42;
        await em.flush();
        let sum = 0;
        for (const u of users) sum += u.age;
        return sum;
      },
      f: async () => {
        const users = await unit().find(E.User, {}, byId);
        const plain = users.map((u) => wrap(u).toObject());
        return plain.reduce((s, r) => s + r.id + r.name.length + r.email.length + r.age, 0);
      },
    },
    async teardown() {
      await orm.close(true);
    },
  };
}

export const contenders: Contender[] = [
  contender('MikroORM (references)', 'references'),
  contender('MikroORM (populate)', 'populate'),
  contender('MikroORM (dataloader)', 'dataloader'),
];
