/**
 * The README's "A first model" program, word for word but for the import path
 * (__tests__/readme.test.ts checks both and runs it). Not in examples/index.ts: it is a
 * whole program, run as `npx ts-node examples/first-model.ts`.
 */
import { BaseModel, Environment, Field, Model } from '../lib';

@Model('customer')
class Customer extends BaseModel {
  @Field({ required: true }) name!: string; // the column type comes from the TypeScript type
  @Field.string({ unique: true }) email!: string | null; // a union type: name the field type
  @Field.one2many(() => Order, 'customer') orders!: Order[];
}

@Model({ name: 'order', table: 'orders', order: 'amount desc' })
class Order extends BaseModel {
  @Field({ default: 'draft' }) status!: string;
  @Field.float() amount!: number;
  @Field.many2one(() => Customer, { onDelete: 'cascade' }) customer!: Customer | null;
}

async function main(): Promise<void> {
  const env = await Environment.open(); // embedded SQLite, in memory: nothing to set up
  await env.sync(); // creates the tables

  const [ann, bob] = await env.model(Customer).create([
    { name: 'Ann', email: 'ann@example.com' },
    { name: 'Bob', email: null },
  ]);
  await env.model(Order).create([
    { amount: 1200, status: 'pending', customer: ann },
    { amount: 80, status: 'pending', customer: ann },
    { amount: 2500, status: 'pending', customer: bob },
  ]);

  const work = env.fork(); // same connection pool, empty cache: one per request or job
  const orders = await work.model(Order).search([
    ['status', '=', 'pending'],
    ['amount', '>', 1000],
  ]);
  for (const order of orders) {
    const customer = await order.customer; // a Customer recordset of one
    console.log(await customer.name, await order.amount); // Bob 2500, then Ann 1200
  }
  console.log(work.stats.queries); // 3: the search, the orders' fields, their customers' fields

  await orders.write({ status: 'done' }); // one UPDATE; the cache takes the new values
  console.log(await orders.mapped('status')); // [ 'done', 'done' ], from the cache
  await env.close();
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
