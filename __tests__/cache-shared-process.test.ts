import 'reflect-metadata';
import { spawn, type ChildProcessWithoutNullStreams } from 'child_process';
import { randomUUID } from 'crypto';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { Environment, type EnvironmentConfig } from '../lib';
import { describeEachDatabase } from './helpers/databases';
import { eventually } from './helpers/redis';
import { Item } from './fixtures/shared-cache-models';

/**
 * Two Node processes on one database and one Redis: one writes and commits, the other
 * reads. After each commit resolved, a fork the reader creates reads the new value
 * (never the old one, which the shared cache held), and the reader's long-lived fork
 * reads it once the invalidation reached its process.
 */
const redisUrl = process.env.PROXORM_REDIS_URL;
const CHILD = path.join(__dirname, 'fixtures', 'shared-cache-child.ts');

/** A child process and a function sending it a command line and resolving to its answer. */
function child(setup: object): { proc: ChildProcessWithoutNullStreams; ask: (line?: string) => Promise<unknown> } {
  const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', CHILD, JSON.stringify(setup)], {
    cwd: path.resolve(__dirname, '..'),
  });
  const answers: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  readline.createInterface({ input: proc.stdout }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else answers.push(line);
  });
  let stderr = '';
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ask = (line?: string) => {
    if (line !== undefined) proc.stdin.write(`${line}\n`);
    const ready = answers.shift();
    if (ready !== undefined) return Promise.resolve(JSON.parse(ready) as unknown);
    return new Promise<unknown>((resolve, reject) => {
      waiting.push((l) => resolve(JSON.parse(l) as unknown));
      proc.once('exit', (code) => reject(new Error(`child exited (${String(code)}): ${stderr}`)));
    });
  };
  return { proc, ask };
}

if (redisUrl) {
  describeEachDatabase('shared cache across processes', (db) => {
    let env: Environment | undefined;
    const procs: ChildProcessWithoutNullStreams[] = [];
    afterEach(async () => {
      for (const p of procs.splice(0)) p.kill();
      await env?.close();
    });

    it('no fork created after the writer’s commit resolved reads the old value; the older fork drops it', async () => {
      let config: EnvironmentConfig;
      if (db.name !== 'sqlite') {
        env = await db.open({ models: [Item] });
        config = db.config;
      } else {
        config = { filename: path.join(os.tmpdir(), `proxorm-procs-${randomUUID()}.db`) };
        env = await Environment.open({ ...config, models: [Item] });
        await env.sync();
      }
      const [id] = (await env.model(Item).create([{ name: 'v0' }])).ids;
      const setup = { config, redis: redisUrl, prefix: `p${randomUUID().slice(0, 8)}` };
      const writer = child(setup);
      const reader = child(setup);
      procs.push(writer.proc, reader.proc);
      await Promise.all([writer.ask(), reader.ask()]); // { ready }
      expect(await reader.ask(`old ${id}`)).toEqual({ name: 'v0' });
      for (let i = 1; i <= 10; i++) {
        // Warm: the second fresh read is served by the shared cache (no query).
        expect(await reader.ask(`fresh ${id}`)).toEqual({ name: `v${i - 1}`, queries: expect.any(Number) as number });
        expect(await reader.ask(`fresh ${id}`)).toEqual({ name: `v${i - 1}`, queries: 0 });
        expect(await writer.ask(`write ${id} v${i}`)).toEqual({ done: true });
        expect(await reader.ask(`fresh ${id}`)).toEqual({ name: `v${i}`, queries: 1 });
        await eventually(async () => ((await reader.ask(`old ${id}`)) as { name: string }).name === `v${i}`);
      }
    });
  });
} else if (process.env.REQUIRE_REDIS === '1') {
  it('needs Redis (REQUIRE_REDIS=1) but the global setup did not provide it', () => {
    throw new Error('Redis required but not available');
  });
} else {
  console.warn(
    '!!! NOT RUN: shared cache across processes: Redis is not available (run "bash scripts/redis.sh install")',
  );
}
