/**
 * Another process of the shared-store tests: connects to the Redis store given on the
 * command line (connection JSON, prefix), locks and invalidates `keys` of `model`
 * (`times` times, default once), prints its stats as JSON on stdout and exits. Run with `node -r ts-node/register/transpile-only`.
 */
import { RedisSharedStore, type RedisStoreOptions } from '../../lib/cache/shared/redis-store';
import type { Key } from '../../lib/model/keys';

async function main(): Promise<void> {
  const [connection, prefix, model, keys, times = '1'] = process.argv.slice(2);
  const store = new RedisSharedStore({ connection: JSON.parse(connection) as RedisStoreOptions['connection'], prefix });
  await store.ready();
  for (let i = 0; i < Number(times); i++) {
    const lock = await store.lock(model, JSON.parse(keys) as Key[]);
    await store.invalidate(model, JSON.parse(keys) as Key[], lock);
  }
  process.stdout.write(JSON.stringify(store.stats()));
  await store.close();
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
