import 'reflect-metadata';
import { randomUUID } from 'crypto';
import { BaseModel, Field, Model, type Environment } from '../lib';
import { channelName } from '../lib/cache/shared/naming';
import type { RedisSharedStore } from '../lib/cache/shared/redis-store';
import { describeEachDatabase } from './helpers/databases';
import { openPair } from './helpers/pools';
import { eventually, haveRedisServer, notRun, ownCluster, ownRedis } from './helpers/redis';

/**
 * The shared cache when Redis dies mid-run, at the Environment's level: reads fall back
 * to the database and never fail, writes commit, a pool that lost its subscription drops
 * its Environments' L1 of shared models, and after Redis is back no read is stale and
 * caching resumes. Runs a Redis server of its own (port 6392), which it kills, and a
 * Cluster of its own (7221-7223), whose nodes carrying the pools' subscriptions it kills.
 */
@Model('l2f_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

const PORT = 6392;
const CLUSTER_PORT = 7221;

const nameOf = (env: Environment, id: number): Promise<string> => env.model(Item).browse(id).name;

if (!haveRedisServer() && process.env.REQUIRE_REDIS !== '1') {
  notRun('shared cache faults', 'redis-server is not installed');
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

  describe('on a Cluster', () => {
    const cluster = ownCluster(CLUSTER_PORT);
    beforeAll(() => void cluster.run('start-cluster'));
    afterAll(() => void cluster.run('stop-cluster'));
    const allOk = () => [...cluster.states().values()].every((state) => state === 'ok');

    describeEachDatabase('shared cache with Redis Cluster nodes killed and restarted', (db) => {
      let pools: Environment[] = [];
      let killed: number[] = [];
      afterEach(async () => {
        await Promise.all(pools.map((p) => p.close()));
        pools = [];
        for (const port of killed.splice(0)) cluster.run('restart-node', String(port)); // after a failure too
      });

      it('the nodes carrying the subscriptions die: pools drop their L1, reads fall back, writes commit; restarted: nothing stale, caching resumes', async () => {
        await eventually(allOk); // a previous test's restarted nodes have rejoined
        const prefix = `f${randomUUID().slice(0, 8)}`;
        const { a, b } = await openPair(db, {
          models: [Item],
          cache: { shared: { cluster: cluster.nodes, prefix, timeout: 300 } },
        });
        pools = [a, b];
        const storeOf = (env: Environment) => env.session.shared.sharedCache!.store as RedisSharedStore;
        const [id] = (
          await a
            .fork()
            .model(Item)
            .create([{ name: 'old' }])
        ).ids;
        const olderB = b.fork();
        expect(await nameOf(olderB, id)).toBe('old'); // in olderB's L1 and in L2
        expect(b.stats.cache.l2?.total.puts).toBe(1);

        // Each pool listens on one node; kill those (B's among them: its subscriber is lost).
        const listening = [...cluster.listeners(channelName(prefix))].filter(([, n]) => n > 0);
        expect(listening.reduce((sum, [, n]) => sum + n, 0)).toBe(2);
        killed = listening.map(([port]) => port);
        for (const port of killed) cluster.run('kill-node', String(port));
        await eventually(() => (olderB.stats.cache.l1.byModel.l2f_item?.invalidations ?? 0) > 0);
        expect(storeOf(b).stats().resets).toBeGreaterThan(0);
        // Every survivor declares the cluster failed (node timeout 2 s): keyed commands fail from then on.
        await eventually(() => ![...cluster.states().values()].includes('ok'));
        expect(await nameOf(b.fork(), id)).toBe('old'); // from the database, no failure
        const sent = storeOf(a).stats().invalidationsSent;
        await a.fork().model(Item).browse(id).write({ name: 'new' }); // commits; its lock and invalidation failed
        expect(storeOf(a).stats().errors).toBeGreaterThan(0);
        expect(storeOf(a).pendingInvalidations).toBe(1);
        expect(await nameOf(b.fork(), id)).toBe('new');
        expect(await nameOf(olderB, id)).toBe('new');

        for (const port of killed) cluster.run('restart-node', String(port));
        await eventually(allOk);
        // The writer's queued invalidation goes out within its timeout (300 ms) of the cluster's return;
        // until then an entry on a surviving node may still be served (README: failure behaviour).
        await eventually(() => storeOf(a).stats().invalidationsSent > sent);
        const putsBefore = b.stats.cache.l2!.total.puts;
        await eventually(async () => {
          expect(await nameOf(b.fork(), id)).toBe('new');
          return b.stats.cache.l2!.total.puts > putsBefore;
        });
        const fresh = b.fork();
        expect(await nameOf(fresh, id)).toBe('new');
        expect(fresh.stats.queries).toBe(0); // served by L2
        expect(await nameOf(olderB, id)).toBe('new');
        const heard = olderB.stats.cache.l1.byModel.l2f_item.invalidations;
        await a.fork().model(Item).browse(id).write({ name: 'newer' });
        expect(await nameOf(b.fork(), id)).toBe('newer');
        await eventually(() => olderB.stats.cache.l1.byModel.l2f_item.invalidations > heard);
        expect(await nameOf(olderB, id)).toBe('newer');
      });
    });
  });
}
