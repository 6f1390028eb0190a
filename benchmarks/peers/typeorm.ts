/**
 * TypeORM 1.x in two forms, each with its own DataSource and its own entity classes
 * (a lazy relation is a property of the mapping, so the two forms cannot share classes):
 *
 *  - "TypeORM (lazy relations)": relations typed as `Promise<...>` with `lazy: true`. The
 *    docs' lazy form: load the roots with `find()`, then `await order.customer` in the
 *    loop. Each first access runs one SELECT for that one entity (N+1 by nature).
 *  - "TypeORM (eager: relations option)": plain relations loaded with the find option
 *    `relations: { customer: true }`. We keep the default `relationLoadStrategy: "join"`:
 *    the FindOneOptions/DataSourceOptions docs give "join" as the default and recommend
 *    "query" (separate queries) only "if you are loading too much data with nested joins",
 *    which is not the case for one level of to-one / to-many here.
 *
 * TypeORM has no identity map or unit of work: an EntityManager is stateless, so every
 * workload uses the DataSource's manager (repositories), and the "warm" second run of d
 * issues the same statements again (like hand-written knex). The only cache TypeORM has
 * is the opt-in query-result cache, which is a second-level cache, not a unit of work.
 *
 * Workload e uses the documented bulk form `repository.update(criteria, partial)` (one
 * UPDATE); TypeORM does not track the loaded objects, so the loop assigns the written
 * value to them to keep them consistent (`save()` would issue one UPDATE per entity).
 * Workload f maps entity properties to plain objects: TypeORM has no serializer of its
 * own (`instanceToPlain` belongs to class-transformer, which it does not ship).
 */
import 'reflect-metadata';
import { TypeOverrides, types as pgTypes } from 'pg';
import {
  Column,
  DataSource,
  Entity,
  In,
  JoinColumn,
  ManyToOne,
  OneToMany,
  PrimaryGeneratedColumn,
  type DataSourceOptions,
} from 'typeorm';
import type { BenchDb, Contender } from '../harness/types';

// ---------------------------------------------------------------- lazy form entities

@Entity({ name: 'bench_user' })
class LazyUser {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'varchar', length: 255 }) email!: string;
  @Column({ type: 'bigint' }) age!: number;
}

@Entity({ name: 'bench_customer' })
class LazyCustomer {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @OneToMany(() => LazyOrder, (o) => o.customer, { lazy: true }) orders!: Promise<LazyOrder[]>;
}

@Entity({ name: 'bench_order' })
class LazyOrder {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'varchar', length: 255 }) status!: string;
  @Column({ type: 'double precision' }) amount!: number;
  @ManyToOne(() => LazyCustomer, (c) => c.orders, { lazy: true, nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'customer_id' })
  customer!: Promise<LazyCustomer | null>;
}

// --------------------------------------------------------------- eager form entities

@Entity({ name: 'bench_user' })
class EagerUser {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @Column({ type: 'varchar', length: 255 }) email!: string;
  @Column({ type: 'bigint' }) age!: number;
}

@Entity({ name: 'bench_customer' })
class EagerCustomer {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'varchar', length: 255 }) name!: string;
  @OneToMany(() => EagerOrder, (o) => o.customer) orders!: EagerOrder[];
}

@Entity({ name: 'bench_order' })
class EagerOrder {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number;
  @Column({ type: 'varchar', length: 255 }) status!: string;
  @Column({ type: 'double precision' }) amount!: number;
  @ManyToOne(() => EagerCustomer, (c) => c.orders, { nullable: true, onDelete: 'SET NULL' })
  @JoinColumn({ name: 'customer_id' })
  customer!: EagerCustomer | null;
}

// ------------------------------------------------------------------------ shared parts

type Entities = DataSourceOptions['entities'];

function dataSourceFor(db: BenchDb, entities: Entities): DataSource {
  const common = { entities, synchronize: false, migrationsRun: false, logging: false } as const;
  if (db.kind === 'sqlite') {
    return new DataSource({ ...common, type: 'better-sqlite3', database: db.sqliteFile! });
  }
  if (db.kind === 'postgres') {
    const p = db.pg!;
    // bench_user.age is a BIGINT (int8), which pg returns as a string. TypeORM's `parseInt8`
    // option would set pg's process-wide default, changing every other contender's driver in
    // this process too; a parser given to this DataSource's pool (`extra` goes to pg's Pool)
    // changes only its own.
    const int8AsNumber = new TypeOverrides();
    int8AsNumber.setTypeParser(pgTypes.builtins.INT8, Number);
    return new DataSource({
      ...common,
      type: 'postgres',
      host: p.host,
      port: p.port,
      username: p.user,
      password: p.password,
      database: p.database,
      extra: { types: int8AsNumber },
    });
  }
  const m = db.mysql!;
  return new DataSource({
    ...common,
    type: 'mysql',
    host: m.host,
    port: m.port,
    username: m.user,
    password: m.password,
    database: m.database,
    // bench_user.age is a BIGINT; TypeORM's mysql default returns BIGINTs as strings.
    supportBigNumbers: true,
    bigNumberStrings: false,
  });
}

interface UserLike {
  id: number;
  name: string;
  email: string;
  age: number;
}

/** Shared by both forms: they differ only in how relations are loaded. */
function userWorkloads(ds: () => DataSource, User: new () => UserLike) {
  const users = () =>
    ds()
      .getRepository(User)
      .find({ order: { id: 'ASC' } });
  return {
    a: async () => {
      let sum = 0;
      for (const u of await users()) sum += u.name.length + u.email.length + u.age;
      return sum;
    },
    e: async () => {
      const repo = ds().getRepository(User);
      const list = await repo.find({ order: { id: 'ASC' } });
      await repo.update({ id: In(list.map((u) => u.id)) }, { age: 42 });
      for (const u of list) u.age = 42; // no unit of work: keep the loaded objects in step
      let sum = 0;
      for (const u of list) sum += u.age;
      return sum;
    },
    f: async () => {
      const plain = (await users()).map((u) => ({ id: u.id, name: u.name, email: u.email, age: u.age }));
      return plain.reduce((s, r) => s + r.id + r.name.length + r.email.length + r.age, 0);
    },
  };
}

// ------------------------------------------------------------------------- contenders

function lazyContender(): Contender {
  let ds: DataSource;

  async function orderCustomerNames(): Promise<number> {
    const orders = await ds.getRepository(LazyOrder).find({ order: { id: 'ASC' } });
    let sum = 0;
    for (const o of orders) sum += ((await o.customer)?.name ?? '').length;
    return sum;
  }

  return {
    name: 'TypeORM (lazy relations)',
    async setup(db) {
      ds = await dataSourceFor(db, [LazyUser, LazyCustomer, LazyOrder]).initialize();
    },
    workloads: {
      ...userWorkloads(() => ds, LazyUser),
      b: orderCustomerNames,
      c: async () => {
        const customers = await ds.getRepository(LazyCustomer).find({ order: { id: 'ASC' } });
        let sum = 0;
        for (const c of customers) for (const o of await c.orders) sum += o.amount;
        return sum;
      },
      d: async () => {
        await orderCustomerNames();
        return orderCustomerNames; // stateless manager: nothing is warm
      },
    },
    async teardown() {
      await ds.destroy();
    },
  };
}

function eagerContender(): Contender {
  let ds: DataSource;

  async function orderCustomerNames(): Promise<number> {
    const orders = await ds.getRepository(EagerOrder).find({ relations: { customer: true }, order: { id: 'ASC' } });
    let sum = 0;
    for (const o of orders) sum += (o.customer?.name ?? '').length;
    return sum;
  }

  return {
    name: 'TypeORM (eager: relations option)',
    async setup(db) {
      ds = await dataSourceFor(db, [EagerUser, EagerCustomer, EagerOrder]).initialize();
    },
    workloads: {
      ...userWorkloads(() => ds, EagerUser),
      b: orderCustomerNames,
      c: async () => {
        const customers = await ds
          .getRepository(EagerCustomer)
          .find({ relations: { orders: true }, order: { id: 'ASC' } });
        let sum = 0;
        for (const c of customers) for (const o of c.orders) sum += o.amount;
        return sum;
      },
      d: async () => {
        await orderCustomerNames();
        return orderCustomerNames; // stateless manager: nothing is warm
      },
    },
    async teardown() {
      await ds.destroy();
    },
  };
}

export const contenders: Contender[] = [lazyContender(), eagerContender()];
