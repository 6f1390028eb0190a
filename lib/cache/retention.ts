import { LRUCache } from 'lru-cache';
import type { Key } from '../model/keys';

/** Why a record left the committed layer without being changed: its slot was needed, or its time passed. */
export type DropReason = 'lru' | 'ttl';

/** What L1 keeps and for how long: resolved from `open({ cache })` and `@Model({ cache })`. */
export interface RetentionPolicy {
  /** Most records (of every model together) the committed layer holds; undefined: no cap. */
  readonly maxRecords: number | undefined;
  /** Time to live of a record's cached values, in ms, by model name (absent: no TTL). */
  readonly ttls: ReadonlyMap<string, number>;
}

/**
 * Test hook: the clock TTLs are measured on (ms), read when a retention is created.
 * Undefined: `performance.now()`.
 */
export const retentionHooks: { now: (() => number) | undefined } = { now: undefined };

/** One record of one model, as the LRU list knows it (created once per record held). */
interface Ref {
  readonly model: string;
  readonly id: Key;
}

// lru-cache's get() writes a `status` property into its options argument: passing one
// object keeps a read from allocating a fresh one.
const GET_OPTIONS = {};

/**
 * The record-granular recency and age of an Environment's committed layer (L1), through
 * `lru-cache`: which records to drop to stay under the cap (least recently read or
 * filled first), and which have outlived their model's TTL.
 *
 * Contract:
 * - A record is the unit: (model, key) with every field of it cached, its x2many lists
 *   and its missing mark. Dropping it drops all of those.
 * - `add` is called before a value or missing mark enters the layer; it may drop other
 *   records (the cap) or this one's older values (its TTL passed: they go, the new value
 *   starts a new life). `touch` on each read of a held record: false when its TTL passed
 *   (it was just dropped). `forget` when the layer itself forgot the record.
 * - Drops are reported to `onDrop` synchronously, during the call that caused them;
 *   records the layer forgot itself (`forget`) are not reported.
 * - A pinned record (`pin`: a load just filled it, and its readers have not run yet)
 *   is not dropped: its drop waits for the last unpin, and reads serve it meanwhile. So
 *   a reader always gets what its own load brought, however small the TTL or however
 *   many records one batch loads; the cap may be exceeded by what is pinned.
 * - Only the committed layer has a retention: what a transaction wrote or loaded is in
 *   its own layer, which nothing evicts.
 * - Models with no TTL are not tracked at all when there is no cap.
 */
export class Retention {
  private readonly refs = new Map<string, Map<Key, Ref>>();
  private readonly lru: LRUCache<Ref, Ref>;
  private readonly pins = new Map<Ref, number>();
  // Pinned records the cap or their TTL dropped from the LRU list: dropped at the last unpin.
  private readonly deferred = new Map<Ref, DropReason>();

  constructor(
    private readonly policy: RetentionPolicy,
    private readonly onDrop: (model: string, id: Key, reason: DropReason) => void,
  ) {
    const now = retentionHooks.now;
    this.lru = new LRUCache<Ref, Ref>({
      // maxSize counts entries without preallocating `max` slots (the cap may be large).
      maxSize: policy.maxRecords ?? Number.MAX_SAFE_INTEGER,
      sizeCalculation: () => 1,
      dispose: (ref, _key, reason) => {
        if (reason !== 'evict' && reason !== 'expire') return; // 'delete': the layer forgot it first
        const why = reason === 'evict' ? 'lru' : 'ttl';
        if (this.pins.has(ref)) this.deferred.set(ref, why);
        else this.drop(ref, why);
      },
      ...(now ? { perf: { now }, ttlResolution: 0 } : {}),
    });
  }

  /** Whether records of `model` are tracked at all. */
  tracks(model: string): boolean {
    return this.policy.maxRecords !== undefined || this.policy.ttls.has(model);
  }

  /** A value or missing mark of the record is about to enter the layer. */
  add(model: string, id: Key): void {
    if (!this.tracks(model)) return;
    let byId = this.refs.get(model);
    if (!byId) this.refs.set(model, (byId = new Map<Key, Ref>()));
    const ref = byId.get(id);
    // A pinned record whose drop waits is filled again: it goes back to the list.
    if (ref !== undefined && this.deferred.delete(ref)) {
      this.lru.set(ref, ref, { ttl: this.policy.ttls.get(model) ?? 0 });
      return;
    }
    // A held record is only touched: its life counts from its first value. A get that
    // finds it expired drops it (through dispose), and it starts again below.
    if (ref !== undefined && this.lru.get(ref, GET_OPTIONS) !== undefined) return;
    const fresh: Ref = { model, id };
    byId.set(id, fresh);
    this.lru.set(fresh, fresh, { ttl: this.policy.ttls.get(model) ?? 0 });
  }

  /** A held record was read: it becomes the most recent; false if its TTL passed (it was dropped). */
  touch(model: string, id: Key): boolean {
    const ref = this.refs.get(model)?.get(id);
    return ref === undefined || this.lru.get(ref, GET_OPTIONS) !== undefined || this.deferred.has(ref);
  }

  /**
   * Holds the records of `ids` held now until the returned function is called (once):
   * the loader pins what a load filled until the load's readers have read it.
   */
  pin(model: string, ids: readonly Key[]): () => void {
    const byId = this.refs.get(model);
    if (!byId) return () => undefined;
    const pinned: Ref[] = [];
    for (const id of ids) {
      const ref = byId.get(id);
      if (ref === undefined) continue;
      this.pins.set(ref, (this.pins.get(ref) ?? 0) + 1);
      pinned.push(ref);
    }
    return () => {
      for (const ref of pinned) {
        const n = this.pins.get(ref)! - 1;
        if (n > 0) {
          this.pins.set(ref, n);
          continue;
        }
        this.pins.delete(ref);
        const why = this.deferred.get(ref);
        if (why === undefined) continue;
        this.deferred.delete(ref);
        this.drop(ref, why);
      }
    };
  }

  /** The layer forgot the record (invalidated, written as missing, cleared). */
  forget(model: string, id: Key): void {
    const byId = this.refs.get(model);
    const ref = byId?.get(id);
    if (ref === undefined) return;
    byId!.delete(id);
    this.deferred.delete(ref);
    this.lru.delete(ref);
  }

  /** The layer forgot every record of `model`, or every record. */
  forgetAll(model: string | undefined): void {
    for (const [name, byId] of this.refs) {
      if (model !== undefined && name !== model) continue;
      for (const ref of byId.values()) {
        this.deferred.delete(ref);
        this.lru.delete(ref);
      }
      this.refs.delete(name);
    }
  }

  /** Records held (for tests and the benchmark). */
  get size(): number {
    return this.lru.size;
  }

  private drop(ref: Ref, why: DropReason): void {
    const byId = this.refs.get(ref.model);
    if (byId?.get(ref.id) === ref) byId.delete(ref.id);
    this.onDrop(ref.model, ref.id, why);
  }
}
