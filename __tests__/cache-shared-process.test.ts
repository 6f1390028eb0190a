import 'reflect-metadata';
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Environment, type EnvironmentConfig, type SharedCacheOption } from '../lib';
import { spawnChild, type Child } from './helpers/child';
import { describeEachDatabase } from './helpers/databases';
import { clusterNodes, describeRedis, eventually, redisUrl } from './helpers/redis';
import { Item } from './fixtures/shared-cache-models';

/**
 * Four Node processes on one database and one shared cache (a Redis server, and a
 * 3-node Redis Cluster): one writes and commits, three read (fixtures/shared-cache-child.ts).
 * - After each commit resolved, a fork created in any reader reads the new value (the
 *   first with the one query of a miss, the others from the entry it put in L2), and a
 *   reader's long-lived fork reads it as soon as its process heard the invalidation.
 * - The readers read over and over while the writer commits: no read of a new fork that
 *   began after a commit resolved, and no read of the long-lived fork that began after the
 *   process heard that commit's invalidation, returns an older version. Each read is checked
 *   against versions (the one committed when it began, the invalidations heard), not timing.
 * The processes are started once for the file; each test opens its pools in them.
 */
const CHILD = path.join(__dirname, 'fixtures', 'shared-cache-child.ts');
const READERS = 3;
const WRITES = 10;
const LOOP_WRITES = 40;

let writer: Child;
let readers: Child[] = [];
const everyone = () => [writer, ...readers];

if (redisUrl !== undefined || clusterNodes !== undefined) {
  beforeAll(async () => {
    [writer, ...readers] = Array.from({ length: 1 + READERS }, () => spawnChild(CHILD));
    await Promise.all(everyone().map((c) => c.ready()));
  });
  afterAll(() => everyone().forEach((c) => c?.kill()));
}

const backends = [
  ['redis', redisUrl],
  ['cluster', clusterNodes && { cluster: clusterNodes }],
] as const;
for (const [backend, connection] of backends) {
  describeRedis(`shared cache across processes [${backend}]`, connection, (c) => {
    describeEachDatabase('one writer, three readers', (db) => {
      let env: Environment | undefined;
      const files: string[] = [];
      let id: number;
      let marker: string;

      beforeEach(async () => {
        let config: EnvironmentConfig;
        if (db.name !== 'sqlite') {
          env = await db.open({ models: [Item] });
          config = db.config;
        } else {
          const filename = path.join(os.tmpdir(), `proxorm-procs-${randomUUID()}.db`);
          files.push(filename, `${filename}-journal`);
          config = { filename };
          env = await Environment.open({ ...config, models: [Item] });
          await env.sync();
        }
        [id] = (await env.model(Item).create([{ name: 'v0' }])).ids;
        marker = path.join(os.tmpdir(), `proxorm-procs-${randomUUID()}.version`);
        files.push(marker);
        fs.writeFileSync(marker, '0');
        const prefix = `p${randomUUID().slice(0, 8)}`;
        // A long command timeout: a publish that timed out after it ran would be sent twice (counted twice).
        const shared: SharedCacheOption =
          typeof c === 'string' ? { redis: c, prefix, timeout: 5000 } : { cluster: c.cluster, prefix, timeout: 5000 };
        await Promise.all(everyone().map((p) => p.ask({ op: 'open', config, shared })));
      });

      afterEach(async () => {
        await Promise.all(everyone().map((p) => p.ask({ op: 'close' })));
        await env?.close();
        for (const file of files.splice(0)) fs.rmSync(file, { force: true });
      });

      it('after each commit resolved a fork created in any reader reads the new value; a long-lived fork reads it once its process heard', async () => {
        // Each long-lived fork holds v0: the first reader loads it, the others find it in L2.
        for (const [k, reader] of readers.entries())
          expect(await reader.ask({ op: 'old', id })).toEqual({ version: 0, queries: k === 0 ? 1 : 0 });
        for (let v = 1; v <= WRITES; v++) {
          const heard = await Promise.all(readers.map(async (r) => (await r.ask({ op: 'heard' })).heard as number));
          for (const reader of readers)
            expect(await reader.ask({ op: 'old', id })).toEqual({ version: v - 1, queries: 0 });
          expect(await writer.ask({ op: 'write', id, version: v })).toEqual({ done: true });
          // The commit invalidated the entry: one reader loads the new value, the others read what it put back.
          const order = [...readers.slice(v % READERS), ...readers.slice(0, v % READERS)];
          for (const [k, reader] of order.entries())
            expect(await reader.ask({ op: 'fresh', id })).toEqual({ version: v, queries: k === 0 ? 1 : 0 });
          for (const [k, reader] of readers.entries()) {
            await eventually(async () => ((await reader.ask({ op: 'heard' })).heard as number) > heard[k]);
            expect(await reader.ask({ op: 'heard' })).toEqual({ heard: heard[k] + 1 });
            // Heard: the long-lived fork dropped v-1 already, and reads v from L2.
            expect(await reader.ask({ op: 'old', id })).toEqual({ version: v, queries: 0 });
          }
        }
      });

      it('readers reading while the writer commits: no read that began after a commit resolved, or after its invalidation arrived, is older', async () => {
        for (const reader of readers) expect(await reader.ask({ op: 'old', id })).toMatchObject({ version: 0 });
        await Promise.all(readers.map((r) => r.ask({ op: 'loop', id, marker, base: 0 })));
        for (let v = 1; v <= LOOP_WRITES; v++) {
          // The writer updates the marker once its commit resolved; each reader then reads
          // v from L2 in a new fork and, once it heard, in its long-lived fork, before the next write.
          expect(await writer.ask({ op: 'write', id, version: v, marker })).toEqual({ done: true });
          await Promise.all(readers.map((r) => r.ask({ op: 'reached', version: v })));
        }
        for (const reader of readers) {
          const result = await reader.ask({ op: 'stop' });
          expect(result).toMatchObject({ stale: [], error: null });
          expect(result.freshFromL2).toBeGreaterThanOrEqual(LOOP_WRITES);
          expect(result.old).toBeGreaterThanOrEqual(LOOP_WRITES);
        }
      });
    });
  });
}
