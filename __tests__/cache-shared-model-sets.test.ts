import 'reflect-metadata';
import { randomUUID } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import { BaseModel, Environment, Field, Model, MissingError, type EnvironmentConfig } from '../lib';
import type { SharedCacheOption } from '../lib/cache/shared/open';
import { countQueries, describeEachDatabase, type TestDatabase } from './helpers/databases';

/**
 * Pools that map different model sets on one database and one Redis. A pool deleting a
 * parent must invalidate, in L2, what the database's ON DELETE rules changed in tables
 * only the other pools map (it knows them from the database's foreign keys, read at
 * open and after sync, not from its models): no pool may read a child's old reference,
 * or a cascaded child, from L2 after the delete committed.
 */
@Model('ms_parent')
class Parent extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  // Its relation table's links cascade on delete: x2many lists, not in L2, so no reason to invalidate more.
  @Field.many2many(() => Tag) tags!: Tag[];
}

@Model('ms_child')
class Child extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.many2one(() => Parent, { onDelete: 'set null' }) parent!: Parent | null;
}

@Model('ms_owned')
class Owned extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
  @Field.many2one(() => Parent, { onDelete: 'cascade' }) owner!: Parent;
}

@Model('ms_tag')
class Tag extends BaseModel {
  declare readonly id: number;
  @Field() name!: string;
}

const ALL = [Parent, Child, Owned, Tag];
const redisUrl = process.env.PROXORM_REDIS_URL;
const clusterNodes = process.env.PROXORM_REDIS_CLUSTER?.split(',').filter(Boolean);
const BACKENDS: [string, (prefix: string) => SharedCacheOption][] = [];
if (redisUrl) BACKENDS.push(['redis', (prefix) => ({ redis: redisUrl, prefix })]);
if (clusterNodes) BACKENDS.push(['cluster', (prefix) => ({ cluster: clusterNodes, prefix })]);

/** A pool on `db` mapping every model (it creates the tables), and the config to open more on the same database. */
async function openFull(db: TestDatabase, shared: SharedCacheOption): Promise<[Environment, EnvironmentConfig]> {
  const cache = { shared };
  if (db.name !== 'sqlite') return [await db.open({ models: ALL, cache }), db.config];
  const config = { filename: path.join(os.tmpdir(), `proxorm-sets-${randomUUID()}.db`) };
  const env = await Environment.open({ ...config, models: ALL, cache });
  await env.sync();
  return [env, config];
}

if (BACKENDS.length > 0) {
  describeEachDatabase('shared cache across pools mapping different models', (db) => {
    const pools: Environment[] = [];
    afterEach(async () => {
      await Promise.all(pools.splice(0).map((p) => p.close()));
    });

    for (const [backend, sharedOn] of BACKENDS) {
      it(`an unlink in a pool that maps only the parent invalidates the children other pools cached [${backend}]`, async () => {
        const shared = sharedOn(`m${randomUUID().slice(0, 8)}`);
        const [full, config] = await openFull(db, shared);
        pools.push(full);
        const reader = await Environment.open({ ...config, models: ALL, cache: { shared } });
        pools.push(reader);
        const parentOnly = await Environment.open({ ...config, models: [Parent, Tag], cache: { shared } });
        pools.push(parentOnly);

        const w = full.fork();
        const [p] = (await w.model(Parent).create([{ name: 'p' }])).ids;
        const [c] = (await w.model(Child).create([{ name: 'c', parent: p }])).ids;
        const [o] = (await w.model(Owned).create([{ name: 'o', owner: p }])).ids;
        const [t] = (await w.model(Tag).create([{ name: 't' }])).ids;
        const warm = reader.fork();
        expect((await warm.model(Child).browse(c).parent)?.ids).toEqual([p]);
        expect(await warm.model(Owned).browse(o).name).toBe('o');
        expect(await warm.model(Tag).browse(t).name).toBe('t');
        const served = reader.fork(); // all three from L2
        expect(
          await countQueries(served, async () => {
            await served.model(Child).browse(c).parent;
            await served.model(Owned).browse(o).name;
            await served.model(Tag).browse(t).name;
          }),
        ).toBe(0);

        // parentOnly's models name neither ms_child nor ms_owned: only the database's
        // foreign keys tell it what its delete changes there.
        await parentOnly.fork().model(Parent).browse(p).unlink();

        const after = reader.fork();
        expect((await after.model(Child).browse(c).parent)?.ids).toEqual([]); // SET NULL, not the old parent
        await expect(after.model(Owned).browse(o).name).rejects.toThrow(MissingError); // CASCADE
        // A table it could not name: the whole shared cache was invalidated (Tag reloads once, then is shared again).
        const tags = reader.fork();
        expect(await countQueries(tags, () => tags.model(Tag).browse(t).name)).toBe(1);
        const again = reader.fork();
        expect(await countQueries(again, () => again.model(Tag).browse(t).name)).toBe(0);
      });

      it(`a pool that opened before the child tables existed learns their foreign keys at its sync [${backend}]`, async () => {
        const shared = sharedOn(`s${randomUUID().slice(0, 8)}`);
        let config: EnvironmentConfig;
        let parentOnly: Environment;
        if (db.name !== 'sqlite') {
          const setup = await db.open({ models: [Parent, Tag] }); // an empty ms_parent
          await setup.knex.schema.dropTableIfExists('ms_owned').dropTableIfExists('ms_child'); // an earlier test's
          await setup.close();
          config = db.config;
          parentOnly = await Environment.open({ ...config, models: [Parent, Tag], cache: { shared } });
        } else {
          config = { filename: path.join(os.tmpdir(), `proxorm-sets-${randomUUID()}.db`) };
          parentOnly = await Environment.open({ ...config, models: [Parent, Tag], cache: { shared } });
          await parentOnly.sync();
        }
        pools.push(parentOnly);
        const full = await Environment.open({ ...config, models: ALL, cache: { shared } });
        pools.push(full);
        await full.sync(); // creates ms_child and ms_owned after parentOnly read the foreign keys
        await parentOnly.sync(); // nothing to create; reads them again

        const [p] = (
          await full
            .fork()
            .model(Parent)
            .create([{ name: 'p' }])
        ).ids;
        const [c] = (
          await full
            .fork()
            .model(Child)
            .create([{ name: 'c', parent: p }])
        ).ids;
        expect((await full.fork().model(Child).browse(c).parent)?.ids).toEqual([p]); // in L2
        await parentOnly.fork().model(Parent).browse(p).unlink();
        expect((await full.fork().model(Child).browse(c).parent)?.ids).toEqual([]);
      });
    }

    it('a pool that maps every table a delete reaches invalidates only those models, not the whole cache', async () => {
      const [full] = await openFull(db, 'memory');
      pools.push(full);
      const w = full.fork();
      const [t] = (await w.model(Tag).create([{ name: 't' }])).ids;
      const [p] = (await w.model(Parent).create([{ name: 'p', tags: { set: [t] } }])).ids;
      expect(await full.fork().model(Tag).browse(t).name).toBe('t'); // in L2
      await full.fork().model(Parent).browse(p).unlink();
      const tags = full.fork();
      expect(await countQueries(tags, () => tags.model(Tag).browse(t).name)).toBe(0);
      expect(full.stats.cache.l2?.byModel).toMatchObject({
        ms_child: { invalidations: 1 },
        ms_owned: { invalidations: 1 },
      });
    });
  });
} else if (process.env.REQUIRE_REDIS === '1') {
  it('needs Redis (REQUIRE_REDIS=1) but the global setup did not provide it', () => {
    throw new Error('Redis required but not available');
  });
} else {
  console.warn('!!! NOT RUN: shared cache across pools mapping different models: Redis is not available');
}
