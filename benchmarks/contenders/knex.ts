/**
 * Hand-written SQL through knex: the floor, with the fewest statements a person would
 * write for each workload (one per table read, one UPDATE for e).
 */
import type { Knex } from 'knex';
import { knexFor } from '../harness/seed';
import type { BenchDb, Contender } from '../harness/types';

let knex: Knex;

async function orderCustomerNames(): Promise<number> {
  const orders = await knex('bench_order').select('id', 'customer_id').orderBy('id');
  const ids = [...new Set(orders.map((o) => o.customer_id))];
  const customers = await knex('bench_customer').select('id', 'name').whereIn('id', ids);
  const names = new Map(customers.map((c) => [c.id, c.name as string]));
  return orders.reduce((s, o) => s + (names.get(o.customer_id) ?? '').length, 0);
}

export const contenders: Contender[] = [
  {
    name: 'hand-written knex',
    async setup(db: BenchDb) {
      knex = knexFor(db);
    },
    workloads: {
      a: async () => {
        const rows = await knex('bench_user').select('name', 'email', 'age').orderBy('id');
        return rows.reduce((s, r) => s + r.name.length + r.email.length + Number(r.age), 0);
      },
      b: orderCustomerNames,
      c: async () => {
        const customers = await knex('bench_customer').select('id').orderBy('id');
        const orders = await knex('bench_order')
          .select('customer_id', 'amount')
          .whereIn(
            'customer_id',
            customers.map((c) => c.id),
          )
          .orderBy('id');
        return orders.reduce((s, o) => s + Number(o.amount), 0);
      },
      d: async () => {
        await orderCustomerNames();
        return orderCustomerNames; // no cache: the same statements again
      },
      e: async () => {
        const rows = await knex('bench_user').select('id', 'age').orderBy('id');
        await knex('bench_user')
          .update({ age: 42 })
          .whereIn(
            'id',
            rows.map((r) => r.id),
          );
        for (const r of rows) r.age = 42;
        return rows.reduce((s, r) => s + Number(r.age), 0);
      },
      f: async () => {
        const rows = await knex('bench_user').select('id', 'name', 'email', 'age').orderBy('id');
        return rows.reduce((s, r) => s + r.id + r.name.length + r.email.length + Number(r.age), 0);
      },
    },
    async teardown() {
      await knex.destroy();
    },
  },
];
