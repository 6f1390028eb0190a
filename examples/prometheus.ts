/**
 * Exporting `env.stats` as Prometheus metrics with prom-client: `registerProxormMetrics`
 * adds metrics to a registry whose collect() callbacks read a fresh snapshot at every
 * scrape (serve `registry.metrics()` on /metrics). Exported:
 * - the flat counters: `proxorm_queries_total`, `proxorm_hits_total`, ...;
 * - per level and model: `proxorm_cache_<counter>_total{level,model}` (hits, misses,
 *   loads, puts, evictions, expirations, invalidations; L2 also invalidations_received);
 * - `proxorm_cache_invalidation_latency_seconds{quantile}` (0.5, 0.99) and its max.
 *
 * Counters follow `env.stats`: `env.resetStats()` restarts the flat and L1 ones, which a
 * Prometheus server reads as a counter reset. Export the root Environment (or one
 * long-lived fork): a fork's L1 counters are its own; L2's are the pool's.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import { Environment, type LevelStats, type Stats } from '../lib';
import { User, type Log } from './models';

/** Every per-model counter of a level (L2 adds invalidationsReceived: its lines have level="l2" only). */
const PER_MODEL = [
  'hits',
  'misses',
  'loads',
  'puts',
  'evictions',
  'expirations',
  'invalidations',
  'invalidationsReceived',
] as const;

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A counter whose value is set at collect time from a total kept elsewhere (env.stats). */
function mirroredCounter<L extends string>(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly L[],
  read: () => [Partial<Record<L, string>>, number][],
): void {
  new Counter<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

export function registerProxormMetrics(env: Environment, registry: Registry): void {
  const flat: (keyof Stats)[] = ['queries', 'hits', 'misses', 'loads', 'loadedRecords'];
  for (const key of flat) {
    mirroredCounter(registry, `proxorm_${snake(key)}_total`, `env.stats.${key}`, [], () => [[{}, env.stats[key]]]);
  }

  const levels = (): [string, LevelStats][] => {
    const { l1, l2 } = env.stats.cache;
    return l2 === undefined
      ? [['l1', l1]]
      : [
          ['l1', l1],
          ['l2', l2],
        ];
  };
  for (const name of PER_MODEL) {
    mirroredCounter(
      registry,
      `proxorm_cache_${snake(name)}_total`,
      `env.stats.cache.<level>.byModel[model].${name}`,
      ['level', 'model'],
      () =>
        levels().flatMap(([level, stats]) =>
          Object.entries(stats.byModel).flatMap(([model, counters]) => {
            const value = new Map<string, number>(Object.entries(counters)).get(name);
            return value === undefined
              ? []
              : [[{ level, model }, value] as [Partial<Record<'level' | 'model', string>>, number]];
          }),
        ),
    );
  }

  new Gauge<'quantile'>({
    name: 'proxorm_cache_invalidation_latency_seconds',
    help: "From another process's invalidation to this pool's L1s dropping it, over the last 1,024",
    labelNames: ['quantile'],
    registers: [registry],
    collect() {
      this.reset();
      const latency = env.stats.cache.l2?.invalidationLatency;
      if (latency === undefined) return;
      this.set({ quantile: '0.5' }, latency.p50Ms / 1000);
      this.set({ quantile: '0.99' }, latency.p99Ms / 1000);
    },
  });
  new Gauge({
    name: 'proxorm_cache_invalidation_latency_max_seconds',
    help: 'The largest invalidation latency since the pool opened',
    registers: [registry],
    collect() {
      this.reset();
      const latency = env.stats.cache.l2?.invalidationLatency;
      if (latency !== undefined) this.set(latency.maxMs / 1000);
    },
  });
}

/** Reads users through a shared cache (in-process), then prints the metric lines of `user`. */
export async function run(log: Log): Promise<void> {
  const env = await Environment.open({ models: [User], cache: { shared: 'memory' } });
  await env.sync();
  await env.model(User).create(Array.from({ length: 20 }, (_, i) => ({ name: `User ${i}` })));
  for (let pass = 0; pass < 2; pass++) {
    const fork = env.fork(); // a "request": its own L1; the second one is served by L2
    for (const user of await fork.model(User).search([])) await user.name;
  }
  await env.model(User).browse(1).write({ status: 'vip' });
  await env.model(User).browse(1).status;

  const registry = new Registry();
  registerProxormMetrics(env, registry);
  const text = await registry.metrics();
  for (const line of text.split('\n'))
    if (/^proxorm_(queries|cache_\w+\{level="\w+",model="user"\})/.test(line)) log(line);
  await env.close();
}

if (require.main === module) run(console.log).catch((e) => (console.error(e), process.exit(1)));
