import type { EnvironmentEvents, EventBus } from '../db/events';
import type { Key } from '../model/keys';
import type { Clock } from './clock';
import { LevelCounters } from './counters';
import { GONE, Layer, MISS } from './layer';
import { Retention, type DropReason, type RetentionPolicy } from './retention';
import type { CacheStore, Found, Invalidation, LevelStats, PutOutcome, RecordBatch } from './store';

/**
 * L1: one Environment's record cache. The committed layer (under the Environment's cap
 * and TTLs) and one layer per open transaction level (see layer.ts), the clock their
 * versions run on, the level's counters, and its subscribers. Each scope reads and
 * fills through an L1Store over its own layer.
 */
export class L1 {
  readonly counters = new LevelCounters();
  readonly base: L1Store;
  private readonly listeners = new Set<(invalidation: Invalidation) => void>();
  // Drops not yet reported as cache:evict events, by reason and model (see dropped).
  private pendingDrops: Map<DropReason, Map<string, number>> | undefined;

  constructor(
    readonly clock: Clock,
    policy: RetentionPolicy | undefined,
    readonly events: EventBus<EnvironmentEvents>,
    /** The Environment the events name. */
    readonly env: object,
  ) {
    const layer = new Layer(undefined);
    if (policy) layer.retain(new Retention(policy, (model, id, reason) => this.dropped(layer, model, id, reason)));
    this.base = new L1Store(layer, this);
  }

  /** Hears every invalidation applied to this Environment's cache; returns the unsubscribe. */
  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Counts and reports an applied invalidation. */
  invalidated(invalidation: Invalidation): void {
    const { model, keys } = invalidation;
    const n = keys === 'all' ? 1 : keys.length;
    if (model !== undefined) this.counters.of(model).invalidations += n;
    else for (const m of this.counters.models()) this.counters.of(m).invalidations += 1;
    if (this.events.has('cache:invalidate'))
      this.events.emit('cache:invalidate', {
        env: this.env,
        level: 'l1',
        model,
        keys: keys === 'all' ? 'all' : keys.length,
        source: invalidation.source,
      });
    for (const listener of [...this.listeners]) listener(invalidation);
  }

  /**
   * The retention dropped a record from the committed layer: counted now, reported as
   * one cache:evict event per model and reason once the current job is done (a load
   * that evicts 1,000 records is one event, not 1,000).
   */
  private dropped(layer: Layer, model: string, id: Key, reason: DropReason): void {
    layer.evict(model, id);
    const counters = this.counters.of(model);
    if (reason === 'lru') counters.evictions++;
    else counters.expirations++;
    if (!this.events.has('cache:evict')) return;
    if (!this.pendingDrops) {
      this.pendingDrops = new Map();
      queueMicrotask(() => this.reportDrops());
    }
    let byModel = this.pendingDrops.get(reason);
    if (!byModel) this.pendingDrops.set(reason, (byModel = new Map<string, number>()));
    byModel.set(model, (byModel.get(model) ?? 0) + 1);
  }

  private reportDrops(): void {
    const pending = this.pendingDrops;
    this.pendingDrops = undefined;
    for (const [reason, byModel] of pending ?? [])
      for (const [model, count] of byModel)
        this.events.emit('cache:evict', { env: this.env, level: 'l1', model, count, reason });
  }
}

/** Readers of an ended transaction level see this: empty, nothing below it. */
const DETACHED = new Layer(undefined);

/**
 * L1 as seen from one scope (the committed state, or one transaction level): the
 * CacheStore of the level, plus the synchronous single-value read that field access
 * uses (no promise, no allocation: `get` is the hot path of every record read).
 *
 * Its lease is a time on the session clock: the time the load began, which the reader
 * holds on the clock until its put (Session.observing). A lease nobody holds protects
 * nothing: stamps older than every holder are pruned, and none is made while none runs.
 */
export class L1Store implements CacheStore<number, false> {
  readonly level = 'l1';

  constructor(
    /** This scope's layer: written by the writes of its level (record/writes.ts), merged by the session. */
    readonly layer: Layer,
    private readonly l1: L1,
  ) {}

  /** A store for a new transaction level above this one. */
  above(): L1Store {
    return new L1Store(new Layer(this.layer), this.l1);
  }

  /** The store of an ended level: it holds nothing, and sees nothing below. */
  detached(): L1Store {
    return new L1Store(DETACHED, this.l1);
  }

  /** The cached value, GONE (the record is known missing) or MISS. */
  get(model: string, field: string, id: Key): unknown {
    return this.layer.get(model, field, id);
  }

  isMissing(model: string, id: Key): boolean {
    return this.layer.isMissing(model, id);
  }

  /** See Layer.generationOf: moves when values were dropped because they (may have) changed. */
  generationOf(model: string): number {
    return this.layer.generationOf(model);
  }

  /** See Layer.evictionsOf: moves when the cap or a TTL dropped records of `model`. */
  evictionsOf(model: string): number {
    return this.layer.evictionsOf(model);
  }

  getMany(model: string, keys: readonly Key[], fields: readonly string[]): Found<number> {
    const hitKeys: Key[] = [];
    const columns: unknown[][] = fields.map(() => []);
    const missing: Key[] = [];
    const misses: Key[] = [];
    for (const id of keys) {
      const values = fields.map((f) => this.layer.get(model, f, id));
      if (values.some((v) => v === GONE)) missing.push(id);
      else if (values.some((v) => v === MISS)) misses.push(id);
      else {
        hitKeys.push(id);
        values.forEach((v, i) => columns[i].push(v));
      }
    }
    return { hits: { fields, keys: hitKeys, columns, missing }, misses, lease: this.l1.clock.now() };
  }

  /**
   * What a load that began at `since` (a clock time) found: fills entries nothing
   * changed since then, and nothing holds yet (Layer.fill). Counted as one load.
   */
  putMany(model: string, batch: RecordBatch, since: number): PutOutcome {
    const { fields, keys, columns, missing, skip } = batch;
    const taken = new Uint8Array(keys.length);
    fields.forEach((field, i) =>
      this.layer.fill(model, field, keys, columns[i], since, taken, skip && ((j) => skip(i, j))),
    );
    let stored = missing.length ? this.layer.fillMissing(model, missing, since) : 0;
    for (let j = 0; j < taken.length; j++) stored += taken[j];
    const counters = this.l1.counters.of(model);
    counters.loads++;
    counters.puts += stored;
    const count = keys.length + missing.length;
    if (this.l1.events.has('cache:load'))
      this.l1.events.emit('cache:load', { env: this.l1.env, level: 'l1', model, count });
    return { stored, refused: count - stored };
  }

  /**
   * Keeps the records of `keys` from being evicted or expiring until the returned
   * function is called: a load pins what it filled until its readers have read it.
   * Undefined when nothing would drop them (no cap and no TTL, or a transaction's layer).
   */
  pin(model: string, keys: readonly Key[]): (() => void) | undefined {
    return this.layer.retained?.pin(model, keys);
  }

  /** Forgets entries here and, for readers of this scope, in every layer below, at a new clock time. */
  invalidate(invalidation: Invalidation): void {
    const { model, keys } = invalidation;
    // Nothing to forget and nothing to fence: the committed layer holds none of the records,
    // and no load or transaction level is running (version stamps only fence those). A
    // shared-cache invalidation reaches every live fork of the pool, most of them idle (or
    // unreachable, not yet collected): for those it costs a lookup, not a stamp each.
    if (
      model !== undefined &&
      keys !== 'all' &&
      this.layer.parent === undefined &&
      this.l1.clock.idle() &&
      !this.layer.holdsAny(model, keys)
    ) {
      this.l1.invalidated(invalidation);
      return;
    }
    const time = this.l1.clock.tick();
    for (let layer: Layer | undefined = this.layer; layer; layer = layer.parent) {
      if (model === undefined) layer.clear(undefined, time);
      else if (keys === 'all') layer.clear(model, time);
      else layer.invalidate(model, keys, time);
    }
    this.l1.invalidated(invalidation);
  }

  subscribe(listener: (invalidation: Invalidation) => void): () => void {
    return this.l1.subscribe(listener);
  }

  stats(): LevelStats {
    return this.l1.counters.snapshot();
  }

  /** Counts reads of `model` this level served (the flat `env.stats.hits` is the session's). */
  hit(model: string, n: number): void {
    this.l1.counters.of(model).hits += n;
  }

  /** Counts a read of `model` that had to wait for a load. */
  miss(model: string): void {
    this.l1.counters.of(model).misses++;
  }
}
