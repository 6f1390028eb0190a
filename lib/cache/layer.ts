import { Versions } from './versions';
import type { Key } from '../model/keys';
import type { Retention } from './retention';

/** What a lookup found: a cached value, or one of these. */
export const MISS: unique symbol = Symbol('proxorm.miss');
export const GONE: unique symbol = Symbol('proxorm.gone');
type ByField = Map<string, Map<Key, unknown>>;

/**
 * One layer of an Environment's record cache, keyed field-first:
 * `Map<model, Map<field, Map<id, value>>>` ("which records lack field F" and "drop F"
 * are single map operations).
 *
 * The base layer holds what the Environment knows to be committed. Each open
 * transaction level has a layer of its own above its parent's: what it wrote and what
 * it loaded, visible only to code of that level, plus tombstones for what it made
 * stale below it. A level that commits is merged into its parent (`mergeInto`); one
 * that rolls back is dropped with its layer, and nothing below it changed.
 *
 * Contract:
 * - A present key is a loaded value; a cached `null` is a value. Within one layer a
 *   record is either missing (known not to exist) or has values, never both.
 * - Changes (writes, unlinks, invalidations) take a time from the session clock and
 *   stamp what they touched (see versions.ts); observations (loads) fill only entries
 *   that did not change since the load started, and never replace a present value.
 * - Lookups walk from a layer down to the base: a value or missing mark answers; a
 *   tombstone stops the walk with a miss.
 * - The base layer may have a Retention (L1's size cap and TTLs): it hears every record
 *   entering the base, every read of one, and every record the base forgets, and drops
 *   records (`evict`) to keep the cap and the TTLs. A dropped record was not changed: no
 *   version moves, and prefetch cursors go on (see evictionsOf). Transaction layers have
 *   none: nothing evicts what a transaction wrote or loaded before it ends.
 */
export class Layer {
  readonly versions = new Versions();
  // Bumped whenever values this layer held were dropped (see generationOf).
  private generationAll = 0;
  private readonly generations = new Map<string, number>();
  private readonly values = new Map<string, ByField>();
  private readonly missing = new Map<string, Set<Key>>();
  // Transaction layers only: tombstones over the layers below, and which records this
  // level changed (their entries merge as changes) or observed (merge if still fresh).
  private hiddenAll = false;
  private readonly hiddenModels = new Set<string>();
  private readonly hiddenFields = new Map<string, Set<string>>();
  private readonly hiddenRecords = new Map<string, Set<Key>>();
  private readonly changed = new Map<string, Set<Key>>();
  private readonly observedSince = new Map<string, Map<Key, number>>();
  // Base layer only: records dropped by the retention, by model (see evictionsOf).
  private readonly evictions = new Map<string, number>();
  private retention: Retention | undefined;

  constructor(readonly parent: Layer | undefined) {}

  /** The base layer's retention, if any (see retention.ts). */
  get retained(): Retention | undefined {
    return this.retention;
  }

  /** Puts the base layer under a size cap and TTLs (once, before anything is cached). */
  retain(retention: Retention): void {
    if (this.parent) throw new Error('only the base layer has a retention');
    this.retention = retention;
  }

  /** The value of a field as seen from this layer, or MISS, or GONE (record known missing). */
  get(model: string, field: string, id: Key): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let layer: Layer | undefined = this;
    while (layer) {
      const byId = layer.values.get(model)?.get(field);
      if (byId !== undefined && byId.has(id)) {
        // Read from the base under a retention: the record becomes recent, or turns out expired.
        if (layer.retention !== undefined && !layer.retention.touch(model, id)) return MISS;
        return byId.get(id);
      }
      if (layer.missing.get(model)?.has(id))
        return layer.retention !== undefined && !layer.retention.touch(model, id) ? MISS : GONE;
      if (layer.parent === undefined || layer.hides(model, field, id)) return MISS;
      layer = layer.parent;
    }
    return MISS;
  }

  isMissing(model: string, id: Key): boolean {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let layer: Layer | undefined = this;
    while (layer) {
      if (layer.missing.get(model)?.has(id)) return layer.retention === undefined || layer.retention.touch(model, id);
      if (layer.parent === undefined || layer.hidesRecord(model, id) || layer.changed.get(model)?.has(id)) return false;
      layer = layer.parent;
    }
    return false;
  }

  /** Whether this layer itself (not the ones below) holds a value. */
  has(model: string, field: string, id: Key): boolean {
    return this.values.get(model)?.get(field)?.has(id) ?? false;
  }

  /**
   * Changes whenever values of `model` held in this layer were dropped (a clear, an
   * invalidation, a dropped relation field): prefetch cursors and related sets over
   * the model start again from the top, since records behind them may lack fields again.
   */
  generationOf(model: string): number {
    return this.generationAll + (this.generations.get(model) ?? 0);
  }

  /**
   * Records of `model` the base below (or at) this layer dropped for its cap or TTL so
   * far. Unlike a change, an eviction does not restart prefetch cursors from the top (a
   * scan evicts what it left behind: starting over would load that again); a cursor
   * that reached the end of its set wraps around once when this moved since it started.
   */
  evictionsOf(model: string): number {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let layer: Layer = this;
    while (layer.parent) layer = layer.parent;
    return layer.evictions.get(model) ?? 0;
  }

  /** The retention dropped a record (its values and missing mark) from this base layer. */
  evict(model: string, id: Key): void {
    this.missing.get(model)?.delete(id);
    this.forgetValues(model, id);
    this.evictions.set(model, (this.evictions.get(model) ?? 0) + 1);
  }

  private dropped(model: string): void {
    this.generations.set(model, (this.generations.get(model) ?? 0) + 1);
  }

  /** How many records this layer itself holds a value of `field` for. */
  size(model: string, field: string): number {
    return this.values.get(model)?.get(field)?.size ?? 0;
  }

  // ---- observations: what a load that started at `since` found ----

  /**
   * Fills loaded values where nothing changed since the load started and nothing is
   * cached; sets `taken[j]` for each value it took.
   */
  fill(
    model: string,
    field: string,
    ids: readonly Key[],
    values: readonly unknown[],
    since: number,
    taken?: Uint8Array,
    skip?: (j: number) => boolean,
  ): void {
    const byId = this.fieldMap(model, field);
    const missing = this.missing.get(model);
    for (let j = 0; j < ids.length; j++) {
      const id = ids[j];
      if (byId.has(id) || missing?.has(id) || (skip && skip(j)) || this.versions.changedSince(model, field, id, since))
        continue;
      this.retention?.add(model, id);
      byId.set(id, values[j]);
      if (taken) taken[j] = 1;
      if (this.parent) this.observe(model, id, since);
    }
  }

  /** Marks records a load did not find as missing, unless they changed since it started; how many it marked. */
  fillMissing(model: string, ids: readonly Key[], since: number): number {
    const fresh = ids.filter((id) => !this.versions.recordChangedSince(model, id, since));
    if (fresh.length === 0) return 0;
    this.setMissing(model, fresh);
    if (this.parent) for (const id of fresh) this.observe(model, id, since);
    return fresh.length;
  }

  /** An observation merged from a committed child level, checked against this layer's versions already. */
  private putObserved(model: string, field: string, id: Key, value: unknown, since: number): void {
    const byId = this.fieldMap(model, field);
    if (byId.has(id) || this.missing.get(model)?.has(id)) return;
    this.retention?.add(model, id);
    byId.set(id, value);
    if (this.parent) this.observe(model, id, since);
  }

  private putObservedMissing(model: string, id: Key, since: number): void {
    this.setMissing(model, [id]);
    if (this.parent) this.observe(model, id, since);
  }

  // ---- changes, at `time` on the session clock ----

  /** Sets written values (the statement succeeded at this level). */
  put(model: string, field: string, id: Key, value: unknown): void {
    this.retention?.add(model, id);
    this.fieldMap(model, field).set(id, value);
  }

  /**
   * Records that `ids` changed at `time`: their entries at this layer are changes (a
   * merge applies them as such) and loads that started before `time` skip them. Call
   * after the put()s of a write; a write proves the records exist.
   */
  touch(model: string, ids: Iterable<Key>, time: number): void {
    const list = [...ids];
    const missing = this.missing.get(model);
    for (const id of list) {
      if (missing?.delete(id)) continue;
      // Missing below but written here (an id the database reused): hide the mark.
      if (this.parent?.isMissing(model, id)) this.add(this.hiddenRecords, model, id);
    }
    this.versions.stampRecords(model, list, time);
    if (this.parent) for (const id of list) this.add(this.changed, model, id);
  }

  markMissing(model: string, ids: Iterable<Key>, time: number): void {
    const list = [...ids];
    this.setMissing(model, list);
    this.versions.stampRecords(model, list, time);
    if (this.parent) for (const id of list) this.add(this.changed, model, id);
  }

  /** Forgets records (values and missing marks) here and, for readers of this layer, below. */
  invalidate(model: string, ids: Iterable<Key>, time: number): void {
    const list = [...ids];
    const missing = this.missing.get(model);
    let forgot = false;
    for (const id of list) {
      if (missing?.delete(id)) forgot = true;
      if (this.forgetValues(model, id)) forgot = true;
      this.retention?.forget(model, id);
      if (this.parent) this.add(this.hiddenRecords, model, id);
    }
    if (forgot) this.dropped(model);
    this.versions.stampRecords(model, list, time);
  }

  /** Whether this layer holds a value or a missing mark of any of the records. */
  holdsAny(model: string, ids: readonly Key[]): boolean {
    const missing = this.missing.get(model);
    const byField = this.values.get(model);
    if (!missing?.size && !byField) return false;
    for (const id of ids) {
      if (missing?.has(id)) return true;
      if (byField) for (const byId of byField.values()) if (byId.has(id)) return true;
    }
    return false;
  }

  /** Forgets one field of a model for every record. */
  dropField(model: string, field: string, time: number): void {
    const byField = this.values.get(model);
    if (byField?.get(field)?.size) this.dropped(model);
    byField?.delete(field);
    if (this.parent) {
      let set = this.hiddenFields.get(model);
      if (!set) this.hiddenFields.set(model, (set = new Set()));
      set.add(field);
    }
    this.versions.stampField(model, field, time);
  }

  /** Forgets one model, or everything. */
  clear(model: string | undefined, time: number): void {
    this.retention?.forgetAll(model);
    if (model === undefined) {
      this.generationAll++;
      this.values.clear();
      this.missing.clear();
      this.changed.clear();
      this.observedSince.clear();
      this.hiddenRecords.clear();
      this.hiddenFields.clear();
      this.hiddenModels.clear();
      if (this.parent) this.hiddenAll = true;
      this.versions.stampAll(time);
      return;
    }
    this.dropped(model);
    this.values.delete(model);
    this.missing.delete(model);
    this.changed.delete(model);
    this.observedSince.delete(model);
    this.hiddenRecords.delete(model);
    this.hiddenFields.delete(model);
    if (this.parent) this.hiddenModels.add(model);
    this.versions.stampModel(model, time);
  }

  // ---- end of a transaction level ----

  /**
   * The level, which began at `since`, committed at `time`. Its tombstones apply to
   * `parent` as changes at that time. Its changes do too, except for records that
   * `parent` saw change after `since`: another level of this session committed a change
   * to them while this one ran, on another connection, and the order of two COMMITs is
   * not the order of their replies (InnoDB releases locks before it flushes its log), so
   * those are forgotten rather than guessed. Its observations fill `parent` where still
   * fresh there (checked against the parent's versions as they were before this merge),
   * counting from `snapshot` at the latest: under REPEATABLE READ a load inside a
   * transaction reads the transaction's snapshot, which may be older than the load.
   */
  mergeInto(parent: Layer, time: number, since: number, snapshot: number): void {
    const clashes = new Map<string, Set<Key>>();
    for (const [model, ids] of this.changed) {
      for (const id of ids) if (parent.versions.recordChangedSince(model, id, since)) this.add(clashes, model, id);
    }
    const observations: Array<() => void> = [];
    for (const [model, byField] of this.values) {
      const changed = this.changed.get(model);
      for (const [field, byId] of byField) {
        for (const [id, value] of byId) {
          if (changed?.has(id)) continue;
          const seen = Math.min(this.observedSince.get(model)?.get(id) ?? -1, snapshot);
          if (!parent.versions.changedSince(model, field, id, seen))
            observations.push(() => parent.putObserved(model, field, id, value, seen));
        }
      }
    }
    for (const [model, ids] of this.missing) {
      const changed = this.changed.get(model);
      for (const id of ids) {
        if (changed?.has(id)) continue;
        const seen = Math.min(this.observedSince.get(model)?.get(id) ?? -1, snapshot);
        if (!parent.versions.recordChangedSince(model, id, seen))
          observations.push(() => parent.putObservedMissing(model, id, seen));
      }
    }
    this.applyTombstones(parent, time);
    for (const [model, ids] of this.changed) {
      const clash = clashes.get(model);
      if (clash) parent.invalidate(model, clash, time);
      const own = [...ids].filter((id) => !clash?.has(id));
      const missing = this.missing.get(model);
      const gone = own.filter((id) => missing?.has(id));
      if (gone.length) parent.markMissing(model, gone, time);
      const present = own.filter((id) => !missing?.has(id));
      for (const [field, byId] of this.values.get(model) ?? []) {
        for (const id of present) if (byId.has(id)) parent.put(model, field, id, byId.get(id));
      }
      parent.touch(model, present, time);
    }
    for (const put of observations) put();
  }

  /**
   * The level ended with an unknown outcome (its COMMIT failed on a lost connection):
   * everything it touched is forgotten in `parent`, which then loads it again.
   */
  forgetIn(parent: Layer, time: number): void {
    this.applyTombstones(parent, time);
    for (const source of [this.changed, this.missing])
      for (const [model, ids] of source) parent.invalidate(model, ids, time);
    for (const [model, byField] of this.values)
      for (const byId of byField.values()) parent.invalidate(model, byId.keys(), time);
  }

  private applyTombstones(parent: Layer, time: number): void {
    if (this.hiddenAll) parent.clear(undefined, time);
    for (const model of this.hiddenModels) parent.clear(model, time);
    for (const [model, fields] of this.hiddenFields) for (const f of fields) parent.dropField(model, f, time);
    for (const [model, ids] of this.hiddenRecords) parent.invalidate(model, ids, time);
  }

  private hides(model: string, field: string, id: Key): boolean {
    return (
      this.hiddenAll ||
      this.hiddenModels.has(model) ||
      (this.hiddenFields.get(model)?.has(field) ?? false) ||
      (this.hiddenRecords.get(model)?.has(id) ?? false)
    );
  }

  private hidesRecord(model: string, id: Key): boolean {
    return this.hiddenAll || this.hiddenModels.has(model) || (this.hiddenRecords.get(model)?.has(id) ?? false);
  }

  private setMissing(model: string, ids: readonly Key[]): void {
    let set = this.missing.get(model);
    if (!set) this.missing.set(model, (set = new Set()));
    for (const id of ids) {
      this.retention?.add(model, id);
      set.add(id);
      this.forgetValues(model, id);
    }
  }

  private observe(model: string, id: Key, since: number): void {
    let byId = this.observedSince.get(model);
    if (!byId) this.observedSince.set(model, (byId = new Map<Key, number>()));
    const before = byId.get(id);
    if (before === undefined || since < before) byId.set(id, since);
  }

  private fieldMap(model: string, field: string): Map<Key, unknown> {
    let byField = this.values.get(model);
    if (!byField) this.values.set(model, (byField = new Map<string, Map<Key, unknown>>()));
    let byId = byField.get(field);
    if (!byId) byField.set(field, (byId = new Map<Key, unknown>()));
    return byId;
  }

  /** Forgets the record's values here; whether there were any. */
  private forgetValues(model: string, id: Key): boolean {
    const byField = this.values.get(model);
    let forgot = false;
    if (byField) for (const byId of byField.values()) if (byId.delete(id)) forgot = true;
    return forgot;
  }

  private add(target: Map<string, Set<Key>>, model: string, id: Key): void {
    let set = target.get(model);
    if (!set) target.set(model, (set = new Set()));
    set.add(id);
  }
}
