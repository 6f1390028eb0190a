/** Seed plan scenario 2: processOrders, reading status, amount and the customer of each order. */
import type { Environment } from '../lib';
import { counted, openSeeded, Order, type Log } from './models';

export async function processOrders(env: Environment, orderIds: readonly number[]): Promise<Map<string, number>> {
  const orders = env.model(Order).browse(orderIds);
  await orders.prefetch(['status', 'amount', 'customer']);
  const bigByCustomer = new Map<string, number>();
  for (const order of orders) {
    if ((await order.status) === 'pending' && (await order.amount) > 1000) {
      const customer = await order.customer;
      const name = (await customer.name) ?? '(none)';
      bigByCustomer.set(name, (bigByCustomer.get(name) ?? 0) + 1);
    }
  }
  return bigByCustomer;
}

export async function run(log: Log): Promise<void> {
  const root = await openSeeded();
  const env = root.fork();
  const ids = Array.from({ length: 200 }, (_, i) => i + 1);
  const result = await counted(env, log, 'processOrders over 200 orders', () => processOrders(env, ids));
  for (const [name, n] of [...result].sort()) log(`${name}: ${n} big pending orders`);
  await root.close();
}

if (require.main === module) run(console.log).catch((e) => (console.error(e), process.exit(1)));
