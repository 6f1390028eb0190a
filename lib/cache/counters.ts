import { emptyModelCacheStats, type CacheLevel, type LevelStats, type ModelCacheStats } from './store';

/** The live counters of one cache level, per model; `snapshot` copies them for `env.stats`. */
export class LevelCounters {
  private readonly byModel = new Map<string, ModelCacheStats>();
  // The last model asked for: a loop counts one model's hits over and over, and this
  // spares each field read a map lookup.
  private lastModel: string | undefined;
  private last: ModelCacheStats | undefined;

  /** The counters of `model` (created at its first event). */
  of(model: string): ModelCacheStats {
    if (model === this.lastModel) return this.last!;
    let c = this.byModel.get(model);
    if (c === undefined) this.byModel.set(model, (c = emptyModelCacheStats()));
    this.lastModel = model;
    this.last = c;
    return c;
  }

  /** Models with counters so far. */
  models(): IterableIterator<string> {
    return this.byModel.keys();
  }

  snapshot(): LevelStats {
    const total = emptyModelCacheStats();
    const byModel: Record<string, ModelCacheStats> = {};
    for (const [model, c] of this.byModel) {
      byModel[model] = { ...c };
      for (const k of COUNTERS) total[k] += c[k];
    }
    return { total, byModel };
  }

  reset(): void {
    this.byModel.clear();
    this.lastModel = this.last = undefined;
  }
}

const COUNTERS = Object.keys(emptyModelCacheStats()) as (keyof ModelCacheStats)[];

/**
 * One line per model of a level (every counter it has: L2 has more), for a log: `l1 customer hits=10 misses=2 ...`. Model
 * names and counts only, never keys or values.
 */
export function levelStatsText(level: CacheLevel, stats: LevelStats): string[] {
  return Object.entries(stats.byModel).map(
    ([model, c]) =>
      `${level} ${model} ${Object.entries(c)
        .map(([k, n]) => `${k}=${String(n)}`)
        .join(' ')}`,
  );
}
