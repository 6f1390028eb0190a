import 'reflect-metadata';
import { randomUUID } from 'crypto';
import { BaseModel, Environment, Field, Model, ValidationError } from '../lib';
import { sharedStoreTesting, type SharedCacheOption } from '../lib/cache/shared/open';
import { statementHooks } from '../lib/db/executor';
import { countQueries, describeEachDatabase } from './helpers/databases';
import { openPair } from './helpers/pools';
import { eventually } from './helpers/redis';

/**
 * The shared cache (L2) wired into the Environment: a fresh fork reads through it,
 * writes lock and invalidate it around their commit, the refill race cannot put an old
 * value back, invalidations drop other Environments' L1, and a transaction neither
 * reads nor writes it. On SQLite and MariaDB, with the in-process store and, when the
 * jest global setup started them, a Redis server and a Redis Cluster, each shared by two
 * pools (two "processes").
 */
@Model('l2_item')
class Item extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.integer() qty!: number;
  @Field.one2many(() => Note, 'item') notes!: Note[];
}

@Model({ name: 'l2_private', cache: { shared: false } })
class Private extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

@Model('l2_note')
class Note extends BaseModel {
  declare readonly id: number;
  @Field() text!: string;
  @Field.many2one(() => Item, { onDelete: 'set null' }) item!: Item | null;
}

const MODELS = [Item, Private, Note];
const rows = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `n${i}`, qty: i }));
const redisUrl = process.env.PROXORM_REDIS_URL;
const clusterNodes = process.env.PROXORM_REDIS_CLUSTER?.split(',').filter(Boolean);
/** The Redis backends the jest global setup provided: a single server, a 3-node Cluster. */
const REDIS: [string, (prefix: string) => SharedCacheOption][] = [
  ...(redisUrl ? [['redis', (prefix: string) => ({ redis: redisUrl, prefix })] as const] : []),
  ...(clusterNodes ? [['cluster', (prefix: string) => ({ cluster: clusterNodes, prefix })] as const] : []),
].map(([name, make]) => [name, make]);

async function readAll(env: Environment): Promise<number> {
  let sum = 0;
  for (const r of await env.model(Item).search([])) {
    await r.name;
    sum += await r.qty;
  }
  return sum;
}

async function nameOf(env: Environment, id: number): Promise<string> {
  return env.model(Item).browse(id).name;
}

describeEachDatabase('shared cache (L2) in the Environment', (db) => {
  let env: Environment | undefined;
  afterEach(async () => {
    statementHooks.afterReply = undefined;
    await env?.close();
    env = undefined;
  });

  const open = async (shared: SharedCacheOption = 'memory') =>
    (env = await db.open({ models: MODELS, cache: { shared } }));

  it('with a warm shared cache, a fresh fork loops over 1,000 records with 1 search and 0 loads', async () => {
    const root = await open();
    await root.fork().model(Item).create(rows(1000));
    const first = root.fork();
    expect(await countQueries(first, () => readAll(first))).toBe(2); // search + one load, which fills L2
    const second = root.fork();
    expect(await countQueries(second, () => readAll(second))).toBe(1);
    expect(second.stats).toMatchObject({ queries: 1, loads: 0 });
    expect(second.stats.cache.l2?.byModel.l2_item).toMatchObject({ hits: 1000, misses: 1000, puts: 1000, loads: 2 });
    expect(root.statsText()).toMatch(/^l2 l2_item hits=1000 /m);
  });

  it('is off by default, and a model with shared: false stays out of it', async () => {
    env = await db.open({ models: MODELS });
    expect(env.stats.cache.l2).toBeUndefined();
    await env.close();
    const root = await open();
    await root
      .fork()
      .model(Private)
      .create([{ name: 'a' }]);
    for (let i = 0; i < 2; i++) {
      const fork = root.fork();
      expect(await countQueries(fork, async () => (await fork.model(Private).search([])).at(0).name)).toBe(2);
    }
    expect(root.stats.cache.l2?.byModel.l2_private).toBeUndefined();
  });

  it('inside a transaction it is neither read nor written', async () => {
    const root = await open();
    await root.fork().model(Item).create(rows(10));
    const warm = root.fork();
    await readAll(warm);
    const before = root.stats.cache.l2!.total;
    const fork = root.fork();
    await fork.transaction(async () => {
      expect(await countQueries(fork, () => readAll(fork))).toBe(2);
    });
    expect(root.stats.cache.l2!.total).toEqual(before);
  });

  it('a write invalidates at commit: a fork made after it resolved and an older fork both read the new value', async () => {
    const root = await open();
    const [id] = (
      await root
        .fork()
        .model(Item)
        .create([{ name: 'old', qty: 1 }])
    ).ids;
    const older = root.fork();
    expect(await nameOf(older, id)).toBe('old'); // in older's L1 and in L2
    expect(await nameOf(root.fork(), id)).toBe('old'); // from L2
    await root.fork().model(Item).browse(id).write({ name: 'new' });
    expect(await nameOf(root.fork(), id)).toBe('new');
    expect(await nameOf(older, id)).toBe('new');
    // In a transaction: nothing is published before the commit, then it is.
    const writer = root.fork();
    await writer.transaction(async () => {
      await writer.model(Item).browse(id).write({ name: 'newer' });
      // Locked in L2: read from the database (SQLite's one connection is the transaction's).
      if (db.name !== 'sqlite') expect(await nameOf(root.fork(), id)).toBe('new');
    });
    expect(await nameOf(root.fork(), id)).toBe('newer');
    expect(await nameOf(older, id)).toBe('newer');
  });

  it('an invalidation reaching an idle fork that holds none of the records leaves it nothing to keep (no version stamp)', async () => {
    const root = await open();
    const [a, b] = (
      await root
        .fork()
        .model(Item)
        .create([
          { name: 'a', qty: 1 },
          { name: 'b', qty: 2 },
        ])
    ).ids;
    const idle = root.fork(); // holds nothing: the many forks of past requests
    const holder = root.fork();
    expect(await nameOf(holder, b)).toBe('b');
    await root.fork().model(Item).browse(a).write({ name: 'a2' });
    await root.fork().model(Item).browse(b).write({ name: 'b2' });
    expect(idle.cache.versions.size).toBe(0);
    expect(idle.stats.cache.l1.byModel.l2_item?.invalidations).toBe(2); // still heard and counted
    expect(await nameOf(holder, b)).toBe('b2'); // the fork that held it dropped it
    expect(await nameOf(idle, a)).toBe('a2');
  });

  it('a rolled-back write only unlocks: the old value is read and shared again', async () => {
    const root = await open();
    const [id] = (
      await root
        .fork()
        .model(Item)
        .create([{ name: 'old', qty: 1 }])
    ).ids;
    expect(await nameOf(root.fork(), id)).toBe('old');
    const writer = root.fork();
    await expect(
      writer.transaction(async () => {
        await writer.model(Item).browse(id).write({ name: 'lost' });
        throw new Error('rollback');
      }),
    ).rejects.toThrow('rollback');
    expect(await nameOf(root.fork(), id)).toBe('old'); // reloaded (the lock dropped the entry), put again
    const fork = root.fork();
    expect(await countQueries(fork, () => nameOf(fork, id))).toBe(0);
  });

  it('an unlink invalidates the records and the models its foreign keys change', async () => {
    const root = await open();
    const [a, b] = (
      await root
        .fork()
        .model(Item)
        .create([
          { name: 'a', qty: 1 },
          { name: 'b', qty: 2 },
        ])
    ).ids;
    const [note] = (
      await root
        .fork()
        .model(Note)
        .create([{ text: 't', item: a }])
    ).ids;
    expect(await nameOf(root.fork(), a)).toBe('a');
    expect((await root.fork().model(Note).browse(note).item)?.ids).toEqual([a]); // in L2
    await root.fork().model(Item).browse(a).unlink();
    expect(await nameOf(root.fork(), b)).toBe('b');
    await expect(nameOf(root.fork(), a)).rejects.toThrow(/l2_item/);
    // ON DELETE SET NULL changed the note: its model was invalidated in L2.
    expect((await root.fork().model(Note).browse(note).item)?.ids).toEqual([]);
  });

  it('a create takes no lock: x2many lists are not shared, so a fresh fork sees the new child', async () => {
    const root = await open();
    const [a] = (
      await root
        .fork()
        .model(Item)
        .create([{ name: 'a', qty: 1 }])
    ).ids;
    const first = root.fork();
    expect(await first.model(Item).browse(a).name).toBe('a');
    expect((await first.model(Item).browse(a).notes).ids).toEqual([]);
    const [note] = (
      await root
        .fork()
        .model(Note)
        .create([{ text: 't', item: a }])
    ).ids;
    const fresh = root.fork();
    expect(await fresh.model(Item).browse(a).name).toBe('a'); // from L2: no query
    expect((await fresh.model(Item).browse(a).notes).ids).toEqual([note]); // the list: one query
    expect(fresh.stats.queries).toBe(1);
  });

  /**
   * The refill race, deterministic: a reader's load gets its lease and its SELECT's
   * reply (the old value) is held; a writer commits and invalidates; then the reader's
   * put arrives. The reader's own L1 refuses it (its version moved when the invalidation
   * dropped the record there), so the reader loads again and reads the new value. With
   * the lease check the old value never lands in L2 (a third fork reads the new one);
   * without it (the store's test flag), it does: the check is what this catches.
   */
  async function refillRace(shared: SharedCacheOption): Promise<{ reader: string; third: string }> {
    const root = await open(shared);
    const [id] = (
      await root
        .fork()
        .model(Item)
        .create([{ name: 'old', qty: 1 }])
    ).ids;
    let reached!: () => void;
    const atSelect = new Promise<void>((r) => (reached = r));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let armed = true;
    statementHooks.afterReply = async (sql) => {
      if (!armed || !/^select/i.test(sql) || !sql.includes('l2_item')) return;
      armed = false;
      reached();
      await gate;
    };
    const read = nameOf(root.fork(), id);
    await atSelect;
    await root.fork().model(Item).browse(id).write({ name: 'new' });
    release();
    const reader = await read;
    statementHooks.afterReply = undefined;
    const third = await nameOf(root.fork(), id);
    await env?.close();
    env = undefined;
    return { reader, third };
  }

  it('refill race: a load whose SELECT ran before a committed write cannot put the old value back', async () => {
    expect(await refillRace('memory')).toEqual({ reader: 'new', third: 'new' });
    // The mutation: the same interleaving without the lease check serves the stale value.
    expect((await withoutLeaseCheck(() => refillRace('memory'))).third).toBe('old');
  });

  it('refuses a bad shared option, naming it', async () => {
    await expect(Environment.open({ cache: { shared: 'disk' as never } })).rejects.toThrow(ValidationError);
    await expect(Environment.open({ cache: { shared: { redis: 'redis://x', entryTtl: -1 } } })).rejects.toThrow(
      /cache\.shared"\.entryTtl/,
    );
  });

  for (const [backend, sharedOn] of REDIS) {
    describe(`two pools on one Redis (as two processes) [${backend}]`, () => {
      let other: Environment | undefined;
      afterEach(async () => {
        await other?.close();
        other = undefined;
      });

      it('a commit in pool A: a fork of pool B made after it resolved reads the new value; an older fork drops the old one when the message arrives', async () => {
        const shared = sharedOn(`w${randomUUID().slice(0, 8)}`);
        const { a, b } = await openPair(db, { models: MODELS, cache: { shared } });
        env = a;
        other = b;
        const [id] = (
          await a
            .fork()
            .model(Item)
            .create([{ name: 'old', qty: 1 }])
        ).ids;
        const olderB = b.fork();
        expect(await nameOf(olderB, id)).toBe('old'); // fills L2
        const fresh = b.fork();
        expect(await countQueries(fresh, () => nameOf(fresh, id))).toBe(0); // served by L2 (Redis)
        await a.fork().model(Item).browse(id).write({ name: 'new' });
        expect(await nameOf(b.fork(), id)).toBe('new');
        await eventually(() => (olderB.stats.cache.l1.byModel.l2_item?.invalidations ?? 0) > 0);
        expect(await nameOf(olderB, id)).toBe('new');
      });

      it('refill race through Redis: the old value never lands; without the lease check it does', async () => {
        expect(await refillRace(sharedOn(`r${randomUUID().slice(0, 8)}`))).toEqual({
          reader: 'new',
          third: 'new',
        });
        const race = () => refillRace(sharedOn(`u${randomUUID().slice(0, 8)}`));
        expect((await withoutLeaseCheck(race)).third).toBe('old');
      });
    });
  }
});

/** Runs `fn` with the stores it opens lacking the refill-race guard (the mutation the race test must catch). */
async function withoutLeaseCheck<T>(fn: () => Promise<T>): Promise<T> {
  sharedStoreTesting.leaseCheck = false;
  try {
    return await fn();
  } finally {
    sharedStoreTesting.leaseCheck = undefined;
  }
}
