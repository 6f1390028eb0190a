import { randomUUID } from 'crypto';
import { channelName } from '../lib/cache/shared/naming';
import { RedisSharedStore } from '../lib/cache/shared/redis-store';
import type { SharedMessage } from '../lib/cache/shared/types';
import { eventually, haveRedisServer, notRun, ownCluster, ownRedis } from './helpers/redis';

/**
 * Redis killed mid-run, restarted, and too slow to answer: every call of the store
 * resolves (misses, bypasses, refusals), failures are counted, nothing throws; when
 * Redis is back the store works again and its subscribers were told to reset.
 * The test runs a server of its own (scripts/redis.sh on port 6391), and a Cluster of its
 * own (7211-7213), so killing them disturbs no other suite.
 */
const PORT = 6391;
const CLUSTER_PORT = 7211;
/** Keys of model `partner` whose hash slots fall on each of the three nodes (slots 12436, 247, 4310, 8241, ...). */
const KEYS = [1, 2, 3, 4, 5, 6];

/** Rejects after `ms`: raced against a call that must not hang, so that a hang fails the test with its name. */
function hang(ms: number): Promise<never> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms).unref());
}
const canRun = haveRedisServer();

if (!canRun && process.env.REQUIRE_REDIS !== '1') {
  notRun('shared store faults', 'redis-server is not installed');
} else {
  describe('shared store when Redis fails', () => {
    const server = ownRedis(PORT);
    let store: RedisSharedStore;
    const heard: SharedMessage[] = [];

    beforeAll(async () => {
      server.run('start');
      store = new RedisSharedStore({ connection: server.url, commandTimeoutMs: 300, prefix: 'faults' });
      store.subscribe((m) => heard.push(m));
      await store.ready();
    });

    afterAll(async () => {
      await store?.close();
      server.run('stop');
    });

    it('killed: calls resolve as bypasses and refusals, subscribers reset; restarted: it works again', async () => {
      const { leases } = await store.getMany('partner', [1, 2]);
      expect(await store.putMany('partner', [{ key: 1, entry: { name: 'old' }, lease: leases.get(1)! }])).toBe(1);
      const lease2 = leases.get(2)!;

      server.run('kill');
      await eventually(() => heard.some((m) => m.kind === 'reset' && m.reason === 'disconnected'));
      expect(store.epoch).toBe(1);
      const errorsBefore = store.stats().errors;

      const down = await store.getMany('partner', [1, 2]);
      expect(down.hits.size).toBe(0); // never the old value, never a lease
      expect(down.leases.size).toBe(0);
      expect(await store.putMany('partner', [{ key: 2, entry: { name: 'x' }, lease: lease2 }])).toBe(0);
      const lock = await store.lock('partner', [1]);
      await store.invalidate('partner', [1], lock);
      expect(store.pendingInvalidations).toBe(1);
      expect(store.stats().errors).toBeGreaterThan(errorsBefore);

      server.run('restart');
      await eventually(async () => (await store.getMany('partner', [1])).leases.size === 1);
      await eventually(() => heard.some((m) => m.kind === 'reset' && m.reason === 'reconnected'));
      expect(store.epoch).toBe(2);
      // The queued invalidation was sent once Redis was back, and heard.
      await eventually(() => heard.some((m) => m.kind === 'invalidate'));
      expect(store.pendingInvalidations).toBe(0);
      expect(heard.map((m) => (m.kind === 'reset' ? m.reason : m.kind))).toEqual([
        'disconnected',
        'reconnected',
        'invalidate',
      ]);
      const after = await store.getMany('partner', [1, 2]);
      expect(after.hits.size).toBe(0);
      expect(await store.putMany('partner', [{ key: 2, entry: { name: 'new' }, lease: after.leases.get(2)! }])).toBe(1);
      expect((await store.getMany('partner', [2])).hits.get(2)).toEqual({ name: 'new' });
    });

    it('too slow (paused): calls give up after the command timeout and resolve; resumed: it works again', async () => {
      const errorsBefore = store.stats().errors;
      server.run('pause');
      try {
        const started = Date.now();
        const slow = await store.getMany('partner', [2, 3]);
        const took = Date.now() - started;
        expect(slow.hits.size).toBe(0);
        expect(slow.leases.size).toBe(0);
        expect(took).toBeLessThan(3000);
        expect(store.stats().errors).toBe(errorsBefore + 3); // two records and the generations
      } finally {
        server.run('resume');
      }
      await eventually(async () => (await store.getMany('partner', [2])).hits.size === 1);
    });
  });

  describe('shared store when the Cluster node it listens on dies', () => {
    const cluster = ownCluster(CLUSTER_PORT);
    const stores: RedisSharedStore[] = [];
    beforeAll(() => void cluster.run('start-cluster'));
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
      cluster.run('stop-cluster');
    });

    it('subscribers reset when it dies and again once the store listens on another node; a store opened while the cluster is down opens; back, every store works on every node', async () => {
      const prefix = `c${randomUUID().slice(0, 8)}`;
      const open = () => {
        const store = new RedisSharedStore({ connection: { cluster: cluster.nodes }, prefix, commandTimeoutMs: 300 });
        stores.push(store);
        return store;
      };
      const reader = open();
      const heard: SharedMessage[] = [];
      reader.subscribe((m) => heard.push(m));
      await reader.ready();
      const listening = [...cluster.listeners(channelName(prefix))].filter(([, n]) => n > 0);
      expect(listening.map(([, n]) => n)).toEqual([1]); // one node carries the reader's subscription
      const [port] = listening[0];
      const writer = open();
      await writer.ready();
      // Both talk to every node (these keys hash to all three), as a process at work does.
      expect((await reader.getMany('partner', KEYS)).leases.size).toBe(KEYS.length);
      expect((await writer.getMany('partner', KEYS)).leases.size).toBe(KEYS.length);

      cluster.run('kill-node', String(port));
      // Invalidations published while it moves to another node are lost to it: it must say so.
      await eventually(() => heard.some((m) => m.kind === 'reset' && m.reason === 'disconnected'));
      await eventually(() => heard.some((m) => m.kind === 'reset' && m.reason === 'reconnected'));
      expect(reader.epoch).toBe(2);
      expect(cluster.listeners(channelName(prefix)).get(port)).toBe(0);

      // Every survivor declares the cluster failed (no replica holds the dead node's slots).
      await eventually(() => ![...cluster.states().values()].includes('ok'));
      // A store opened now (Environment.open awaits its ready()) opens, and bypasses until the cluster is back.
      const late = open();
      await Promise.race([late.ready(), hang(5_000)]);
      const down = await late.getMany('partner', KEYS);
      expect(down.hits.size + down.leases.size).toBe(0);
      await writer.invalidate('partner', KEYS);
      expect(writer.pendingInvalidations).toBe(KEYS.length);

      cluster.run('restart-node', String(port));
      await eventually(() => [...cluster.states().values()].every((state) => state === 'ok'));
      // The queued invalidation goes out once the cluster is back, and the moved subscription hears it.
      await eventually(() => writer.stats().invalidationsSent === 1);
      await eventually(() => heard.some((m) => m.kind === 'invalidate'));
      expect(heard.map((m) => (m.kind === 'reset' ? m.reason : m.kind))).toEqual([
        'disconnected',
        'reconnected',
        'invalidate',
      ]);
      // Every store reaches the restarted node again (its keys answer misses with leases, not bypasses).
      for (const store of [reader, writer, late]) {
        await eventually(async () => (await store.getMany('partner', KEYS)).leases.size === KEYS.length);
      }
    });
  });

  describe('shared store with no Redis at all', () => {
    it('opens, and every call resolves: bypasses, refusals, queued invalidations', async () => {
      const store = new RedisSharedStore({ connection: 'redis://127.0.0.1:6393', commandTimeoutMs: 200 });
      try {
        await store.ready();
        const found = await store.getMany('partner', [1, 'a']);
        expect(found.hits.size + found.leases.size).toBe(0);
        expect(await store.putMany('partner', [{ key: 1, entry: { name: 'x' }, lease: '0.0/x' }])).toBe(0);
        const lock = await store.lock('partner', [1]);
        await store.invalidate('partner', [1], lock);
        await store.invalidateAll('partner');
        expect(store.pendingInvalidations).toBe(2);
        expect(store.stats()).toMatchObject({ hits: 0, misses: 0, bypasses: 2, puts: 0, putsRefused: 1 });
        expect(store.stats().errors).toBeGreaterThan(0);
      } finally {
        await store.close();
      }
    });
  });
}
