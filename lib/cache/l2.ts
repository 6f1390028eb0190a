import type { Key } from '../model/keys';
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
  private readonly byModel = new Map<string, ModelCacheStats>();

  constructor(readonly shared: SharedStore) {}

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
    return this.shared.subscribe((message) => {
      if (message.kind === 'reset') listener({ model: undefined, keys: 'all', source: 'remote' });
      else listener({ model: message.model, keys: message.keys, source: message.local ? 'local' : 'remote' });
    });
  }

  stats(): LevelStats {
    const total = emptyModelCacheStats();
    const byModel: Record<string, ModelCacheStats> = {};
    for (const [model, counters] of this.byModel) {
      byModel[model] = { ...counters };
      for (const name of Object.keys(total) as (keyof ModelCacheStats)[]) total[name] += counters[name];
    }
    return { total, byModel };
  }

  private of(model: string): ModelCacheStats {
    let counters = this.byModel.get(model);
    if (counters === undefined) this.byModel.set(model, (counters = emptyModelCacheStats()));
    return counters;
  }
}
