/** The models the examples share (the seed plan's user, and orders with their customer). */
import 'reflect-metadata';
import { BaseModel, Environment, Field, Model } from '../lib';

@Model({ name: 'user', table: 'users' })
export class User extends BaseModel {
  @Field({ required: true }) name!: string;
  @Field.string({ unique: true }) email!: string | null;
  @Field.integer() age!: number | null;
  @Field({ default: 'active' }) status!: string;
}

@Model('customer')
export class Customer extends BaseModel {
  @Field({ required: true }) name!: string;
  @Field.one2many(() => Order, 'customer') orders!: Order[];
}

@Model({ name: 'order', table: 'orders' })
export class Order extends BaseModel {
  @Field({ default: 'draft' }) status!: string;
  @Field.float() amount!: number;
  @Field.many2one(() => Customer, { onDelete: 'restrict' }) customer!: Customer | null;
}

/** An in-memory database with users, customers and orders. */
export async function openSeeded(): Promise<Environment> {
  const env = await Environment.open();
  await env.sync();
  await env.model(User).create(
    Array.from({ length: 50 }, (_, i) => ({
      name: `User ${i}`,
      email: `user${i}@example.com`,
      age: 15 + i,
      status: i % 4 ? 'active' : 'inactive',
    })),
  );
  const customers = await env.model(Customer).create(Array.from({ length: 10 }, (_, i) => ({ name: `Customer ${i}` })));
  await env.model(Order).create(
    Array.from({ length: 200 }, (_, i) => ({
      status: i % 3 ? 'pending' : 'done',
      amount: 100 + ((i * 97) % 2000),
      customer: customers.ids[i % 10],
    })),
  );
  return env;
}

export { counted, type Log } from './counted';
