import 'reflect-metadata';
import { randomUUID } from 'crypto';
import Redis, { Cluster } from 'ioredis';
import { BaseModel, Environment, Field, Model } from '../lib';
import type { SharedCacheOption } from '../lib/cache/shared/open';
import { generationsKey, recordKeys } from '../lib/cache/shared/naming';
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

@Model('rc_parent')
class Parent extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

@Model('rc_child')
class Child extends BaseModel {
  declare readonly id: number;
  @Field.many2one(() => Parent, { onDelete: 'set null' }) parent!: Parent | null;
}

const MODELS = [Item, Parent, Child];
const redisUrl = process.env.PROXORM_REDIS_URL;
const clusterNodes = process.env.PROXORM_REDIS_CLUSTER?.split(',').filter(Boolean);

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

  // A Cluster node (or a failover to a lagging replica) loses the generations hash while
  // the entries on other nodes survive: their tags must not pass for current again.
  if (clusterNodes !== undefined) {
    it('entries tagged before the generations were lost are not served after a whole-model invalidation', async () => {
      const prefix = `rc${randomUUID().slice(0, 8)}`;
      const { a, b } = await openPair(db, { models: MODELS, cache: { shared: { cluster: clusterNodes, prefix } } });
      opened.push(a, b);
      const [p1, p2, p3] = await a.model(Parent).create([{ name: 'p1' }, { name: 'p2' }, { name: 'p3' }]);
      const [child] = await a.model(Child).create([{ parent: p1.id }]);
      // Two whole-model invalidations of rc_child (set null): its generation is 2.
      await a.model(Parent).browse(p2.id).unlink();
      await a.model(Parent).browse(p3.id).unlink();
      const parentOf = async () => (await b.fork().model(Child).browse(child.id).parent).ids[0] ?? null;
      expect(await parentOf()).toBe(p1.id); // fills L2, tagged with generation 2
      expect(await parentOf()).toBe(p1.id); // served by L2
      const raw = new Cluster(clusterNodes.map((n) => ({ host: n.split(':')[0], port: Number(n.split(':')[1]) })));
      try {
        await raw.del(generationsKey(prefix));
      } finally {
        raw.disconnect();
      }
      await a.model(Parent).browse(p1.id).unlink(); // the database sets child.parent to null
      expect(await parentOf()).toBe(null);
      expect(await parentOf()).toBe(null);
      // And again once the generation is back where the old entry's tag says.
      const [p4] = await a.model(Parent).create([{ name: 'p4' }]);
      await a.model(Parent).browse(p4.id).unlink();
      expect(await parentOf()).toBe(null);
    });
  }
});
