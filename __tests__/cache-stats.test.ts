import 'reflect-metadata';
import { randomUUID } from 'crypto';
import { BaseModel, Field, Model, type Environment } from '../lib';
import { LatencyReservoir, RESERVOIR_SIZE } from '../lib/cache/latency';
import { describeEachDatabase } from './helpers/databases';
import { openPair } from './helpers/pools';
import { eventually } from './helpers/redis';

/**
 * The shared cache's monitoring counters: invalidations sent and received per model at
 * L2, and the latency from another process's publish to this process's L1s dropping the
 * records (env.stats.cache.l2, env.statsText()). Two pools on one Redis server, as two
 * processes.
 */
@Model('l2s_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

const redisUrl = process.env.PROXORM_REDIS_URL;

describe('latency reservoir', () => {
  it('keeps percentiles over the most recent samples, count and max over all', () => {
    const r = new LatencyReservoir();
    expect(r.snapshot()).toEqual({ count: 0, p50Ms: 0, p99Ms: 0, maxMs: 0 });
    for (let i = 1; i <= 100; i++) r.record(i);
    expect(r.snapshot()).toEqual({ count: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 });
    r.record(-3); // another process's clock slightly ahead: counted as 0, never negative
    expect(r.snapshot().count).toBe(101);
    for (let i = 0; i < RESERVOIR_SIZE; i++) r.record(1000);
    expect(r.snapshot()).toEqual({ count: 101 + RESERVOIR_SIZE, p50Ms: 1000, p99Ms: 1000, maxMs: 1000 });
  });
});

if (redisUrl) {
  describeEachDatabase('shared cache statistics across two pools', (db) => {
    let a: Environment | undefined;
    let b: Environment | undefined;
    afterEach(async () => {
      await a?.close();
      await b?.close();
      a = b = undefined;
    });

    it('counts invalidations sent by the writer and received by the other pool, with their latency', async () => {
      const shared = { redis: redisUrl, prefix: `s${randomUUID().slice(0, 8)}` };
      ({ a, b } = await openPair(db, { models: [Item], cache: { shared } }));
      const ids = (
        await a
          .fork()
          .model(Item)
          .create([{ name: 'a' }, { name: 'b' }, { name: 'c' }])
      ).ids;
      await a.fork().model(Item).browse(ids).write({ name: 'x' }); // one commit: 3 records, one message
      await a.fork().model(Item).browse(ids[0]).write({ name: 'y' }); // 1 record, one message
      const pool = b;
      await eventually(() => (pool.stats.cache.l2?.byModel.l2s_item?.invalidationsReceived ?? 0) >= 4);

      const sent = a.stats.cache.l2!;
      expect(sent.byModel.l2s_item).toMatchObject({ invalidations: 4, invalidationsReceived: 0 });
      expect(sent.invalidationLatency.count).toBe(0); // its own messages are not "received"

      const received = b.stats.cache.l2!;
      expect(received.byModel.l2s_item).toMatchObject({ invalidations: 0, invalidationsReceived: 4 });
      expect(received.total.invalidationsReceived).toBe(4);
      const latency = received.invalidationLatency;
      expect(latency.count).toBe(2);
      expect(latency.p50Ms).toBeGreaterThanOrEqual(0);
      expect(latency.p99Ms).toBeGreaterThanOrEqual(latency.p50Ms);
      expect(latency.maxMs).toBeGreaterThanOrEqual(latency.p99Ms);
      expect(latency.maxMs).toBeLessThan(10_000);

      const text = b.statsText();
      expect(text).toMatch(/^l2 l2s_item hits=\d+ .* invalidations=0 invalidationsReceived=4$/m);
      expect(text).toMatch(/^l2 invalidation-latency received=2 p50=\d+\.\d\dms p99=\d+\.\d\dms max=\d+\.\d\dms$/m);
    });
  });
} else {
  console.warn('!!! NOT RUN: shared cache statistics across two pools: Redis is not available');
}
