import { execFileSync } from 'child_process';
import { randomUUID } from 'crypto';
import * as path from 'path';
import { MemorySharedStore, type MemoryStoreOptions } from '../../lib/cache/shared/memory-store';
import { RedisSharedStore, type RedisStoreOptions } from '../../lib/cache/shared/redis-store';
import type { SharedStore, SharedStoreOptions } from '../../lib/cache/shared/types';

/**
 * The shared-store backends a suite runs on: in-process always; Redis (single server)
 * and Redis Cluster when the jest global setup found them (PROXORM_REDIS_URL,
 * PROXORM_REDIS_CLUSTER; __tests__/setup/redis-setup.ts). A missing one is announced as
 * NOT RUN, or fails the run under REQUIRE_REDIS=1.
 */
export type BackendName = 'memory' | 'redis' | 'cluster';

export interface StoreKitOptions extends SharedStoreOptions {
  /** Test-only mutation: no lease check on put (the refill race must then be caught). */
  leaseCheck?: boolean;
  commandTimeoutMs?: number;
}

export interface StoreKit {
  readonly backend: BackendName;
  /**
   * `count` handles on one fresh shared cache, as `count` processes would hold: the
   * in-process store is one object shared by a pool's forks, so its handles are the same
   * object; Redis handles are separate connections on one key prefix. Closed after each test.
   */
  open(count: number, options?: StoreKitOptions): Promise<SharedStore[]>;
  /** How the child process of helpers/shared-store-child.ts connects (Redis backends only). */
  readonly connection?: RedisStoreOptions['connection'];
}

/** The servers of the jest global setup (or of the environment): undefined when missing. */
export const redisUrl = process.env.PROXORM_REDIS_URL;
export const clusterNodes = process.env.PROXORM_REDIS_CLUSTER?.split(',').filter(Boolean);

export function describeEachStore(title: string, suite: (kit: StoreKit) => void, only?: readonly BackendName[]): void {
  const want = (b: BackendName) => only === undefined || only.includes(b);
  if (want('memory')) describe(`${title} [memory]`, () => suite(kit('memory', undefined)));
  if (want('redis')) describeRedis(`${title} [redis]`, redisUrl, (c) => suite(kit('redis', c)));
  if (want('cluster')) {
    describeRedis(`${title} [cluster]`, clusterNodes && { cluster: clusterNodes }, (c) => suite(kit('cluster', c)));
  }
}

/** `suite` on `connection` (a server's URL, or a Cluster's nodes); NOT RUN, or a failure under REQUIRE_REDIS=1, without it. */
export function describeRedis(
  title: string,
  connection: RedisStoreOptions['connection'] | undefined,
  suite: (c: RedisStoreOptions['connection']) => void,
): void {
  if (connection !== undefined) describe(title, () => suite(connection));
  else if (process.env.REQUIRE_REDIS === '1') {
    describe(title, () => {
      it('needs Redis (REQUIRE_REDIS=1) but the global setup did not provide it', () => {
        throw new Error('Redis required but not available');
      });
    });
  } else {
    notRun(title, 'Redis is not available');
  }
}

/**
 * Says loudly that `title` is not run, and why, and registers in its place a test that
 * the reason holds: redis-server is not installed here. A file whose suites all need
 * Redis still holds a test (jest fails a file without any), the run's summary names
 * what was left out, and a machine that has redis-server but could not run it (the
 * global setup failed to start it) fails instead of passing quietly.
 */
export function notRun(title: string, reason: string): void {
  const line = `${title}: ${reason} (run "bash scripts/redis.sh install")`;
  // Straight to stderr: jest may drop the console output of a file.
  process.stderr.write(`!!! NOT RUN: ${line}\n`);
  it(`NOT RUN: ${line}; redis-server is indeed not installed`, () => {
    expect(haveRedisServer()).toBe(false);
  });
}

function kit(backend: BackendName, connection: RedisStoreOptions['connection'] | undefined): StoreKit {
  const opened: SharedStore[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });
  return {
    backend,
    connection,
    async open(count, options = {}) {
      const { leaseCheck, commandTimeoutMs, ...ttls } = options;
      let stores: SharedStore[];
      if (connection === undefined) {
        const memoryOptions: MemoryStoreOptions = ttls;
        const one = new MemorySharedStore(memoryOptions, { leaseCheck });
        stores = Array.from({ length: count }, () => one);
      } else {
        const prefix = `t${randomUUID().slice(0, 8)}`;
        stores = Array.from(
          { length: count },
          () => new RedisSharedStore({ ...ttls, connection, prefix, commandTimeoutMs }, { leaseCheck }),
        );
        await Promise.all(stores.map((s) => (s as RedisSharedStore).ready()));
      }
      opened.push(...new Set(stores));
      return stores;
    },
  };
}

/**
 * A Redis server of the calling test file's own (scripts/redis.sh with its own port and
 * directory), which the test may kill, pause and restart without disturbing the others.
 */
export function ownRedis(port: number): { run(sub: string): string; url: string } {
  const env = { ...process.env, PROXORM_REDIS_PORT: String(port), PROXORM_REDIS_DIR: `/tmp/proxorm-redis-${port}` };
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'redis.sh');
  return {
    url: `redis://127.0.0.1:${port}`,
    run: (sub) => execFileSync('bash', [script, sub], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
  };
}

/**
 * A 3-node Redis Cluster of the calling test file's own (scripts/redis.sh with its own
 * first port and directory), whose nodes the test may kill and restart one by one.
 */
export function ownCluster(firstPort: number): {
  run(sub: string, ...args: string[]): string;
  readonly nodes: string[];
  /** Connections subscribed to `channel` on each node, by port (PUBSUB NUMSUB is per node on a Cluster; 0 if down). */
  listeners(channel: string): Map<number, number>;
  /** Each node's cluster_state (`ok`, `fail`), or `down`, by port. */
  states(): Map<number, string>;
} {
  const env = {
    ...process.env,
    PROXORM_REDIS_CLUSTER_PORT: String(firstPort),
    PROXORM_REDIS_DIR: `/tmp/proxorm-redis-cluster-${firstPort}`,
  };
  const script = path.resolve(__dirname, '..', '..', 'scripts', 'redis.sh');
  const ports = [firstPort, firstPort + 1, firstPort + 2];
  const ask = (port: number, ...args: string[]): string | undefined => {
    try {
      return execFileSync('redis-cli', ['-p', String(port), ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch {
      return undefined; // down
    }
  };
  return {
    run: (sub, ...args) =>
      execFileSync('bash', [script, sub, ...args], { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    nodes: ports.map((p) => `127.0.0.1:${p}`),
    listeners: (channel) =>
      new Map(ports.map((p) => [p, Number(ask(p, 'pubsub', 'numsub', channel)?.trim().split('\n')[1] ?? 0)])),
    states: () =>
      new Map(ports.map((p) => [p, /cluster_state:(\w+)/.exec(ask(p, 'cluster', 'info') ?? '')?.[1] ?? 'down'])),
  };
}

/** Whether redis-server can be started here (the fault tests run their own). */
export function haveRedisServer(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v redis-server && command -v redis-cli'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Resolves once `check` is true, polling; rejects after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
