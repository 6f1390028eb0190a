import type { Key } from '../model/keys';
import { DataError, MissingError } from '../errors';
import { isX2many, type FieldDef } from '../model/field-types';
import type { ModelSchema } from '../model/schema';
import { parseOrder } from '../model/order';
import { inverseOf, relationOf, targetOf } from '../model/relations';
import { CHUNK, loadMany2many, loadOne2many, loadRows } from '../query/statements';
import type { Clock } from '../cache/clock';
import type { L1Store } from '../cache/l1';
import type { L2Lease } from '../cache/l2';
import { GONE, MISS } from '../cache/layer';
import { membersOf, type PrefetchSource } from './prefetch-set';
import type { Scope } from './scope';
import type { SharedCache } from './shared-cache';
import type { Stats } from './stats';

/**
 * Serves cache misses, DataLoader-style, with Odoo's prefetch sets.
 *
 * Contract:
 * - Misses requested in the same tick, for the same model and scope, are gathered into
 *   one batch, flushed after the current promise jobs have run (as DataLoader does):
 *   `Promise.all(records.map(r => r.name))` sends one statement per 1,000 ids.
 * - A miss for a (field, id) that a running load already covers waits for that load
 *   instead of sending another statement.
 * - In 'record' mode a batch loads every prefetchable field, and tops its id list up
 *   to 1,000 with records of the requester's prefetch set that lack the requested
 *   field; in 'fields' mode it loads only the requested fields of the requested ids; in
 *   'relation' mode it loads one x2many field (per field a batch), topped up likewise.
 *   A top-up resumes where the previous one over the same set stopped, so a loop over
 *   N records costs O(N) in all, not O(N) per statement.
 * - A load fills the scope's cache layer only with entries that did not change since
 *   it started (see layer.ts): a write, unlink, invalidation or clear that happened
 *   while it was in flight wins. A reader whose entry was not filled for that reason
 *   loads it again.
 * - Ids the database does not return are marked missing; their readers get a
 *   MissingError while the other readers of the batch get their values. A cell that
 *   does not decode (DataError) is not cached; only its readers get the error.
 * - A failed statement rejects every reader of its batch and caches nothing from it.
 * - Under a size cap or a TTL, what a load filled is pinned (neither evicted nor
 *   expired) until its readers have run: the readers of a batch, or the code awaiting
 *   prefetch() up to its next I/O. A reader never loads again what its load brought.
 */
export type LoadMode = 'record' | 'fields' | 'relation';

/** Cells of a load that did not decode, by field name and id. */
type CellErrors = Map<string, Map<Key, DataError>>;

interface Batch {
  readonly schema: ModelSchema;
  readonly scope: Scope;
  readonly mode: LoadMode;
  /** Requested ids, in request order, with the fields asked of each. */
  readonly requests: Map<Key, Set<FieldDef>>;
  /** Prefetch sets of the requesters, with the fields asked against each. */
  readonly prefetchSets: Map<PrefetchSource, Set<FieldDef>>;
  readonly errors: CellErrors;
  /** Unpins what the batch's loads filled (see L1Store.pin): called once its readers ran. */
  readonly unpins: Array<() => void>;
  readonly done: Promise<void>;
  // Properties, not methods: they are the promise's own functions, passed along unbound.
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A position in a prefetch set's members: every member before it was looked at. Valid
 * while no values of the model were dropped from the layer, and while the set's
 * members are the same list (a RelatedSet rebuilds them when its parents' lists change).
 * Records the cache evicted (its cap, a TTL) do not invalidate it: `evictions` is the
 * layer's count when the cursor last wrapped around (see topUp).
 */
interface Cursor {
  pos: number;
  generation: number;
  evictions: number;
  members: readonly Key[];
}

interface InFlight {
  readonly ids: ReadonlySet<Key>;
  readonly fields: ReadonlySet<FieldDef>;
  readonly errors: CellErrors;
  readonly done: Promise<void>;
}

const resolved = Promise.resolve();
/** Run `fn` after the promise jobs queued in this tick (DataLoader's enqueuePostPromiseJob). */
const afterPromiseJobs = (fn: () => void) => void resolved.then(() => process.nextTick(fn));

export class Loader {
  private readonly pending = new Map<Scope, Map<string, Batch>>();
  private readonly inFlight = new Map<Scope, Map<string, Set<InFlight>>>();
  /** Where the last top-up over a prefetch set (for a set of fields, in a cache layer) stopped. */
  private readonly cursors = new WeakMap<L1Store, WeakMap<object, Map<string, Cursor>>>();

  constructor(
    private readonly stats: Stats,
    private readonly clock: Clock,
    /** Called after each load statement settled (the session prunes versions there). */
    private readonly afterLoad: () => void,
    /** The pool's shared cache (L2), asked before the database outside transactions. */
    private readonly shared: SharedCache | undefined,
  ) {}

  /**
   * Value of `field` on record `id` once loaded. The caller has checked the cache and
   * counted the hit; this counts the miss.
   */
  load(
    schema: ModelSchema,
    field: FieldDef,
    id: Key,
    prefetch: PrefetchSource | null,
    scope: Scope,
    mode: LoadMode,
  ): Promise<unknown> {
    const read = this.enqueue(schema, field, id, prefetch, scope, mode);
    // A transaction ends only once the reads sent from it settled (even un-awaited ones).
    scope.frame?.sent(read);
    return read;
  }

  private enqueue(
    schema: ModelSchema,
    field: FieldDef,
    id: Key,
    prefetch: PrefetchSource | null,
    scope: Scope,
    mode: LoadMode,
  ): Promise<unknown> {
    this.stats.misses++;
    scope.cache.miss(schema.name);
    if (scope.cache.isMissing(schema.name, id)) return Promise.reject(new MissingError(schema.name, [id]));
    for (const running of this.inFlight.get(scope)?.get(schema.name) ?? []) {
      if (running.ids.has(id) && running.fields.has(field))
        return running.done.then(() => this.valueAfterLoad(schema, field, id, scope, running.errors));
    }
    const batch = this.batchFor(schema, scope, mode, mode === 'relation' ? field.name : '');
    let asked = batch.requests.get(id);
    if (!asked) batch.requests.set(id, (asked = new Set()));
    asked.add(field);
    if (prefetch && (!Array.isArray(prefetch) || prefetch.length > 1)) {
      let fields = batch.prefetchSets.get(prefetch);
      if (!fields) batch.prefetchSets.set(prefetch, (fields = new Set()));
      fields.add(field);
    }
    return batch.done.then(() => this.valueAfterLoad(schema, field, id, scope, batch.errors));
  }

  /**
   * Loads `fields` for those of `ids` that lack any of them, CHUNK ids a statement,
   * right away (the seed's _prefetch_records). Cells that did not decode stay uncached.
   * Resolves how many load statements it sent (a batch the shared cache answered sends none).
   */
  prefetch(schema: ModelSchema, ids: readonly Key[], fields: readonly FieldDef[], scope: Scope): Promise<number> {
    const unpins: Array<() => void> = [];
    const done = this.prefetchNow(schema, ids, fields, scope, unpins);
    scope.frame?.sent(done);
    // The caller reads what was prefetched in the jobs that follow (read() does): unpin after them.
    if (scope.cache.layer.retained) {
      const unpin = () => void setImmediate(() => unpins.forEach((f) => f()));
      done.then(unpin, unpin);
    }
    return done;
  }

  private async prefetchNow(
    schema: ModelSchema,
    ids: readonly Key[],
    fields: readonly FieldDef[],
    scope: Scope,
    unpins: Array<() => void>,
  ): Promise<number> {
    let sent = 0;
    const lacking = (wanted: readonly FieldDef[]) =>
      [...new Set(ids)].filter(
        (id) =>
          !scope.cache.isMissing(schema.name, id) &&
          wanted.some((f) => scope.cache.get(schema.name, f.name, id) === MISS),
      );
    const columns = fields.filter((f) => !isX2many(f));
    if (columns.length) {
      const todo = lacking(columns);
      for (let i = 0; i < todo.length; i += CHUNK)
        if (await this.run(schema, scope, todo.slice(i, i + CHUNK), columns, new Map(), unpins)) sent++;
    }
    for (const rel of fields.filter(isX2many)) {
      const todo = lacking([rel]);
      for (let i = 0; i < todo.length; i += CHUNK)
        if (await this.runRelation(schema, scope, todo.slice(i, i + CHUNK), rel, unpins)) sent++;
    }
    return sent;
  }

  private batchFor(schema: ModelSchema, scope: Scope, mode: LoadMode, field: string): Batch {
    let byKey = this.pending.get(scope);
    if (!byKey) this.pending.set(scope, (byKey = new Map<string, Batch>()));
    const key = `${schema.name}\u0000${mode}\u0000${field}`;
    let batch = byKey.get(key);
    if (!batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      // Readers attach their own handlers; this one keeps an unread failure from being "unhandled".
      done.catch(() => undefined);
      batch = {
        schema,
        scope,
        mode,
        requests: new Map(),
        prefetchSets: new Map(),
        errors: new Map(),
        unpins: [],
        done,
        resolve,
        reject,
      };
      byKey.set(key, batch);
      const b = batch;
      afterPromiseJobs(() => {
        byKey.delete(key);
        if (byKey.size === 0) this.pending.delete(scope);
        this.flush(b).then(b.resolve, b.reject);
        // After the readers' own callbacks on `done`, attached before this one.
        if (scope.cache.layer.retained) {
          const unpin = () => b.unpins.forEach((f) => f());
          b.done.then(unpin, unpin);
        }
      });
    }
    return batch;
  }

  private async flush(batch: Batch): Promise<void> {
    const { schema, scope } = batch;
    const asked = new Set<FieldDef>();
    for (const fs of batch.requests.values()) for (const f of fs) asked.add(f);
    const fields = batch.mode === 'record' ? [...new Set([...schema.prefetchFields, ...asked])] : [...asked];
    const ids = [...batch.requests.keys()];
    const chunks: Key[][] = [];
    for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
    const last = chunks[chunks.length - 1];
    const rewind = batch.mode !== 'fields' && last.length < CHUNK ? this.topUp(batch, last) : undefined;
    try {
      for (const chunk of chunks) {
        if (batch.mode === 'relation') await this.runRelation(schema, scope, chunk, fields[0], batch.unpins);
        else await this.run(schema, scope, chunk, fields, batch.errors, batch.unpins);
      }
    } catch (e) {
      rewind?.(); // what the failed statement was to load is still to be loaded
      throw e;
    }
  }

  /**
   * Adds to `chunk` records of the batch's prefetch sets that lack a field asked
   * against their set, resuming each set where the last top-up over it stopped.
   * Returns a function that moves the cursors back to where they were.
   *
   * A cursor that reaches the end of its set goes on from the start (once, up to where
   * this top-up began it) when the cache evicted records of the model since it last
   * did: a second loop over a set larger than the cap finds its first records evicted
   * behind the cursor, and loads them 1,000 at a time, as the first loop did.
   */
  private topUp(batch: Batch, chunk: Key[]): () => void {
    const { schema, scope } = batch;
    const inChunk = new Set(chunk);
    const before: Array<[Cursor, number]> = [];
    const lacks = (names: readonly string[], id: Key) =>
      !inChunk.has(id) &&
      !scope.cache.isMissing(schema.name, id) &&
      names.some((n) => scope.cache.get(schema.name, n, id) === MISS);
    for (const [source, fieldDefs] of batch.prefetchSets) {
      if (inChunk.size >= CHUNK) break;
      const members = membersOf(source, scope.cache);
      const names = [...fieldDefs].map((f) => f.name);
      const cursor = this.cursor(scope.cache, schema.name, source, members, names.join('\u0000'));
      const start = cursor.pos;
      before.push([cursor, start]);
      while (cursor.pos < members.length && inChunk.size < CHUNK) {
        const id = members[cursor.pos++];
        if (!lacks(names, id)) continue;
        inChunk.add(id);
        chunk.push(id);
      }
      const evictions = scope.cache.evictionsOf(schema.name);
      if (cursor.pos < members.length || inChunk.size >= CHUNK || cursor.evictions === evictions) continue;
      cursor.evictions = evictions;
      for (cursor.pos = 0; cursor.pos < start && inChunk.size < CHUNK;) {
        const id = members[cursor.pos++];
        if (!lacks(names, id)) continue;
        inChunk.add(id);
        chunk.push(id);
      }
    }
    return () => {
      for (const [cursor, pos] of before) cursor.pos = Math.min(cursor.pos, pos);
    };
  }

  private cursor(cache: L1Store, model: string, source: PrefetchSource, members: readonly Key[], key: string): Cursor {
    let bySource = this.cursors.get(cache);
    if (!bySource) this.cursors.set(cache, (bySource = new WeakMap()));
    let byKey = bySource.get(source);
    if (!byKey) bySource.set(source, (byKey = new Map<string, Cursor>()));
    const generation = cache.generationOf(model);
    let cursor = byKey.get(key);
    if (!cursor) byKey.set(key, (cursor = { pos: 0, generation, evictions: cache.evictionsOf(model), members }));
    if (cursor.generation !== generation || cursor.members !== members) {
      cursor.pos = 0;
      cursor.generation = generation;
      cursor.evictions = cache.evictionsOf(model);
      cursor.members = members;
    }
    return cursor;
  }

  /**
   * One batch of column loads: puts the columns of `ids` into the scope's L1, marks
   * missing ids. With a shared cache (outside a transaction, for a model it holds), the
   * batch asks it first (one round trip) and sends the load statement only for its
   * misses; what the statement returned goes back to the shared cache with the leases of
   * that round trip when it covers the record's prefetchable fields (an entry is those).
   * Keys the shared cache bypassed (locked by a write, or the store unavailable) are
   * loaded and not put. Resolves whether a statement was sent.
   */
  private run(
    schema: ModelSchema,
    scope: Scope,
    ids: Key[],
    fields: readonly FieldDef[],
    errors: CellErrors,
    unpins: Array<() => void>,
  ): Promise<boolean> {
    return this.track(schema, scope, ids, fields, errors, async (since) => {
      const names = fields.map((f) => f.name);
      const l2 = scope.frame === undefined && this.shared?.holds(schema) ? this.shared.l2 : undefined;
      let todo = ids;
      let lease: L2Lease | undefined;
      if (l2) {
        const found = await l2.getMany(schema.name, ids, names);
        if (found.hits.keys.length) {
          scope.cache.putMany(schema.name, found.hits, since);
          this.pin(scope, schema, found.hits.keys, [], unpins);
        }
        todo = [...found.misses];
        lease = found.lease;
        if (todo.length === 0) return false;
      }
      const { ids: found, columns } = await loadRows(scope.executor, schema, todo, fields);
      this.stats.loadedRecords += found.length;
      fields.forEach((f, i) => {
        const values = columns[i];
        let bad: Map<Key, DataError> | undefined;
        for (let j = 0; j < values.length; j++) {
          if (values[j] instanceof DataError) {
            if (!bad) errors.set(f.name, (bad = errors.get(f.name) ?? new Map<Key, DataError>()));
            bad.set(found[j], values[j] as DataError);
          }
        }
      });
      const present = new Set(found);
      const skip = errors.size ? (i: number, j: number) => columns[i][j] instanceof DataError : undefined;
      const missing = todo.filter((id) => !present.has(id));
      const batch = { fields: names, keys: found, columns, missing, skip };
      scope.cache.putMany(schema.name, batch, since);
      this.pin(scope, schema, found, missing, unpins);
      // A record with a cell that did not decode is not shared (its entry would lack the field).
      if (l2 && lease && schema.prefetchFields.every((f) => fields.includes(f)))
        await l2.putMany(schema.name, { ...batch, missing: [] }, withoutBad(lease, found, columns));
      return true;
    });
  }

  /**
   * One x2many load: the target ids of every parent in `ids` (frozen arrays, [] when
   * none); parents that do not exist are marked missing, as a column load does.
   */
  private runRelation(
    schema: ModelSchema,
    scope: Scope,
    ids: Key[],
    field: FieldDef,
    unpins: Array<() => void>,
  ): Promise<boolean> {
    return this.track(schema, scope, ids, [field], new Map(), async (since) => {
      const target = targetOf(schema, field);
      const order = parseOrder(target, target.order, (m) => new Error(m));
      const { present, related } =
        field.type === 'one2many'
          ? await loadOne2many(scope.executor, schema, target, inverseOf(schema, field).column, ids, order)
          : await loadMany2many(scope.executor, schema, relationOf(schema, field), target, ids, order);
      const found = [...present];
      const lists = found.map((id) => Object.freeze(related.get(id) ?? []));
      const missing = ids.filter((id) => !present.has(id));
      scope.cache.putMany(schema.name, { fields: [field.name], keys: found, columns: [lists], missing }, since);
      this.pin(scope, schema, found, missing, unpins);
      return true;
    });
  }

  /**
   * Runs one load statement registered as in flight for (ids x fields), so that misses
   * it covers wait for it; counts it; holds its start time on the clock while it runs.
   * Resolves whether it sent a statement.
   */
  private async track(
    schema: ModelSchema,
    scope: Scope,
    ids: Key[],
    fields: readonly FieldDef[],
    errors: CellErrors,
    /** Resolves whether it sent a statement (counted in stats.loads). */
    work: (since: number) => Promise<boolean>,
  ): Promise<boolean> {
    const since = this.clock.now();
    this.clock.hold(since);
    const running = work(since);
    const entry: InFlight = {
      ids: new Set(ids),
      fields: new Set(fields),
      errors,
      done: running.then(
        () => undefined,
        () => undefined,
      ),
    };
    let byModel = this.inFlight.get(scope);
    if (!byModel) this.inFlight.set(scope, (byModel = new Map<string, Set<InFlight>>()));
    let list = byModel.get(schema.name);
    if (!list) byModel.set(schema.name, (list = new Set()));
    list.add(entry);
    try {
      const sent = await running;
      if (sent) this.stats.loads++;
      return sent;
    } finally {
      list.delete(entry);
      if (list.size === 0) byModel.delete(schema.name);
      if (byModel.size === 0) this.inFlight.delete(scope);
      this.clock.release(since);
      this.afterLoad();
    }
  }

  private pin(
    scope: Scope,
    schema: ModelSchema,
    found: readonly Key[],
    missing: readonly Key[],
    unpins: Array<() => void>,
  ): void {
    const unpin = scope.cache.pin(schema.name, missing.length ? [...found, ...missing] : found);
    if (unpin) unpins.push(unpin);
  }

  private valueAfterLoad(schema: ModelSchema, field: FieldDef, id: Key, scope: Scope, errors: CellErrors): unknown {
    const value = scope.cache.get(schema.name, field.name, id);
    if (value === GONE) throw new MissingError(schema.name, [id]);
    if (value !== MISS) return value;
    const bad = errors.get(field.name)?.get(id);
    if (bad) throw bad;
    // Changed or invalidated while the load ran: load it again.
    return this.enqueue(schema, field, id, null, scope, isX2many(field) ? 'relation' : 'fields');
  }
}

/** The lease without the records a cell of which did not decode (so they are not put). */
function withoutBad(lease: L2Lease, keys: readonly Key[], columns: readonly (readonly unknown[])[]): L2Lease {
  const bad = keys.filter((_, j) => columns.some((column) => column[j] instanceof DataError));
  if (bad.length === 0) return lease;
  const kept = new Map(lease);
  for (const key of bad) kept.delete(key);
  return kept;
}
