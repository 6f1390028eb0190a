import type { Key } from '../model/keys';
import { levelStatsText } from './counters';
import { LatencyReservoir, wallClockMs, type LatencySummary } from './latency';
import type { Entry, Lease, LockId, Put, SharedStore } from './shared/types';
import {
  emptyModelCacheStats,
  type CacheStore,
  type Found,
  type Invalidation,
  type LevelStats,
  type ModelCacheStats,
  type PutOutcome,
  type RecordBatch,
} from './store';

/**
 * A model's counters at L2: `invalidations` counts the records this pool invalidated
 * (sent to the others), `invalidationsReceived` those named by other processes'
 * invalidations this pool heard (1 for a whole model, as `invalidations`).
 */
export interface L2ModelStats extends ModelCacheStats {
  invalidationsReceived: number;
}

/** `env.stats.cache.l2`: the pool's counters per model, and how fast others' invalidations reached it. */
export interface L2Stats extends LevelStats {
  readonly total: L2ModelStats;
  readonly byModel: Readonly<Record<string, L2ModelStats>>;
  /**
   * From another process publishing an invalidation (after its commit) to this process
   * having dropped the records from the L1 of each of its live Environments.
   */
  readonly invalidationLatency: LatencySummary;
}

/** L2's lease: the shared store's lease of each miss. A miss without one was bypassed: its put is refused. */
export type L2Lease = ReadonlyMap<Key, Lease>;

/**
 * L2 as a CacheStore (store.ts): a shared store (shared/types.ts: in-process or Redis)
 * in the batch shape the loader speaks. One entry per record holds its prefetchable
 * fields; a record whose entry lacks an asked field is a miss. Missing marks are not
 * shared (a put of one is refused): the database answers "no such record".
 *
 * Writes go through `lock` before the statement and `release` after the outermost
 * commit (invalidates and publishes) or rollback (unlocks only); see shared/types.ts.
 */
export class L2Store implements CacheStore<L2Lease, true> {
  readonly level = 'l2';
  private readonly byModel = new Map<string, L2ModelStats>();
  private readonly latency = new LatencyReservoir();
  private readonly listeners = new Set<(invalidation: Invalidation) => void>();

  constructor(readonly shared: SharedStore) {
    // One subscription for every listener: a remote invalidation is counted once, and its
    // latency measured after the listeners (the pool's L1s) have dropped its records.
    shared.subscribe((message) => {
      const invalidation: Invalidation =
        message.kind === 'reset'
          ? { model: undefined, keys: 'all', source: 'remote' }
          : { model: message.model, keys: message.keys, source: message.local ? 'local' : 'remote' };
      let failed = false;
      for (const listener of [...this.listeners]) {
        try {
          listener(invalidation);
        } catch {
          failed = true; // the other listeners still hear it
        }
      }
      if (failed) throw new Error('an L2 invalidation listener failed'); // the store counts it in errors
      if (message.kind === 'reset' || message.local) return;
      this.latency.record(wallClockMs() - message.sentAt);
      if (message.model !== undefined)
        this.of(message.model).invalidationsReceived += message.keys === 'all' ? 1 : message.keys.length;
    });
  }

  async getMany(model: string, keys: readonly Key[], fields: readonly string[]): Promise<Found<L2Lease>> {
    const { hits, leases } = await this.shared.getMany(model, keys);
    const found: Key[] = [];
    const entries: Entry[] = [];
    const misses: Key[] = [];
    for (const key of keys) {
      const entry = hits.get(key);
      if (entry !== undefined && fields.every((f) => Object.hasOwn(entry, f))) {
        found.push(key);
        entries.push(entry);
      } else {
        misses.push(key);
      }
    }
    const counters = this.of(model);
    counters.loads++;
    counters.hits += found.length;
    counters.misses += misses.length;
    const columns = fields.map((f) => entries.map((entry) => entry[f]));
    return { hits: { fields, keys: found, columns, missing: [] }, misses, lease: leases };
  }

  async putMany(model: string, batch: RecordBatch, lease: L2Lease): Promise<PutOutcome> {
    const puts: Put[] = [];
    batch.keys.forEach((key, j) => {
      const granted = lease.get(key);
      if (granted === undefined) return;
      const cells: [string, unknown][] = [];
      batch.fields.forEach((field, i) => {
        if (!batch.skip?.(i, j)) cells.push([field, batch.columns[i][j]]);
      });
      puts.push({ key, entry: Object.fromEntries(cells), lease: granted });
    });
    const stored = puts.length === 0 ? 0 : await this.shared.putMany(model, puts);
    this.of(model).puts += stored;
    return { stored, refused: batch.keys.length + batch.missing.length - stored };
  }

  async invalidate(invalidation: Invalidation): Promise<void> {
    const { model, keys } = invalidation;
    if (model === undefined || keys === 'all') await this.shared.invalidateAll(model);
    else await this.shared.invalidate(model, keys);
    if (model !== undefined) this.of(model).invalidations += keys === 'all' ? 1 : keys.length;
  }

  /** Before a write's statement: soft-locks its records (readers bypass them, puts are refused). */
  lock(model: string, keys: readonly Key[]): Promise<LockId> {
    return this.shared.lock(model, keys);
  }

  /**
   * After the outermost commit (`committed`): invalidates the records, publishes, and
   * releases the lock. After a rollback: releases the lock only.
   */
  async release(model: string, keys: readonly Key[], lock: LockId, committed: boolean): Promise<void> {
    if (!committed) return this.shared.unlock(model, keys, lock);
    await this.shared.invalidate(model, keys, lock);
    this.of(model).invalidations += keys.length;
  }

  /**
   * Hears every invalidation of the shared store, this process's own (`local`) and
   * others' (`remote`). A lost channel is heard as "everything" (model undefined, 'all'):
   * what was cached before cannot be proven fresh.
   */
  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): L2Stats {
    const total = emptyL2ModelStats();
    const byModel: Record<string, L2ModelStats> = {};
    for (const [model, counters] of this.byModel) {
      byModel[model] = { ...counters };
      for (const name of Object.keys(total) as (keyof L2ModelStats)[]) total[name] += counters[name];
    }
    return { total, byModel, invalidationLatency: this.latency.snapshot() };
  }

  private of(model: string): L2ModelStats {
    let counters = this.byModel.get(model);
    if (counters === undefined) this.byModel.set(model, (counters = emptyL2ModelStats()));
    return counters;
  }
}

/** statsText's L2 lines: one per model (levelStatsText), then the invalidation latency. */
export function l2StatsText(stats: L2Stats): string[] {
  const { count, p50Ms, p99Ms, maxMs } = stats.invalidationLatency;
  const ms = (n: number) => `${n.toFixed(2)}ms`;
  return [
    ...levelStatsText('l2', stats),
    `l2 invalidation-latency received=${count} p50=${ms(p50Ms)} p99=${ms(p99Ms)} max=${ms(maxMs)}`,
  ];
}

function emptyL2ModelStats(): L2ModelStats {
  return { ...emptyModelCacheStats(), invalidationsReceived: 0 };
}
