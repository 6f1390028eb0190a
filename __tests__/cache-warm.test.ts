import 'reflect-metadata';
import { randomUUID } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import {
  BaseModel,
  ConnectionError,
  DomainError,
  Environment,
  Field,
  Model,
  SchemaError,
  ValidationError,
  defineModel,
  type CacheLoadEvent,
  type EnvironmentConfig,
} from '../lib';
import type { SharedCacheOption } from '../lib/cache/shared/open';
import { countQueries, describeEachDatabase, type TestDatabase } from './helpers/databases';

/**
 * Warming (issue 12 item 5): env.warm(Model, domain, fields) loads through the loader's
 * batches (one search, 1,000 records a load), filling the caller's L1 and the shared
 * cache (L2) as first reads would; @Model({ cache: { warm } }) warmers run at open.
 */
@Model('warm_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.integer() qty!: number;
  @Field({ prefetch: false }) memo!: string;
  @Field.one2many(() => Part, 'item') parts!: Part[];
}

@Model('warm_part')
class Part extends BaseModel {
  declare readonly id: number;
  @Field() label!: string;
  @Field.many2one(() => Item, { onDelete: 'cascade' }) item!: Item | null;
}

/** The same table as Item, with a warmer: what a second process's Environment.open maps. */
@Model({ name: 'warm_item_warmed', table: 'warm_item', cache: { warm: { domain: [['qty', '<', 1500]] } } })
class WarmedItem extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.integer() qty!: number;
}

/** A warmer over a table no Environment syncs: open fails with the database's error. */
@Model({ name: 'warm_absent', cache: { warm: {} } })
class Absent extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

@Model({ name: 'warm_unshared', cache: { shared: false } })
class Unshared extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

const MODELS = [Item, Part, Unshared];
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `n${i}`, qty: i, memo: `m${i}` }));
const redisUrl = process.env.PROXORM_REDIS_URL;

async function readAll(env: Environment, domain: [string, '<', number][] = []): Promise<number> {
  let sum = 0;
  for (const r of await env.model(Item).search(domain)) {
    await r.name;
    sum += await r.qty;
  }
  return sum;
}

/** A database two pools can open (a SQLite file, or the MariaDB / PostgreSQL test database), with MODELS synced on empty tables. */
async function sharedDatabase(db: TestDatabase): Promise<EnvironmentConfig> {
  const config: EnvironmentConfig =
    db.name !== 'sqlite' ? db.config : { filename: path.join(os.tmpdir(), `proxorm-warm-${randomUUID()}.db`) };
  const env =
    db.name !== 'sqlite' ? await db.open({ models: MODELS }) : await Environment.open({ ...config, models: MODELS });
  try {
    await env.sync();
    await env.model(Item).create(rows(2500));
  } finally {
    await env.close();
  }
  return config;
}

describeEachDatabase('warming', (db) => {
  const opened: Environment[] = [];
  afterEach(async () => {
    for (const env of opened.splice(0).reverse()) await env.close();
  });
  const track = (env: Environment) => (opened.push(env), env);
  const open = async (shared?: SharedCacheOption) =>
    track(await db.open({ models: MODELS, ...(shared !== undefined && { cache: { shared } }) }));

  it('warms 2,500 records with 1 search and 3 loads; a fresh fork of the pool then reads them with 1 search and 0 loads', async () => {
    const root = await open('memory');
    await root.fork().model(Item).create(rows(2500));
    const warmer = root.fork();
    expect(await warmer.warm(Item)).toEqual({ records: 2500, statements: 4 });
    expect(warmer.stats).toMatchObject({ queries: 4, loads: 3, loadedRecords: 2500 });
    expect(warmer.stats.cache.l2?.byModel.warm_item).toMatchObject({ puts: 2500, misses: 2500, hits: 0 });
    // The warmer's own L1 holds them, and so does L2 for every other fork.
    expect(await countQueries(warmer, () => readAll(warmer))).toBe(1);
    const fresh = root.fork();
    expect(await countQueries(fresh, () => readAll(fresh))).toBe(1);
    expect(fresh.stats).toMatchObject({ queries: 1, loads: 0 });
    // A second warm by another fork finds everything in L2: 1 search, no load.
    const again = root.fork();
    expect(await again.warm(Item)).toEqual({ records: 2500, statements: 1 });
  });

  it("without a shared cache it fills the caller's L1 alone; a domain and fields narrow it", async () => {
    const root = await open();
    await root.fork().model(Item).create(rows(2500));
    const env = root.fork();
    expect(await env.warm(Item, [['qty', '<', 1200]], ['memo'])).toEqual({ records: 1200, statements: 3 });
    // The named field and the prefetchable ones are cached: no statement but the search.
    expect(
      await countQueries(env, async () => {
        for (const r of await env.model(Item).search([['qty', '<', 1200]]))
          expect(await r.memo).toBe(`m${await r.qty}`);
      }),
    ).toBe(1);
    const other = root.fork();
    expect(await countQueries(other, () => readAll(other))).toBe(4); // nothing shared: 1 search + 3 loads
  });

  it('an x2many field named is loaded for the whole set, 1,000 parents a statement', async () => {
    const root = await open('memory');
    const items = await root.fork().model(Item).create(rows(1500));
    await root
      .fork()
      .model(Part)
      .create(items.ids.map((id) => ({ label: `p${id}`, item: id })));
    const env = root.fork();
    expect(await env.warm(Item, [], ['parts'])).toEqual({ records: 1500, statements: 5 }); // search, 2 column loads, 2 relation loads
    expect(
      await countQueries(env, async () => {
        for (const r of await env.model(Item).search([])) expect((await r.parts).length).toBe(1);
      }),
    ).toBe(1);
  });

  it('a model with shared: false is warmed into L1 only', async () => {
    const root = await open('memory');
    await root
      .fork()
      .model(Unshared)
      .create([{ name: 'a' }, { name: 'b' }]);
    const env = root.fork();
    expect(await env.warm(Unshared)).toEqual({ records: 2, statements: 2 });
    expect(env.stats.cache.l2?.byModel.warm_unshared).toBeUndefined();
    const fresh = root.fork();
    expect(await countQueries(fresh, async () => (await fresh.model(Unshared).search([])).at(0).name)).toBe(2);
  });

  it('fires cache:load for each batch it puts in L1', async () => {
    const root = await open('memory');
    await root.fork().model(Item).create(rows(2500));
    const env = root.fork();
    const loads: CacheLoadEvent<Environment>[] = [];
    const stop = env.on('cache:load', (e) => loads.push(e));
    await env.warm(Item);
    stop();
    expect(loads.map((e) => [e.env === env, e.level, e.model, e.count])).toEqual([
      [true, 'l1', 'warm_item', 1000],
      [true, 'l1', 'warm_item', 1000],
      [true, 'l1', 'warm_item', 500],
    ]);
    // From L2 this time: the same three batches reach L1, with no load statement.
    const fresh = root.fork();
    const fromL2: number[] = [];
    fresh.on('cache:load', (e) => fromL2.push(e.count));
    expect(await fresh.warm(Item)).toEqual({ records: 2500, statements: 1 });
    expect(fromL2).toEqual([1000, 1000, 500]);
  });

  it('inside a transaction is a ValidationError, with no statement sent', async () => {
    const root = await open('memory');
    await root.fork().model(Item).create(rows(3));
    const env = root.fork();
    await env.transaction(async () => {
      const sent = await countQueries(env, () =>
        expect(env.warm(Item)).rejects.toThrow(
          new ValidationError(
            'env.warm(warm_item): not inside a transaction (its loads would not reach the shared cache); use recordset.prefetch() there',
          ),
        ),
      );
      expect(sent).toBe(0);
    });
    expect(await env.warm(Item)).toEqual({ records: 3, statements: 2 });
  });

  it('refuses bad input before any statement: unknown field, bad domain, a model outside the Environment', async () => {
    const root = await open('memory');
    const env = root.fork();
    const sent = await countQueries(env, async () => {
      await expect(env.warm(Item, [], ['nope' as 'name'])).rejects.toThrow(
        new ValidationError('env.warm(warm_item): unknown field "nope" of model "warm_item"'),
      );
      await expect(env.warm(Item, [], 'name' as unknown as ['name'])).rejects.toThrow(ValidationError);
      await expect(env.warm(Item, [['qty', '~', 1] as never])).rejects.toThrow(DomainError);
      await expect(env.warm(Item, [['nope', '=', 1]])).rejects.toThrow(DomainError);
      await expect(env.warm(WarmedItem)).rejects.toThrow(SchemaError);
    });
    expect(sent).toBe(0);
  });

  describe('warmers at open', () => {
    it('run before open resolves: the root holds the records, and a fork reads them from L2 with no load', async () => {
      const config = await sharedDatabase(db);
      const statements: string[] = [];
      const env = track(
        await Environment.open({
          ...config,
          models: [WarmedItem],
          cache: { shared: 'memory' },
          log: (line) => statements.push(line),
        }),
      );
      expect(statements).toHaveLength(3); // 1 search + 2 loads: qty 0 to 1,499
      expect(env.stats).toMatchObject({ queries: 3, loads: 2, loadedRecords: 1500 });
      expect(env.stats.cache.l2?.byModel.warm_item_warmed).toMatchObject({ puts: 1500 });
      const fork = env.fork();
      expect(
        await countQueries(fork, async () => {
          for (const r of await fork.model(WarmedItem).search([['qty', '<', 1500]])) await r.name;
        }),
      ).toBe(1);
      expect(fork.stats.loads).toBe(0);
      expect(Environment.default).toBe(env);
      // A fork does not run the warmers again.
      expect(env.fork().stats.queries).toBe(0);
    });

    it('a failing warmer fails open with its error and closes the pool; the default Environment stays', async () => {
      const config = await sharedDatabase(db);
      const before = track(await Environment.open({ ...config, models: MODELS }));
      let failed: Environment | undefined;
      await expect(
        Environment.open({
          ...config,
          models: [Absent],
          cache: { shared: 'memory' },
          log: (_line, event) => (failed = event.env),
        }),
      ).rejects.toThrow(/warm_absent/);
      expect(failed?.isClosed).toBe(true);
      expect(Environment.default).toBe(before);
    });
  });

  if (redisUrl) {
    it('[redis] warming in one pool serves a fresh fork of another pool on the same Redis: 1 search, 0 loads', async () => {
      const config = await sharedDatabase(db);
      const shared: SharedCacheOption = { redis: redisUrl, prefix: `w${randomUUID().slice(0, 8)}` };
      const a = track(await Environment.open({ ...config, models: MODELS, cache: { shared } }));
      const b = track(await Environment.open({ ...config, models: MODELS, cache: { shared } }));
      const warmer = a.fork();
      expect(await warmer.warm(Item)).toEqual({ records: 2500, statements: 4 });
      const reader = b.fork();
      expect(await countQueries(reader, () => readAll(reader))).toBe(1);
      expect(reader.stats.loads).toBe(0);
      expect(b.stats.cache.l2?.byModel.warm_item).toMatchObject({ hits: 2500, misses: 0 });
    });
  } else if (process.env.REQUIRE_REDIS === '1') {
    it('[redis] needs Redis (REQUIRE_REDIS=1) but the global setup did not provide it', () => {
      throw new Error('Redis required but not available');
    });
  } else {
    console.warn('!!! NOT RUN: warming [redis]: Redis is not available (run "bash scripts/redis.sh install")');
  }
});

describe('warmer declarations', () => {
  it('are checked at definition (SchemaError), @Model and defineModel alike', () => {
    const define = (warm: unknown) =>
      defineModel({
        name: `warm_bad_${randomUUID().slice(0, 6)}`,
        fields: { name: Field.string() },
        cache: { warm } as never,
      });
    expect(() => define({ fields: ['nope'] })).toThrow(SchemaError);
    expect(() => define({ fields: ['nope'] })).toThrow(/"cache.warm": unknown field "nope"/);
    expect(() => define({ domain: 'x' })).toThrow(/"domain" must be an array/);
    expect(() => define({ fields: 'name' })).toThrow(/"fields" must be an array of field names/);
    expect(() => define({ limit: 3 })).toThrow(SchemaError);
    expect(() => define([])).toThrow(/must be an object/);
    expect(define({ domain: [['name', '=', 'a']], fields: ['name'] })).toBeDefined();
  });

  it('a bad warmer domain is a DomainError at open, before connecting', async () => {
    const Bad = defineModel({
      name: `warm_bad_domain`,
      fields: { name: Field.string() },
      cache: { warm: { domain: [['nope', '=', 1]] } },
    });
    // Port 1: a connection attempt fails with a ConnectionError, as the open without the model shows.
    const unreachable: EnvironmentConfig = { client: 'mysql2', connection: 'mysql://root@127.0.0.1:1/none' };
    await expect(Environment.open({ ...unreachable, models: [] })).rejects.toThrow(ConnectionError);
    await expect(Environment.open({ ...unreachable, models: [Bad] })).rejects.toThrow(DomainError);
  });
});
