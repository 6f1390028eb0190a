import 'reflect-metadata';
import {
  BaseModel,
  Environment,
  Field,
  Model,
  SchemaError,
  ValidationError,
  type CacheEvictEvent,
  type CacheInvalidateEvent,
  type CacheLoadEvent,
  type RecordSet,
} from '../lib';
import { retentionHooks } from '../lib/cache/retention';
import { countQueries, describeEachDatabase } from './helpers/databases';

@Model('l1_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.integer() qty!: number;
}

@Model({ name: 'l1_fresh', cache: { ttl: 1000 } })
class Fresh extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.integer() qty!: number;
}

@Model({ name: 'l1_forever', cache: { ttl: 0 } })
class Forever extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

@Model('l1_group')
class Group extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.one2many(() => Member, 'group') members!: Member[];
}

@Model('l1_member')
class Member extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.many2one(() => Group) group!: Group | null;
}

const MODELS = [Item, Fresh, Forever, Group, Member];

/**
 * The clock TTLs run on in this file (ms); moved by the tests, never by time. It starts
 * above 0 (lru-cache takes a start time of 0 for "no TTL"), at T0.
 */
const T0 = 10_000;
let now = T0;

beforeAll(() => {
  retentionHooks.now = () => now;
});
afterAll(() => {
  retentionHooks.now = undefined;
});

/** Reads name and qty of every record, in order; the sum of qty. */
async function readLoop(items: RecordSet<Item> | RecordSet<Fresh>): Promise<number> {
  let sum = 0;
  for (const r of items) {
    await r.name;
    sum += await r.qty;
  }
  return sum;
}

const rows = (n: number, from = 0) => Array.from({ length: n }, (_, i) => ({ name: `n${from + i}`, qty: from + i }));
const total = (n: number) => (n * (n - 1)) / 2;

describeEachDatabase('L1 cache: size cap, TTL, statistics, events', (db) => {
  let env: Environment;
  afterEach(async () => {
    await env?.close();
  });

  async function seed(model: typeof Item | typeof Fresh | typeof Forever, n: number): Promise<void> {
    const fork = env.fork();
    await fork.model(model as typeof Item).create(rows(n));
    await fork.close();
  }

  describe('size cap (maxRecords)', () => {
    it('a loop over 3,000 records with a cap of 1,000 runs 1 search + 3 loads, and again 3 loads the second time', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      await seed(Item, 3000);
      env.resetStats();
      const items = await env.model(Item).search([]);
      expect(await readLoop(items)).toBe(total(3000));
      expect(env.stats).toMatchObject({ queries: 4, loads: 3, loadedRecords: 3000, misses: 3, hits: 5997 });
      expect(env.stats.cache.l1.byModel.l1_item).toEqual({
        hits: 5997,
        misses: 3,
        loads: 3,
        puts: 3000,
        evictions: 2000,
        expirations: 0,
        invalidations: 0,
      });
      // The first records were evicted behind the loop: the second pass loads them again, 1,000 at a time.
      expect(await countQueries(env, () => readLoop(items))).toBe(3);
      expect(env.stats.cache.l1.byModel.l1_item.evictions).toBe(5000);
      // A new search over the same records: 1 + 3 again.
      expect(await countQueries(env, async () => readLoop(await env.model(Item).search([])))).toBe(4);
    });

    it('without a cap the same second pass runs no query (the default: nothing is evicted)', async () => {
      env = await db.open({ models: MODELS });
      await seed(Item, 3000);
      const items = await env.model(Item).search([]);
      await readLoop(items);
      expect(await countQueries(env, () => readLoop(items))).toBe(0);
      expect(env.stats.cache.l1.total.evictions).toBe(0);
    });

    it('a record read recently is kept, the least recently read is evicted', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      await seed(Item, 1500);
      const all = await env.model(Item).search([]);
      const first = all.at(0);
      await env.model(Item).browse(all.ids.slice(0, 1000)).prefetch();
      await first.name; // the most recent now
      await env.model(Item).browse(all.ids.slice(1000)).prefetch(); // 500 more: evicts 500
      await new Promise<void>((resolve) => setImmediate(resolve)); // prefetch() pins what it loaded until then
      expect(await countQueries(env, () => first.name)).toBe(0);
      expect(await countQueries(env, () => all.at(1).name)).toBe(1);
    });

    it('what a transaction wrote is never evicted before it ends: 2,000 created under a cap of 1,000 read back with 0 queries', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      let created!: RecordSet<Item>;
      await env.transaction(async () => {
        created = await env.model(Item).create(rows(2000));
        expect(await countQueries(env, () => readLoop(created))).toBe(0);
      });
      // Merged at commit, then held to the cap like any committed value.
      expect(env.stats.cache.l1.byModel.l1_item.evictions).toBeGreaterThanOrEqual(1000);
      expect(env.cache.has('l1_item', 'name', created.ids[0])).toBe(false);
      expect(await readLoop(created)).toBe(total(2000));
    });

    it('Promise.all over 3,000 records under a cap of 1,000: 3 loads, as without a cap (a load pins what it filled until its readers ran)', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      await seed(Item, 3000);
      const items = await env.model(Item).search([]);
      let qty: number[] = [];
      expect(await countQueries(env, async () => (qty = await Promise.all([...items].map((r) => r.qty))))).toBe(3);
      expect(qty.reduce((a, b) => a + b, 0)).toBe(total(3000));
      expect(env.stats.cache.l1.byModel.l1_item.evictions).toBe(2000);
    });

    it('read() of 3,000 records under a cap of 1,000: 3 loads, every row complete', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      await seed(Item, 3000);
      const items = await env.model(Item).search([]);
      let read: Array<{ qty: number }> = [];
      expect(await countQueries(env, async () => (read = await items.read(['name', 'qty'])))).toBe(3);
      expect(read.reduce((a, r) => a + r.qty, 0)).toBe(total(3000));
      await new Promise<void>((resolve) => setImmediate(resolve)); // the pins are released
      expect(env.stats.cache.l1.byModel.l1_item.evictions).toBe(2000);
    });

    it('a fork has its own cache under the same cap, and its own counters', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      await seed(Item, 2000);
      const fork = env.fork();
      const items = await fork.model(Item).search([]);
      await readLoop(items);
      expect(fork.stats.cache.l1.byModel.l1_item).toMatchObject({ loads: 2, evictions: 1000 });
      expect(await countQueries(fork, () => readLoop(items))).toBe(2);
      expect(env.stats.cache.l1.byModel.l1_item).toBeUndefined();
      await fork.close();
    });
  });

  describe('TTL', () => {
    beforeEach(() => {
      now = T0;
    });

    it("a model's TTL: values serve reads until it passes, then the whole prefetch set reloads in one statement", async () => {
      env = await db.open({ models: MODELS });
      await seed(Fresh, 10);
      const items = await env.model(Fresh).search([]);
      expect(await countQueries(env, () => readLoop(items))).toBe(1);
      now = T0 + 1000; // a TTL of 1,000 ms: still fresh at 1,000, expired after
      expect(await countQueries(env, () => readLoop(items))).toBe(0);
      now = T0 + 1001;
      expect(await countQueries(env, () => readLoop(items))).toBe(1);
      expect(env.stats.cache.l1.byModel.l1_fresh).toMatchObject({ loads: 2, puts: 20, expirations: 10 });
      // Their new life started at the reload.
      now = T0 + 2001;
      expect(await countQueries(env, () => readLoop(items))).toBe(0);
      now = T0 + 2002;
      expect(await countQueries(env, () => readLoop(items))).toBe(1);
    });

    it("the Environment's TTL applies to models without their own; a model's ttl: 0 never expires", async () => {
      env = await db.open({ models: MODELS, cache: { ttl: 50 } });
      await seed(Item, 3);
      await env
        .fork()
        .model(Forever)
        .create([{ name: 'a' }, { name: 'b' }, { name: 'c' }]);
      await seed(Fresh, 3);
      const items = await env.model(Item).search([]);
      const forever = await env.model(Forever).search([]);
      const fresh = await env.model(Fresh).search([]);
      const readAll = async () => {
        await readLoop(items);
        for (const r of forever) await r.name;
        await readLoop(fresh);
      };
      expect(await countQueries(env, readAll)).toBe(3);
      now = T0 + 51;
      expect(await countQueries(env, readAll)).toBe(1); // the items only
      now = T0 + 1100;
      expect(await countQueries(env, readAll)).toBe(2); // items (again) and fresh (its own 1,000 ms)
      expect(env.stats.cache.l1.byModel.l1_forever?.expirations ?? 0).toBe(0);
    });

    it('an x2many list is part of its parent record: it expires with it', async () => {
      env = await db.open({ models: MODELS, cache: { ttl: 100 } });
      const fork = env.fork();
      const g = await fork.model(Group).create({ name: 'g' });
      await fork.model(Member).create([
        { name: 'a', group: g.id },
        { name: 'b', group: g.id },
      ]);
      const group = env.model(Group).browse(g.id);
      expect((await group.members).length).toBe(2);
      await fork.model(Member).create({ name: 'c', group: g.id }); // not seen by env's cache
      expect((await group.members).length).toBe(2);
      now = T0 + 101;
      expect(await countQueries(env, async () => expect((await group.members).length).toBe(3))).toBe(1);
      await fork.close();
    });

    it('a TTL shorter than a load never starves its readers: each reads what its own load brought', async () => {
      env = await db.open({ models: MODELS, cache: { ttl: 1 } });
      await seed(Item, 2500);
      const items = await env.model(Item).search([]);
      const clock = retentionHooks.now;
      retentionHooks.now = () => (now += 1); // every look at the clock is 1 ms later
      try {
        const fork = env.fork(); // its retention reads the moving clock
        const mine = fork.model(Item).browse(items.ids);
        let qty: number[] = [];
        expect(await countQueries(fork, async () => (qty = await Promise.all([...mine].map((r) => r.qty))))).toBe(3);
        expect(qty.reduce((a, b) => a + b, 0)).toBe(total(2500));
        // Expired again by the next read. Its load fills name, then qty: by then (1 ms per
        // look at the clock) the record's name expired within the fill itself, so name loads
        // once more, alone, and that value is pinned for the reader: 2 statements, and done.
        expect(await countQueries(fork, async () => expect(await mine.at(7).name).toBe('n7'))).toBe(2);
        await fork.close();
      } finally {
        retentionHooks.now = clock;
      }
    });

    it('a missing mark expires too: the record is looked for again', async () => {
      env = await db.open({ models: MODELS, cache: { ttl: 100 } });
      const ghost = env.model(Item).browse(424242);
      await expect(ghost.name).rejects.toThrow(/missing|exist/i);
      expect(await countQueries(env, () => ghost.name.catch(() => undefined))).toBe(0);
      now = T0 + 101;
      expect(await countQueries(env, () => ghost.name.catch(() => undefined))).toBe(1);
    });
  });

  describe('the store interface', () => {
    it('putMany refuses what a reader observed before an invalidation (the refill rule through the interface)', async () => {
      env = await db.open({ models: MODELS });
      const store = env.session.scope().cache;
      // A reader holds its lease's time on the session clock while it loads, as the loader does.
      const put = await env.session.observing(() => {
        const before = store.getMany('l1_item', [1, 2], ['name']);
        expect(before.misses).toEqual([1, 2]);
        env.invalidateRecord(Item, [1]);
        return Promise.resolve(
          store.putMany(
            'l1_item',
            { fields: ['name'], keys: [1, 2], columns: [['old', 'two']], missing: [] },
            before.lease,
          ),
        );
      });
      expect(put).toEqual({ stored: 1, refused: 1 });
      const after = store.getMany('l1_item', [1, 2], ['name']);
      expect(after.misses).toEqual([1]);
      expect(after.hits).toMatchObject({ keys: [2], columns: [['two']] });
    });

    it('subscribers hear invalidations', async () => {
      env = await db.open({ models: MODELS });
      const heard: unknown[] = [];
      const stop = env.session.scope().cache.subscribe((i) => heard.push(i));
      env.invalidateRecord(Item, [1, 2]);
      env.clearCache(Item);
      stop();
      env.clearCache();
      expect(heard).toEqual([
        { model: 'l1_item', keys: [1, 2], source: 'local' },
        { model: 'l1_item', keys: 'all', source: 'local' },
      ]);
    });
  });

  describe('statistics and events', () => {
    it('cache:load, cache:evict and cache:invalidate carry model names and counts, never keys or values', async () => {
      env = await db.open({ models: MODELS, cache: { maxRecords: 1000 } });
      await seed(Item, 1500);
      const loads: CacheLoadEvent<Environment>[] = [];
      const evicts: CacheEvictEvent<Environment>[] = [];
      const invalidations: CacheInvalidateEvent<Environment>[] = [];
      env.on('cache:load', (e) => loads.push(e));
      env.on('cache:evict', (e) => evicts.push(e));
      env.on('cache:invalidate', (e) => invalidations.push(e));
      const items = await env.model(Item).search([]);
      await readLoop(items);
      await new Promise<void>((resolve) => setImmediate(resolve)); // evictions are reported after the job
      expect(loads.map(({ level, model, count }) => ({ level, model, count }))).toEqual([
        { level: 'l1', model: 'l1_item', count: 1000 },
        { level: 'l1', model: 'l1_item', count: 500 },
      ]);
      expect(evicts.map(({ level, model, count, reason }) => ({ level, model, count, reason }))).toEqual([
        { level: 'l1', model: 'l1_item', count: 500, reason: 'lru' },
      ]);
      env.invalidateRecord(Item, items.ids.slice(0, 3));
      env.clearCache();
      expect(invalidations.map(({ model, keys, source }) => ({ model, keys, source }))).toEqual([
        { model: 'l1_item', keys: 3, source: 'local' },
        { model: undefined, keys: 'all', source: 'local' },
      ]);
      for (const e of [...loads, ...evicts, ...invalidations]) {
        expect(e.env).toBe(env);
        expect(Object.keys(e).sort()).toEqual(
          'count' in e && 'reason' in e
            ? ['count', 'env', 'level', 'model', 'reason']
            : 'count' in e
              ? ['count', 'env', 'level', 'model']
              : ['env', 'keys', 'level', 'model', 'source'],
        );
      }
    });

    it('a fork reports its cache events to its parent too', async () => {
      env = await db.open({ models: MODELS });
      await seed(Item, 2);
      const heard: Environment[] = [];
      env.on('cache:load', (e) => heard.push(e.env));
      const fork = env.fork();
      await readLoop(await fork.model(Item).search([]));
      expect(heard).toEqual([fork]);
      await fork.close();
    });

    it('per-model counters sit beside the flat ones, reset with them, and print one line per model', async () => {
      env = await db.open({ models: MODELS });
      await seed(Item, 3);
      await seed(Fresh, 2);
      await readLoop(await env.model(Item).search([]));
      await readLoop(await env.model(Fresh).search([]));
      env.invalidateRecord(Item, [1]);
      const { cache, ...flat } = env.stats;
      expect(flat).toEqual({ queries: 4, hits: 8, misses: 2, loads: 2, loadedRecords: 5 });
      expect(cache.l1.byModel.l1_item).toEqual({
        hits: 5,
        misses: 1,
        loads: 1,
        puts: 3,
        evictions: 0,
        expirations: 0,
        invalidations: 1,
      });
      expect(cache.l1.total).toMatchObject({ hits: 8, misses: 2, loads: 2, puts: 5, invalidations: 1 });
      expect(env.statsText().split('\n')).toEqual([
        'l1 l1_item hits=5 misses=1 loads=1 puts=3 evictions=0 expirations=0 invalidations=1',
        'l1 l1_fresh hits=3 misses=1 loads=1 puts=2 evictions=0 expirations=0 invalidations=0',
      ]);
      env.resetStats();
      expect(env.stats.cache.l1).toEqual({
        total: { hits: 0, misses: 0, loads: 0, puts: 0, evictions: 0, expirations: 0, invalidations: 0 },
        byModel: {},
      });
    });
  });
});

describe('cache options are checked at open', () => {
  it.each([
    [{ maxRecords: 999 }, /"cache.maxRecords" must be at least 1000/],
    [{ maxRecords: 1.5 }, /"cache.maxRecords" must be an integer/],
    [{ maxRecords: '5000' }, /"cache.maxRecords" must be an integer/],
    [{ ttl: -1 }, /"cache.ttl" must be a non-negative integer/],
    [{ ttl: 1.5 }, /"cache.ttl"/],
    [{ size: 10 }, /unknown cache option "size"/],
    [5, /"cache" must be an object/],
    [null, /"cache" must be an object/],
  ])('%p is a ValidationError naming the option', async (cache, message) => {
    const open = Environment.open({ cache } as never);
    await expect(open).rejects.toThrow(ValidationError);
    await expect(Environment.open({ cache } as never)).rejects.toThrow(message);
  });

  it('a cap of exactly one batch is accepted', async () => {
    const env = await Environment.open({ models: MODELS, cache: { maxRecords: 1000, ttl: 0 } });
    await env.close();
  });

  it("a model's cache option is checked where it is declared (SchemaError)", () => {
    expect(() => Model({ name: 'l1_bad', cache: { ttl: -5 } })(class extends BaseModel {})).toThrow(SchemaError);
    expect(() => Model({ name: 'l1_bad2', cache: { ttl: 'soon' } as never })(class extends BaseModel {})).toThrow(
      /"cache.ttl" must be a non-negative integer/,
    );
    expect(() => Model({ name: 'l1_bad3', cache: { maxRecords: 5 } as never })(class extends BaseModel {})).toThrow(
      /unknown option "maxRecords"/,
    );
  });
});
