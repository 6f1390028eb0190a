import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import fc from 'fast-check';
import Redis, { Cluster } from 'ioredis';
import { MemorySharedStore } from '../lib/cache/shared/memory-store';
import { generationsKey, recordKeys } from '../lib/cache/shared/naming';
import { RedisSharedStore } from '../lib/cache/shared/redis-store';
import type { Entry, SharedMessage, SharedStore } from '../lib/cache/shared/types';
import type { Key } from '../lib/model/keys';
import { describeEachStore, eventually, type StoreKit } from './helpers/redis';

/**
 * The shared (L2) store's protocol on every backend: in-process, one Redis server, a
 * 3-node Redis Cluster (the last two started by the jest global setup).
 */

/** One value of each shape the L1 cache holds, by field type. */
const RECORD: Entry = {
  name: 'Ann "the" O\'Neil {x}: ✓ 𝄞',
  empty: '',
  text: 'line 1\nline 2\u0000 end',
  count: 42,
  negative: -7,
  big: Number.MAX_SAFE_INTEGER,
  ratio: -0.25,
  tiny: 1e-300,
  price: '12.30',
  negPrice: '-0.05',
  flag: true,
  off: false,
  created: new Date(Date.UTC(2021, 0, 2, 3, 4, 5, 678)),
  oldest: new Date(Date.UTC(1000, 0, 1)),
  latest: new Date(Date.UTC(9999, 11, 31, 23, 59, 59, 999)),
  meta: { v: { d: ['created'] }, d: 1, list: [1, 'two', null, { three: true }], __proto__x: 0 },
  jsonString: 'a string',
  jsonNumber: 3.5,
  jsonArray: [[], {}],
  customer: 7,
  partner: 'user_{1}',
  parent: null,
  nothing: null,
};

async function missThenPut(store: SharedStore, model: string, key: Key, entry: Entry): Promise<number> {
  const { leases } = await store.getMany(model, [key]);
  const lease = leases.get(key);
  if (lease === undefined) throw new Error('expected a lease');
  return store.putMany(model, [{ key, entry, lease }]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeEachStore('shared store', (kit: StoreKit) => {
  it('gives misses a lease, stores a put with it once, and then answers hits', async () => {
    const [store] = await kit.open(1);
    const first = await store.getMany('partner', [1, 2]);
    expect(first.hits.size).toBe(0);
    expect([...first.leases.keys()]).toEqual([1, 2]);
    const lease = first.leases.get(1)!;
    expect(await store.putMany('partner', [{ key: 1, entry: { name: 'a' }, lease }])).toBe(1);
    // A lease is used up by its put: the same lease cannot put a second value.
    expect(await store.putMany('partner', [{ key: 1, entry: { name: 'b' }, lease }])).toBe(0);
    const second = await store.getMany('partner', [1, 2]);
    expect(second.hits.get(1)).toEqual({ name: 'a' });
    // Readers of one miss share its lease.
    expect(second.leases.get(2)).toBe(first.leases.get(2));
    expect(store.stats()).toMatchObject({ hits: 1, misses: 3, bypasses: 0, puts: 1, putsRefused: 1, errors: 0 });
  });

  it('round-trips every field type exactly as the L1 cache holds it', async () => {
    const [writer, reader] = await kit.open(2);
    expect(await missThenPut(writer, 'shape', 1, RECORD)).toBe(1);
    const got = (await reader.getMany('shape', [1])).hits.get(1)!;
    expect(got).toEqual(RECORD);
    for (const field of ['created', 'oldest', 'latest']) {
      expect(got[field]).toBeInstanceOf(Date);
      expect((got[field] as Date).getTime()).toBe((RECORD[field] as Date).getTime());
    }
    expect(Object.keys(got).sort()).toEqual(Object.keys(RECORD).sort());
    expect(typeof got.customer).toBe('number');
    expect(typeof got.partner).toBe('string');
    // JSON comes back deep-frozen, as the L1 holds it; a Date is a fresh object per read.
    expect(Object.isFrozen(got.meta)).toBe(true);
    expect(Object.isFrozen((got.meta as { list: unknown[] }).list[3])).toBe(true);
    (got.created as Date).setTime(0);
    const again = (await reader.getMany('shape', [1])).hits.get(1)!;
    expect((again.created as Date).getTime()).toBe((RECORD.created as Date).getTime());
  });

  it('keeps a field named __proto__ a field', async () => {
    const [store] = await kit.open(1);
    const entry = JSON.parse('{"__proto__": {"polluted": true}, "name": "x"}') as Entry;
    expect(await missThenPut(store, 'shape', 2, entry)).toBe(1);
    const got = (await store.getMany('shape', [2])).hits.get(2)!;
    expect(Object.getPrototypeOf(got)).toBe(Object.prototype);
    expect(Object.keys(got).sort()).toEqual(['__proto__', 'name']);
  });

  it('refuses a value the L1 cannot hold, storing nothing', async () => {
    const [store] = await kit.open(1);
    const bad: Entry[] = [
      { x: Number.NaN },
      { x: 1n },
      { x: undefined },
      { x: new Map() },
      { x: new Date(Number.NaN) },
    ];
    for (const [i, entry] of bad.entries()) expect(await missThenPut(store, 'bad', i, entry)).toBe(0);
    const after = await store.getMany('bad', [0, 1, 2, 3, 4]);
    expect(after.hits.size).toBe(0);
    expect(store.stats().putsRefused).toBe(5);
  });

  it('keeps string keys apart whatever they hold, integer 1 apart from "1"', async () => {
    const [store] = await kit.open(1);
    const keys: Key[] = [
      'a{b}c',
      '{',
      '}',
      '}{',
      '{x}',
      'a:b',
      ':',
      'ünï€😀',
      '"\'',
      '',
      '1',
      1,
      'n1',
      's',
      'x'.repeat(300),
    ];
    for (const [i, key] of keys.entries()) expect(await missThenPut(store, 'weird{model}:x', key, { i })).toBe(1);
    const got = await store.getMany('weird{model}:x', keys);
    expect(keys.map((k) => got.hits.get(k))).toEqual(keys.map((_, i) => ({ i })));
  });

  describe('the refill race (a load whose SELECT ran before a write, its put arriving after the invalidation)', () => {
    // reader: getMany -> lease; SELECT answered (old value); writer: lock, UPDATE, commit,
    // invalidate; reader: putMany(old value, old lease).
    async function race(options: { leaseCheck?: boolean }): Promise<{ stored: number; after: Entry | undefined }> {
      const [reader, writer] = await kit.open(2, options);
      const { leases } = await reader.getMany('account', [5]);
      const oldValue = { balance: '100.00' };
      const lock = await writer.lock('account', [5]);
      await writer.invalidate('account', [5], lock);
      const stored = await reader.putMany('account', [{ key: 5, entry: oldValue, lease: leases.get(5)! }]);
      return { stored, after: (await reader.getMany('account', [5])).hits.get(5) };
    }

    it('the stale value never lands', async () => {
      const { stored, after } = await race({});
      expect(stored).toBe(0);
      expect(after).toBeUndefined();
    });

    it('(mutation check) without the lease check the same interleaving does put the stale value', async () => {
      const { stored, after } = await race({ leaseCheck: false });
      expect(stored).toBe(1);
      expect(after).toEqual({ balance: '100.00' });
    });

    it('a reader that began after the invalidation fills normally', async () => {
      const [reader, writer] = await kit.open(2);
      await reader.getMany('account', [6]);
      await writer.invalidate('account', [6], await writer.lock('account', [6]));
      expect(await missThenPut(reader, 'account', 6, { balance: '90.00' })).toBe(1);
      expect((await writer.getMany('account', [6])).hits.get(6)).toEqual({ balance: '90.00' });
    });
  });

  describe('soft locks', () => {
    it('delete the entry, make readers bypass and refuse puts until invalidated', async () => {
      const [reader, writer] = await kit.open(2);
      expect(await missThenPut(reader, 'order', 1, { status: 'draft' })).toBe(1);
      const before = await reader.getMany('order', [2]);
      const lock = await writer.lock('order', [1, 2]);
      const during = await reader.getMany('order', [1, 2, 3]);
      expect(during.hits.size).toBe(0);
      expect([...during.leases.keys()]).toEqual([3]); // 1 and 2 bypassed
      expect(await reader.putMany('order', [{ key: 2, entry: { status: 'x' }, lease: before.leases.get(2)! }])).toBe(0);
      await writer.invalidate('order', [1, 2], lock);
      const after = await reader.getMany('order', [1, 2]);
      expect(after.hits.size).toBe(0);
      expect(after.leases.size).toBe(2);
      expect(reader.stats().bypasses).toBe(2);
    });

    it('expire after their TTL', async () => {
      const [store] = await kit.open(1);
      await store.lock('order', [1], 150);
      expect((await store.getMany('order', [1])).leases.size).toBe(0);
      await sleep(300);
      expect((await store.getMany('order', [1])).leases.size).toBe(1);
    });

    it('of two writers: each releases its own; unlock (rollback) publishes nothing', async () => {
      const [store, other] = await kit.open(2);
      const heard: SharedMessage[] = [];
      other.subscribe((m) => heard.push(m));
      const a = await store.lock('order', [1]);
      const b = await store.lock('order', [1]);
      await store.invalidate('order', [1], a);
      expect((await store.getMany('order', [1])).leases.size).toBe(0); // b still holds it
      await store.unlock('order', [1], b);
      expect((await store.getMany('order', [1])).leases.size).toBe(1);
      await eventually(() => heard.length === 1);
      await sleep(100); // an unlock's message would have arrived by now
      expect(heard.map((m) => m.kind)).toEqual(['invalidate']);
    });
  });

  describe('invalidateAll', () => {
    /** The entry of `key` as a reader sees it at its second read (the first may bypass while generations catch up). */
    async function served(store: SharedStore, model: string, key: Key): Promise<Entry | undefined> {
      const first = (await store.getMany(model, [key])).hits.get(key);
      const second = (await store.getMany(model, [key])).hits.get(key);
      expect(first === undefined || second !== undefined).toBe(true);
      return second;
    }

    it("drops a model's entries and what loads that began before it put, not other models'", async () => {
      const [reader, writer] = await kit.open(2);
      expect(await missThenPut(reader, 'a', 1, { n: 1 })).toBe(1);
      expect(await missThenPut(reader, 'b', 1, { n: 1 })).toBe(1);
      const before = (await reader.getMany('a', [2])).leases.get(2)!;
      const heard: SharedMessage[] = [];
      reader.subscribe((m) => heard.push(m));
      await writer.invalidateAll('a');
      await reader.putMany('a', [{ key: 2, entry: { n: 'old' }, lease: before }]);
      expect(await served(reader, 'a', 1)).toBeUndefined();
      expect(await served(reader, 'a', 2)).toBeUndefined();
      expect(await served(writer, 'a', 2)).toBeUndefined();
      expect(await served(reader, 'b', 1)).toEqual({ n: 1 });
      await eventually(() => heard.length === 1, 2000);
      expect(heard[0]).toMatchObject({ kind: 'invalidate', model: 'a', keys: 'all' });
      // Loads that begin after it fill again.
      await reader.getMany('a', [1]);
      expect(await missThenPut(reader, 'a', 1, { n: 2 })).toBe(1);
      expect(await served(writer, 'a', 1)).toEqual({ n: 2 });
    });

    it('of every model (undefined)', async () => {
      const [reader, writer] = await kit.open(2);
      expect(await missThenPut(reader, 'a', 1, { n: 1 })).toBe(1);
      expect(await missThenPut(reader, 'b', 'x', { n: 1 })).toBe(1);
      const heard: SharedMessage[] = [];
      reader.subscribe((m) => heard.push(m));
      await writer.invalidateAll(undefined);
      expect(await served(reader, 'a', 1)).toBeUndefined();
      expect(await served(reader, 'b', 'x')).toBeUndefined();
      await eventually(() => heard.length === 1, 2000);
      expect(heard[0]).toMatchObject({ kind: 'invalidate', model: undefined, keys: 'all' });
    });
  });

  it('expires entries after the entry TTL (the safety net)', async () => {
    const [store] = await kit.open(1, { entryTtlMs: 150 });
    expect(await missThenPut(store, 'partner', 1, { name: 'a' })).toBe(1);
    expect((await store.getMany('partner', [1])).hits.size).toBe(1);
    await sleep(300);
    const after = await store.getMany('partner', [1]);
    expect(after.hits.size).toBe(0);
    expect(after.leases.size).toBe(1);
  });

  it('publishes invalidations to every subscriber, keys and their types intact, with the latency measured', async () => {
    const [writer, reader] = await kit.open(2);
    const heard: SharedMessage[] = [];
    reader.subscribe((m) => heard.push(m));
    const keys: Key[] = [1, '1', 'a{b}:c', 'ünï'];
    const sent = Date.now();
    await writer.invalidate('partner', keys);
    await eventually(() => heard.length === 1, 2000);
    expect(heard[0]).toMatchObject({ kind: 'invalidate', model: 'partner', keys });
    const m = heard[0] as Extract<SharedMessage, { kind: 'invalidate' }>;
    expect(m.sentAt).toBeGreaterThanOrEqual(sent);
    const stats = reader.stats();
    expect(stats.invalidationsReceived).toBe(1);
    expect(stats.invalidationLatencyMaxMs).toBeLessThan(1000);
    expect(writer.stats().invalidationsSent).toBe(1);
    console.log(`[${kit.backend}] invalidation latency (same process): ${stats.invalidationLatencyMaxMs} ms`);
  });

  it('stops calling an unsubscribed function', async () => {
    const [store, other] = await kit.open(2);
    const heard: SharedMessage[] = [];
    const off = store.subscribe((m) => heard.push(m));
    off();
    const witness: SharedMessage[] = [];
    other.subscribe((m) => witness.push(m));
    await store.invalidate('partner', [1]);
    await eventually(() => witness.length === 1, 2000);
    expect(heard).toEqual([]);
  });
});

const run = promisify(execFile);

describeEachStore(
  'shared store across processes',
  (kit) => {
    it('an invalidation from another Node process reaches this one, and its lock voided our lease', async () => {
      const [store] = await kit.open(1);
      const heard: SharedMessage[] = [];
      store.subscribe((m) => heard.push(m));
      const { leases } = await store.getMany('partner', [3, 'k{3}']);
      const child = path.join(__dirname, 'helpers', 'shared-store-child.ts');
      const { stdout } = await run(
        process.execPath,
        [
          '-r',
          'ts-node/register/transpile-only',
          child,
          JSON.stringify(kit.connection),
          (store as RedisSharedStore).prefix,
          'partner',
          JSON.stringify([3, 'k{3}']),
        ],
        { cwd: path.resolve(__dirname, '..'), timeout: 60_000 },
      );
      expect(JSON.parse(stdout)).toMatchObject({ invalidationsSent: 1, errors: 0 });
      await eventually(() => heard.length === 1, 2000);
      expect(heard[0]).toMatchObject({ kind: 'invalidate', model: 'partner', keys: [3, 'k{3}'] });
      const puts = [...leases].map(([key, lease]) => ({ key, entry: { name: 'old' }, lease }));
      expect(await store.putMany('partner', puts)).toBe(0);
      console.log(
        `[${kit.backend}] invalidation latency (other process): ${store.stats().invalidationLatencyMaxMs} ms`,
      );
    });

    it('delivers a stream of invalidations from another process, every one, with latency p50/p99 measured', async () => {
      const [store] = await kit.open(1);
      const latencies: number[] = [];
      store.subscribe((m) => {
        if (m.kind === 'invalidate') latencies.push(Date.now() - m.sentAt);
      });
      const child = path.join(__dirname, 'helpers', 'shared-store-child.ts');
      const count = 200;
      await run(
        process.execPath,
        [
          '-r',
          'ts-node/register/transpile-only',
          child,
          JSON.stringify(kit.connection),
          (store as RedisSharedStore).prefix,
          'partner',
          JSON.stringify([1]),
          String(count),
        ],
        { cwd: path.resolve(__dirname, '..'), timeout: 60_000 },
      );
      await eventually(() => latencies.length === count, 5000);
      const sorted = [...latencies].sort((a, b) => a - b);
      const p50 = sorted[Math.floor(count * 0.5)];
      const p99 = sorted[Math.floor(count * 0.99)];
      console.log(`[${kit.backend}] invalidation latency across processes over ${count}: p50 ${p50} ms, p99 ${p99} ms`);
      expect(p99).toBeLessThan(1000);
      expect(store.stats().invalidationsReceived).toBe(count);
    });
  },
  ['redis', 'cluster'],
);

describeEachStore(
  'shared store on a Cluster',
  (kit) => {
    it('spreads the records of one model over every node, each record on one slot', async () => {
      const [store] = await kit.open(1);
      const keys: Key[] = [...Array.from({ length: 60 }, (_, i) => i), '{', '}', 'a{b}c', '{x}y', ':'];
      for (const key of keys) expect(await missThenPut(store, 'spread', key, { key })).toBe(1);
      const prefix = (store as RedisSharedStore).prefix;
      const cluster = new Cluster((kit.connection as { cluster: string[] }).cluster.map(node));
      try {
        await new Promise((resolve) => cluster.once('ready', resolve));
        const masters = cluster.nodes('master');
        expect(masters.length).toBe(3);
        const records = async (n: Redis) => (await n.keys(`${prefix}:*`)).filter((k) => k !== generationsKey(prefix));
        const counts = await Promise.all(masters.map(async (n: Redis) => (await records(n)).length));
        expect(counts.every((c) => c > 0)).toBe(true);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(keys.length); // entries only: leases used up, no locks
        for (const key of keys) {
          const k = recordKeys(prefix, 'spread', key);
          const slots = await Promise.all([k.entry, k.lease, k.lock].map((name) => cluster.cluster('KEYSLOT', name)));
          expect(new Set(slots).size).toBe(1);
          // The hash tag is the first {...}: only ours, never one from the key.
          expect(k.entry.split('{').length).toBe(2);
          expect(k.entry.split('}').length).toBe(2);
        }
      } finally {
        cluster.disconnect();
      }
    });
  },
  ['cluster'],
);

function node(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

describe('in-process shared store', () => {
  it('sweeps expired entries nobody reads again (on the clock of its TTLs)', async () => {
    let now = 1_000_000;
    const store = new MemorySharedStore({ entryTtlMs: 1000, now: () => now });
    for (let key = 0; key < 50; key++) expect(await missThenPut(store, 'partner', key, { key })).toBe(1);
    expect(store.size).toBe(50);
    now += 999;
    expect(await missThenPut(store, 'partner', 50, { key: 50 })).toBe(1); // within the TTL: nothing expired
    expect(store.size).toBe(51);
    now += 2;
    expect(await missThenPut(store, 'partner', 51, { key: 51 })).toBe(1);
    expect(store.size).toBe(2); // 50 and 51
  });
});

describe('shared store key names', () => {
  const keyArb = fc.oneof(
    fc.integer(),
    fc.string({ unit: 'binary' }),
    fc.constantFrom('{', '}', '}{', '{a}', ':', 'a:b', '\uD800', '\uDBFF', '\uFFFD'),
  );
  const modelArb = fc.oneof(
    fc.constantFrom('partner', 'res.users', 'a{b}', 'a:b', '', '\uD800', '\uFFFD'),
    fc.string({ unit: 'binary' }),
  );

  it('have exactly one hash tag, made of safe characters, whatever the model and key hold', () => {
    fc.assert(
      fc.property(modelArb, keyArb, (model, key) => {
        for (const name of Object.values(recordKeys('proxorm', model, key))) {
          expect(name.split('{')).toHaveLength(2);
          expect(name.split('}')).toHaveLength(2);
          expect(/^proxorm:\{[A-Za-z0-9_.~-]+:[ns][A-Za-z0-9_-]*\}:[elk]$/.test(name)).toBe(true);
        }
      }),
    );
  });

  it('never give two records one name', () => {
    // Lone surrogates too (UTF-8 would turn each into U+FFFD).
    const odd = ['\uD800', '\uDBFF', '\uFFFD', '1'];
    const names = odd.flatMap((m) => [...odd, 1].map((k) => recordKeys('p', m, k).entry));
    expect(new Set(names).size).toBe(names.length);
    fc.assert(
      fc.property(modelArb, keyArb, modelArb, keyArb, (m1, k1, m2, k2) => {
        fc.pre(m1 !== m2 || k1 !== k2);
        expect(recordKeys('p', m1, k1).entry).not.toBe(recordKeys('p', m2, k2).entry);
      }),
    );
  });
});
