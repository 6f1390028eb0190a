import type { Key } from '../model/keys';

/**
 * The one interface of both cache levels (Drizzle's get / put / onMutate, for records):
 * L1, the per-Environment cache (synchronous, lib/cache/l1.ts), and L2, a store shared
 * across Environments and processes (asynchronous: in-process or Redis). The session
 * and the loader talk to a level through this interface, never to its maps.
 *
 * Contract:
 * - An entry is one record of one model, identified by (model, key): the values of the
 *   fields the store holds for it, or the fact that it does not exist (a missing mark).
 *   A cached `null` is a value. Values are what the decoder produced (x2many: frozen
 *   key lists); the store never sees a DataError.
 * - `getMany` answers what it holds of the asked fields; a key it lacks (or holds only
 *   some of the fields of) is a miss, for the caller to load.
 * - `putMany` takes what a reader loaded, with the lease of its observation: the time the
 *   load began (L1: the session clock; L2: the token `getMany` issued for the misses).
 *   An entry whose version moved since then (a write, an invalidation, a clear) is
 *   refused, whatever the order in which replies arrive: a load that began before an
 *   invalidation never puts its older value back. A put never replaces a held value.
 * - `invalidate` forgets entries, and moves their versions so that puts leased earlier
 *   are refused. It tells the store's subscribers (the source says who asked).
 * - `stats` is a snapshot of the level's counters, per model.
 */
export interface CacheStore<Lease, Async extends boolean> {
  readonly level: CacheLevel;
  getMany(model: string, keys: readonly Key[], fields: readonly string[]): Reply<Async, Found<Lease>>;
  putMany(model: string, batch: RecordBatch, lease: Lease): Reply<Async, PutOutcome>;
  invalidate(invalidation: Invalidation): Reply<Async, void>;
  /** Hears every invalidation this store applies (its own and, for L2, other processes'); returns the unsubscribe. */
  subscribe(listener: (invalidation: Invalidation) => void): () => void;
  stats(): LevelStats;
}

/** L1 answers synchronously, L2 with a promise. */
export type Reply<Async extends boolean, T> = Async extends true ? Promise<T> : T;

export type CacheLevel = 'l1' | 'l2';

/**
 * Records of one model in columns (the shape a load statement returns): `columns[i][j]`
 * is field `fields[i]` of record `keys[j]`. `missing` are keys known not to exist.
 * `skip(i, j)`, when given, leaves that cell out (a put only: a cell that did not decode).
 */
export interface RecordBatch {
  readonly fields: readonly string[];
  readonly keys: readonly Key[];
  readonly columns: readonly (readonly unknown[])[];
  readonly missing: readonly Key[];
  readonly skip?: (field: number, record: number) => boolean;
}

/** What `getMany` found: the hits as a batch (every asked field present), and the misses with their lease. */
export interface Found<Lease> {
  readonly hits: RecordBatch;
  readonly misses: readonly Key[];
  /** Hand it back to `putMany` with the loaded misses. */
  readonly lease: Lease;
}

export interface PutOutcome {
  /** Records (values or missing marks) the store took. */
  readonly stored: number;
  /** Records refused because their version moved since the lease (or because they were already held). */
  readonly refused: number;
}

/**
 * Entries to forget: some keys of a model, a whole model (`keys: 'all'`), or everything
 * (`model: undefined`). `source`: 'local' when this Environment (or process, for L2)
 * asked, 'remote' when it came from another process through L2.
 */
export interface Invalidation {
  readonly model: string | undefined;
  readonly keys: readonly Key[] | 'all';
  readonly source: 'local' | 'remote';
}

/** Counters of one level for one model (`env.stats.cache.l1.byModel[model]`). */
export interface ModelCacheStats {
  /** Field reads served from this level (L2: records served). */
  hits: number;
  /** Field reads (L2: records) this level could not serve. */
  misses: number;
  /** Load statements (L1) or getMany round trips (L2) that served misses of this model. */
  loads: number;
  /** Records put into this level (values or missing marks). */
  puts: number;
  /** Records dropped to keep the level under its size cap. */
  evictions: number;
  /** Records dropped because their time to live passed. */
  expirations: number;
  /** Records (keys named, or 1 for a whole model) invalidated in this level. */
  invalidations: number;
}

export interface LevelStats {
  /** The sums over every model. */
  readonly total: ModelCacheStats;
  readonly byModel: Readonly<Record<string, ModelCacheStats>>;
}

export function emptyModelCacheStats(): ModelCacheStats {
  return { hits: 0, misses: 0, loads: 0, puts: 0, evictions: 0, expirations: 0, invalidations: 0 };
}
