/** What every example shares: how it prints, and how it counts statements. */
import type { Environment } from '../lib';

/** What an example prints: one line at a time (console.log, or collected by the test). */
export type Log = (line: string) => void;

/** Runs `fn` in `env` and logs how many SQL statements it took. */
export async function counted<T>(env: Environment, log: Log, title: string, fn: () => Promise<T>): Promise<T> {
  const before = env.stats.queries;
  const out = await fn();
  const n = env.stats.queries - before;
  log(`[${title}] ${n} ${n === 1 ? 'query' : 'queries'}`);
  return out;
}
