import { L2Store } from '../lib/cache/l2';
import type { Invalidation, RecordBatch } from '../lib/cache/store';
import type { Key } from '../lib/model/keys';
import { describeEachStore, eventually } from './helpers/redis';

/**
 * L2 as a CacheStore (lib/cache/l2.ts) over each shared backend: the batch shape the
 * loader speaks, leases per miss, writes' lock/release, invalidations as the L1 hears
 * them, counters per model.
 */
const FIELDS = ['name', 'created', 'price', 'meta', 'partner'];

function batch(keys: readonly Key[], missing: readonly Key[] = []): RecordBatch {
  return {
    fields: FIELDS,
    keys,
    columns: [
      keys.map((k) => `name ${String(k)}`),
      keys.map((_, j) => new Date(Date.UTC(2020, 0, 1 + j))),
      keys.map(() => '1.50'),
      keys.map(() => Object.freeze({ a: [1] })),
      keys.map(() => null),
    ],
    missing,
  };
}

describeEachStore('L2 cache store', (kit) => {
  it('answers a batch: hits as columns, misses with leases; a put of the loaded misses is served next', async () => {
    const [shared] = await kit.open(1);
    const l2 = new L2Store(shared);
    const first = await l2.getMany('partner', [1, 2, 3], FIELDS);
    expect(first.hits.keys).toEqual([]);
    expect(first.misses).toEqual([1, 2, 3]);
    expect(await l2.putMany('partner', batch([1, 2], [3]), first.lease)).toEqual({ stored: 2, refused: 1 });
    const second = await l2.getMany('partner', [1, 2, 3], FIELDS);
    expect(second.hits).toEqual({ ...batch([1, 2]), missing: [] });
    expect(second.misses).toEqual([3]); // missing marks are not shared
    // An entry lacking an asked field is a miss.
    const wider = await l2.getMany('partner', [1], [...FIELDS, 'notes']);
    expect(wider.misses).toEqual([1]);
    expect(l2.stats().byModel.partner).toEqual({
      hits: 2,
      misses: 5,
      loads: 3,
      puts: 2,
      evictions: 0,
      expirations: 0,
      invalidations: 0,
      invalidationsReceived: 0,
    });
  });

  it('refuses a put whose load began before a committed write (the refill race), and a rolled-back write changes nothing', async () => {
    const [a, b] = await kit.open(2);
    const reader = new L2Store(a);
    const writer = new L2Store(b);
    const found = await reader.getMany('partner', [1, 2], FIELDS);
    const lock = await writer.lock('partner', [1]);
    await writer.release('partner', [1], lock, true);
    expect(await reader.putMany('partner', batch([1, 2]), found.lease)).toEqual({ stored: 1, refused: 1 });
    expect((await writer.getMany('partner', [1, 2], FIELDS)).hits.keys).toEqual([2]);

    const rollback = await writer.lock('partner', [2]);
    expect((await reader.getMany('partner', [2], FIELDS)).misses).toEqual([2]); // locked: bypassed
    await writer.release('partner', [2], rollback, false);
    const after = await reader.getMany('partner', [2], FIELDS);
    expect(after.misses).toEqual([2]); // the lock deleted the entry; a new load fills it
    expect(await reader.putMany('partner', batch([2]), after.lease)).toEqual({ stored: 1, refused: 0 });
  });

  it('tells subscribers what was invalidated, by this process (local) or another (remote)', async () => {
    const [a, b] = await kit.open(2);
    const here = new L2Store(a);
    const there = new L2Store(b);
    const heard: Invalidation[] = [];
    here.subscribe((inv) => heard.push(inv));
    await here.invalidate({ model: 'partner', keys: [1, 'x'], source: 'local' });
    await there.invalidate({ model: 'order', keys: 'all', source: 'local' });
    await eventually(() => heard.length === 2, 2000);
    const other = kit.backend === 'memory' ? 'local' : 'remote'; // one in-process store is one process
    // Two publishers: on a Cluster, through two nodes, so their order is not promised.
    expect(heard).toHaveLength(2);
    expect(heard).toEqual(
      expect.arrayContaining([
        { model: 'partner', keys: [1, 'x'], source: 'local' },
        { model: 'order', keys: 'all', source: other },
      ]),
    );
    expect(here.stats().byModel.partner.invalidations).toBe(2);
    expect(there.stats().byModel.order.invalidations).toBe(1);
  });
});
