/**
 * The proxorm demo: embedded SQLite, no setup. Run with `npm start`.
 * Declares two models, creates some rows, then reads them the naive way and shows
 * how many SQL statements each step took.
 */
import 'reflect-metadata';
import { BaseModel, Environment, Field, Model, ValidationError } from '../lib';

@Model('customer')
class Customer extends BaseModel {
  @Field({ required: true }) name!: string;
  @Field.string({ unique: true }) email!: string | null;
}

@Model({ name: 'order', table: 'orders' })
class Order extends BaseModel {
  @Field({ default: 'draft' }) status!: string;
  @Field.float() amount!: number;
  @Field.integer({ index: true }) customerId!: number | null;
}

async function step<T>(env: Environment, title: string, fn: () => Promise<T>): Promise<T> {
  const before = env.stats.queries;
  const out = await fn();
  console.log(`  -> ${title}: ${env.stats.queries - before} quer${env.stats.queries - before === 1 ? 'y' : 'ies'}`);
  return out;
}

async function main(): Promise<void> {
  const env = await Environment.open(); // in-memory SQLite
  await env.sync();

  const customers = await step(env, 'create 100 customers (batched INSERT)', () =>
    env
      .model(Customer)
      .create(Array.from({ length: 100 }, (_, i) => ({ name: `Customer ${i}`, email: `c${i}@example.com` }))),
  );
  await step(env, 'create 1,000 orders (batched INSERT)', () =>
    env.model(Order).create(
      Array.from({ length: 1000 }, (_, i) => ({
        status: i % 3 ? 'pending' : 'done',
        amount: 50 + ((i * 37) % 2000),
        customerId: customers.ids[i % 100],
      })),
    ),
  );

  // A new Environment per unit of work: same pool, empty cache.
  const work = env.fork();
  console.log('\nNaive loop over big pending orders, reading three fields of each:');
  let total = 0;
  let count = 0;
  await step(work, 'search + loop', async () => {
    const orders = await work.model(Order).search(
      [
        ['status', '=', 'pending'],
        ['amount', '>', 1000],
      ],
      { order: 'amount desc' },
    );
    for (const order of orders) {
      total += await order.amount;
      await order.status;
      await order.customerId;
      count++;
    }
  });
  console.log(`  read ${count} orders, total amount ${total}`);

  const top = (await work.model(Order).search([['status', '=', 'pending']], { order: 'amount desc', limit: 1 })).at(0);
  const topDict = await step(work, 'toDict of the biggest order (already cached)', () =>
    top.toDict(['status', 'amount', 'customerId']),
  );
  console.log('  ', topDict);

  console.log('\nCustomers whose name contains "7" (ilike), read in one go:');
  const sevens = await work.model(Customer).search([['name', 'ilike', '7']]);
  const names = await step(work, `read names of ${sevens.length} customers`, () => sevens.mapped('name'));
  console.log('  ', names.slice(0, 5).join(', '), '...');

  console.log('\nWrite-through: write then read back');
  await step(work, 'write status=done on those orders', async () => {
    const orders = await work.model(Order).search([['customerId', 'in', sevens.ids]]);
    await orders.write({ status: 'done' });
  });
  await step(work, 'read one written status back', async () => {
    const orders = await work.model(Order).search([['customerId', '=', sevens.ids[0]]], { limit: 1 });
    console.log('   status is now', await orders.at(0).status);
  });

  console.log('\nBad input is a typed error, and no SQL is sent:');
  await step(work, 'write({ amount: "lots" })', async () => {
    try {
      await top.write({ amount: 'lots' as unknown as number });
    } catch (e) {
      console.log(
        `   ${(e as Error).name}: ${(e as Error).message}`,
        e instanceof ValidationError ? '' : '(unexpected)',
      );
    }
  });

  console.log('\nStats of the unit of work:', work.stats);
  await env.close();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
