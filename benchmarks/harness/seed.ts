import knexFactory, { type Knex } from 'knex';
import type { BenchDb } from './types';

/**
 * Creates and fills the benchmark tables with plain knex, the same for every contender:
 *   bench_user(id, name, email, age)            1,000 rows
 *   bench_customer(id, name)                      100 rows
 *   bench_order(id, status, amount, customer_id)  1,000 rows, 10 per customer
 * Ids are 1..n in order. Column types are what proxorm's sync would create.
 */
export const USERS = 1000;
export const CUSTOMERS = 100;
export const ORDERS = 1000;

export function knexFor(db: BenchDb): Knex {
  if (db.kind === 'sqlite')
    return knexFactory({ client: 'better-sqlite3', connection: { filename: db.sqliteFile! }, useNullAsDefault: true });
  if (db.kind === 'postgres') return knexFactory({ client: 'pg', connection: db.pg! });
  return knexFactory({ client: 'mysql2', connection: db.mysql! });
}

export async function seed(db: BenchDb): Promise<void> {
  const knex = knexFor(db);
  try {
    for (const t of ['bench_order', 'bench_customer', 'bench_user']) await knex.schema.dropTableIfExists(t);
    await knex.schema.createTable('bench_user', (t) => {
      t.increments('id').primary();
      t.string('name', 255);
      t.string('email', 255);
      t.bigInteger('age');
    });
    await knex.schema.createTable('bench_customer', (t) => {
      t.increments('id').primary();
      t.string('name', 255);
    });
    await knex.schema.createTable('bench_order', (t) => {
      t.increments('id').primary();
      t.string('status', 255);
      t.double('amount');
      t.integer('customer_id').unsigned().references('id').inTable('bench_customer').onDelete('SET NULL');
      t.index(['customer_id']);
    });
    await knex.batchInsert(
      'bench_user',
      Array.from({ length: USERS }, (_, i) => ({
        name: `user ${i}`,
        email: `user${i}@example.com`,
        age: 18 + (i % 60),
      })),
      250,
    );
    await knex.batchInsert(
      'bench_customer',
      Array.from({ length: CUSTOMERS }, (_, i) => ({ name: `customer ${i}` })),
      250,
    );
    await knex.batchInsert(
      'bench_order',
      Array.from({ length: ORDERS }, (_, i) => ({
        status: i % 2 ? 'pending' : 'done',
        amount: i % 500,
        customer_id: (i % CUSTOMERS) + 1,
      })),
      250,
    );
  } finally {
    await knex.destroy();
  }
}

/** Undoes workload e (ages are reset to their seeded values). */
export async function resetAges(db: BenchDb): Promise<void> {
  const knex = knexFor(db);
  try {
    await knex('bench_user').update({ age: knex.raw('18 + ((id - 1) % 60)') });
  } finally {
    await knex.destroy();
  }
}
