import 'reflect-metadata';
import { randomUUID } from 'crypto';
import { BaseModel, Field, Model, type Environment } from '../lib';
import { describeEachDatabase } from './helpers/databases';
import { openPair } from './helpers/pools';
import { eventually, haveRedisServer, ownRedis } from './helpers/redis';

/**
 * The shared cache when Redis dies mid-run, at the Environment's level: reads fall back
 * to the database and never fail, writes commit, a pool that lost its subscription drops
 * its Environments' L1 of shared models, and after Redis is back no read is stale and
 * caching resumes. Runs a Redis server of its own (port 6392), which it kills.
 */
@Model('l2f_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

const PORT = 6392;

if (!haveRedisServer() && process.env.REQUIRE_REDIS !== '1') {
  console.warn('!!! NOT RUN: shared cache faults: redis-server is not installed (run "bash scripts/redis.sh install")');
} else {
  const server = ownRedis(PORT);
  beforeAll(() => void server.run('start'));
  afterAll(() => void server.run('stop'));

  describeEachDatabase('shared cache with Redis killed and restarted', (db) => {
    let pools: Environment[] = [];
    afterEach(async () => {
      await Promise.all(pools.map((p) => p.close()));
      pools = [];
    });

    const nameOf = (env: Environment, id: number): Promise<string> => env.model(Item).browse(id).name;

    it('reads fall back to the database, writes commit, an older fork drops its L1, and nothing stale is read after', async () => {
      const shared = { redis: server.url, prefix: `f${randomUUID().slice(0, 8)}`, timeout: 300 };
      const { a, b } = await openPair(db, { models: [Item], cache: { shared } });
      pools = [a, b];
      const [id] = (
        await a
          .fork()
          .model(Item)
          .create([{ name: 'old' }])
      ).ids;
      const olderB = b.fork();
      expect(await nameOf(olderB, id)).toBe('old'); // in olderB's L1 and in L2
      expect(b.stats.cache.l2?.total.puts).toBe(1);

      server.run('kill');
      // B's subscription is lost: invalidations may be missed, so its L1 of shared models is dropped.
      await eventually(() => (olderB.stats.cache.l1.byModel.l2f_item?.invalidations ?? 0) > 0);
      expect(await nameOf(b.fork(), id)).toBe('old'); // from the database, no failure
      await a.fork().model(Item).browse(id).write({ name: 'new' }); // commits without Redis
      expect(await nameOf(b.fork(), id)).toBe('new');
      expect(await nameOf(olderB, id)).toBe('new');
      expect(a.session.shared.sharedCache!.store.stats().errors).toBeGreaterThan(0);

      server.run('restart');
      // Caching resumes: a read puts into L2 again, and no read along the way is stale.
      const putsBefore = b.stats.cache.l2!.total.puts;
      await eventually(async () => {
        expect(await nameOf(b.fork(), id)).toBe('new');
        return b.stats.cache.l2!.total.puts > putsBefore;
      });
      const fresh = b.fork();
      expect(await nameOf(fresh, id)).toBe('new');
      expect(fresh.stats.queries).toBe(0); // served by L2
      const heard = olderB.stats.cache.l1.byModel.l2f_item.invalidations;
      await a.fork().model(Item).browse(id).write({ name: 'newer' });
      expect(await nameOf(b.fork(), id)).toBe('newer');
      await eventually(() => olderB.stats.cache.l1.byModel.l2f_item.invalidations > heard);
      expect(await nameOf(olderB, id)).toBe('newer');
    });
  });
}
