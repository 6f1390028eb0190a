import 'reflect-metadata';
import { randomUUID } from 'crypto';
import Redis from 'ioredis';
import { BaseModel, Environment, Field, Model } from '../lib';
import type { SharedCacheOption } from '../lib/cache/shared/open';
import { recordKeys } from '../lib/cache/shared/naming';
import type { RedisSharedStore } from '../lib/cache/shared/redis-store';
import { describeEachDatabase } from './helpers/databases';
import { openPair } from './helpers/pools';
import { eventually } from './helpers/redis';

/**
 * Adversarial review of the shared cache (L2): each test is a way found to make it serve
 * a value the database does not hold, forced deterministically (no sleeps).
 */
@Model('rc_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

const MODELS = [Item];
const redisUrl = process.env.PROXORM_REDIS_URL;

async function nameOf(env: Environment, id: number): Promise<string> {
  return env.model(Item).browse(id).name;
}

describeEachDatabase('shared cache review', (db) => {
  const opened: Environment[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((e) => e.close()));
  });

  // Two applications on two databases, one Redis, the same model name, no prefix given.
  if (redisUrl !== undefined) {
    it('two databases sharing one Redis (default prefix) never read each other’s records', async () => {
      const shared: SharedCacheOption = { redis: redisUrl };
      const a = await db.open({ models: MODELS, cache: { shared } });
      opened.push(a);
      const b = await db.openSecond({ models: MODELS, cache: { shared } });
      opened.push(b);
      const [inA] = await a.model(Item).create([{ name: 'from database A' }]);
      const [inB] = await b.model(Item).create([{ name: 'from database B' }]);
      expect(inB.id).toBe(inA.id);
      expect(await nameOf(a.fork(), inA.id)).toBe('from database A'); // fills A's L2 entry
      expect(await nameOf(b.fork(), inB.id)).toBe('from database B');
    });
  }

  it.each([
    ['invalidateRecord', (env: Environment, id: number) => env.invalidateRecord(Item, id)],
    ['clearCache', (env: Environment) => env.clearCache(Item)],
  ] as const)('after a raw UPDATE and %s, a read does not get the old value from L2', async (_, forget) => {
    const env = await db.open({ models: MODELS, cache: { shared: 'memory' } });
    opened.push(env);
    const [item] = await env.model(Item).create([{ name: 'before' }]);
    expect(await nameOf(env, item.id)).toBe('before'); // the creator's L1
    expect(await nameOf(env.fork(), item.id)).toBe('before'); // a fresh fork fills L2
    await env.knex('rc_item').where({ id: item.id }).update({ name: 'after' });
    forget(env, item.id);
    expect(await nameOf(env, item.id)).toBe('after');
  });

  it('a raw UPDATE and invalidateRecord inside a transaction reach L2 at its commit', async () => {
    const env = await db.open({ models: MODELS, cache: { shared: 'memory' } });
    opened.push(env);
    const [item] = await env.model(Item).create([{ name: 'before' }]);
    expect(await nameOf(env.fork(), item.id)).toBe('before'); // fills L2
    await env.transaction(async () => {
      await env.knex('rc_item').where({ id: item.id }).update({ name: 'after' });
      env.invalidateRecord(Item, item.id);
      expect(await nameOf(env.fork(), item.id)).toBe('before'); // not committed: others still see it
    });
    expect(await nameOf(env.fork(), item.id)).toBe('after');
  });

  if (redisUrl !== undefined) {
    it('an invalidation that failed without a reconnect is sent again, before later ones', async () => {
      const prefix = `rc${randomUUID().slice(0, 8)}`;
      const { a, b } = await openPair(db, { models: MODELS, cache: { shared: { redis: redisUrl, prefix } } });
      opened.push(a, b);
      const [one, two] = await a.model(Item).create([{ name: 'one' }, { name: 'two' }]);
      const reader = b.fork();
      expect(await nameOf(reader, one.id)).toBe('one');
      expect(await nameOf(reader, two.id)).toBe('two');
      // A fault of one command, the connection staying up (as a command timeout does):
      // record one's lock key holds a value its scripts cannot use.
      const raw = new Redis(redisUrl);
      const lockKey = recordKeys(prefix, 'rc_item', one.id).lock;
      try {
        await raw.set(lockKey, 'not a sorted set');
        await a.model(Item).browse(one.id).write({ name: 'one, changed' });
        const store = a.session.shared.sharedCache!.store as RedisSharedStore;
        expect(store.pendingInvalidations).toBe(1);
        await raw.del(lockKey);
      } finally {
        raw.disconnect();
      }
      await a.model(Item).browse(two.id).write({ name: 'two, changed' });
      // Invalidations arrive in the order they were published: once two's has, one's has.
      await eventually(async () => (await nameOf(reader, two.id)) === 'two, changed');
      expect(await nameOf(reader, one.id)).toBe('one, changed');
    });
  }
});
