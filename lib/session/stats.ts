/** Counters of one Environment, read through `env.stats` (a snapshot). */
export interface Stats {
  /** SQL statements sent (transaction control statements are not counted). */
  queries: number;
  /** Field reads served from the cache. */
  hits: number;
  /** Field reads that had to wait for a load (their own, or one already in flight). */
  misses: number;
  /** Load statements run to serve misses and prefetch() (included in `queries`). */
  loads: number;
  /** Records whose values those loads brought into the cache. */
  loadedRecords: number;
}

export function emptyStats(): Stats {
  return { queries: 0, hits: 0, misses: 0, loads: 0, loadedRecords: 0 };
}
