import { MissingError } from '../errors';
import { isX2many, type FieldDef } from '../model/field-types';
import type { ModelSchema } from '../model/schema';
import { parseOrder } from '../model/order';
import { inverseOf, relationOf, targetOf } from '../model/relations';
import { CHUNK, loadMany2many, loadOne2many, loadRows } from '../query/statements';
import type { RecordCache } from './cache';
import type { Scope } from './scope';
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
 * - Ids the database does not return are marked missing; their readers get a
 *   MissingError while the other readers of the batch get their values.
 * - A failed statement rejects every reader of its batch and caches nothing from it.
 */
export type LoadMode = 'record' | 'fields' | 'relation';

/**
 * The records a miss may load along with its own: an id list, or (for records reached
 * through a relation) a function computing it from the cache when a miss needs it.
 */
export type PrefetchSource = readonly number[] | (() => readonly number[]);

interface Batch {
  readonly schema: ModelSchema;
  readonly scope: Scope;
  readonly mode: LoadMode;
  /** Requested ids, in request order, with the fields asked of each. */
  readonly requests: Map<number, Set<FieldDef>>;
  /** Prefetch sets of the requesters, with the fields asked against each. */
  readonly prefetchSets: Map<PrefetchSource, Set<FieldDef>>;
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: unknown): void;
}

interface InFlight {
  readonly ids: ReadonlySet<number>;
  readonly fields: ReadonlySet<FieldDef>;
  readonly done: Promise<void>;
}

const resolved = Promise.resolve();
/** Run `fn` after the promise jobs queued in this tick (DataLoader's enqueuePostPromiseJob). */
const afterPromiseJobs = (fn: () => void) => void resolved.then(() => process.nextTick(fn));

export class Loader {
  private readonly pending = new Map<Scope, Map<string, Batch>>();
  private readonly inFlight = new Map<Scope, Map<string, Set<InFlight>>>();

  constructor(private readonly cache: RecordCache, private readonly stats: Stats) {}

  /**
   * Value of `field` on record `id` once loaded. The caller has checked the cache and
   * counted the hit; this counts the miss.
   */
  load(schema: ModelSchema, field: FieldDef, id: number, prefetch: PrefetchSource | null, scope: Scope, mode: LoadMode): Promise<unknown> {
    this.stats.misses++;
    if (this.cache.isMissing(schema.name, id)) return Promise.reject(new MissingError(schema.name, [id]));
    for (const running of this.inFlight.get(scope)?.get(schema.name) ?? []) {
      if (running.ids.has(id) && running.fields.has(field)) return running.done.then(() => this.valueAfterLoad(schema, field, id, scope));
    }
    const batch = this.batchFor(schema, scope, mode, mode === 'relation' ? field.name : '');
    let asked = batch.requests.get(id);
    if (!asked) batch.requests.set(id, (asked = new Set()));
    asked.add(field);
    if (prefetch && (typeof prefetch === 'function' || prefetch.length > 1)) {
      let fields = batch.prefetchSets.get(prefetch);
      if (!fields) batch.prefetchSets.set(prefetch, (fields = new Set()));
      fields.add(field);
    }
    return batch.done.then(() => this.valueAfterLoad(schema, field, id, scope));
  }

  /**
   * Loads `fields` for those of `ids` that lack any of them, CHUNK ids a statement,
   * right away (the seed's _prefetch_records).
   */
  async prefetch(schema: ModelSchema, ids: readonly number[], fields: readonly FieldDef[], scope: Scope): Promise<void> {
    const lacking = (wanted: readonly FieldDef[]) => {
      const maps = wanted.map((f) => this.cache.field(schema.name, f.name));
      return [...new Set(ids)].filter((id) => !this.cache.isMissing(schema.name, id) && maps.some((m) => !m.has(id)));
    };
    const columns = fields.filter((f) => !isX2many(f));
    if (columns.length) {
      const todo = lacking(columns);
      for (let i = 0; i < todo.length; i += CHUNK) await this.run(schema, scope, todo.slice(i, i + CHUNK), columns);
    }
    for (const rel of fields.filter(isX2many)) {
      const todo = lacking([rel]);
      for (let i = 0; i < todo.length; i += CHUNK) await this.runRelation(schema, scope, todo.slice(i, i + CHUNK), rel);
    }
  }

  private batchFor(schema: ModelSchema, scope: Scope, mode: LoadMode, field: string): Batch {
    let byKey = this.pending.get(scope);
    if (!byKey) this.pending.set(scope, (byKey = new Map()));
    const key = `${schema.name}\u0000${mode}\u0000${field}`;
    let batch = byKey.get(key);
    if (!batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const done = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      // Readers attach their own handlers; this one keeps an unread failure from being "unhandled".
      done.catch(() => undefined);
      batch = { schema, scope, mode, requests: new Map(), prefetchSets: new Map(), done, resolve, reject };
      byKey.set(key, batch);
      const b = batch;
      afterPromiseJobs(() => {
        byKey!.delete(key);
        if (byKey!.size === 0) this.pending.delete(scope);
        this.flush(b).then(b.resolve, b.reject);
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
    const chunks: number[][] = [];
    for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
    const last = chunks[chunks.length - 1];
    if (batch.mode !== 'fields' && last.length < CHUNK) this.topUp(schema, last, batch.prefetchSets);
    for (const chunk of chunks) {
      if (batch.mode === 'relation') await this.runRelation(schema, scope, chunk, fields[0]);
      else await this.run(schema, scope, chunk, fields);
    }
  }

  /** Adds to `chunk` records of the prefetch sets that lack a field asked against their set. */
  private topUp(schema: ModelSchema, chunk: number[], prefetchSets: Map<PrefetchSource, Set<FieldDef>>): void {
    const inChunk = new Set(chunk);
    for (const [source, fieldDefs] of prefetchSets) {
      const set = typeof source === 'function' ? source() : source;
      const maps = [...fieldDefs].map((f) => this.cache.field(schema.name, f.name));
      for (const id of set) {
        if (inChunk.size >= CHUNK) return;
        if (inChunk.has(id) || this.cache.isMissing(schema.name, id) || maps.every((m) => m.has(id))) continue;
        inChunk.add(id);
        chunk.push(id);
      }
    }
  }

  /** One load statement: fills the cache with the columns of `ids`, marks missing ids. */
  private run(schema: ModelSchema, scope: Scope, ids: number[], fields: readonly FieldDef[]): Promise<void> {
    return this.track(schema, scope, ids, fields, async () => {
      const { ids: found, columns } = await loadRows(scope.executor, schema, ids, fields);
      this.stats.loadedRecords += found.length;
      fields.forEach((f, i) => {
        const byId = this.cache.field(schema.name, f.name);
        const values = columns[i];
        for (let j = 0; j < found.length; j++) if (!byId.has(found[j])) byId.set(found[j], values[j]);
      });
      const present = new Set(found);
      const absent = ids.filter((id) => !present.has(id));
      if (absent.length) this.cache.markMissing(schema.name, absent);
    });
  }

  /**
   * One x2many load: the target ids of every parent in `ids` (frozen arrays, [] when
   * none); parents that do not exist are marked missing, as a column load does.
   */
  private runRelation(schema: ModelSchema, scope: Scope, ids: number[], field: FieldDef): Promise<void> {
    return this.track(schema, scope, ids, [field], async () => {
      const target = targetOf(schema, field);
      const order = parseOrder(target, target.order, (m) => new Error(m));
      const { present, related } = field.type === 'one2many'
        ? await loadOne2many(scope.executor, schema, target, inverseOf(schema, field).column, ids, order)
        : await loadMany2many(scope.executor, schema, relationOf(schema, field), target, ids, order);
      const byId = this.cache.field(schema.name, field.name);
      for (const id of present) if (!byId.has(id)) byId.set(id, Object.freeze(related.get(id) ?? []));
      const absent = ids.filter((id) => !present.has(id));
      if (absent.length) this.cache.markMissing(schema.name, absent);
    });
  }

  /**
   * Runs one load statement registered as in flight for (ids x fields), so that misses
   * it covers wait for it; counts it; journals the ids inside a transaction.
   */
  private async track(schema: ModelSchema, scope: Scope, ids: number[], fields: readonly FieldDef[], work: () => Promise<void>): Promise<void> {
    const running = work();
    const entry: InFlight = { ids: new Set(ids), fields: new Set(fields), done: running.then(() => undefined, () => undefined) };
    let byModel = this.inFlight.get(scope);
    if (!byModel) this.inFlight.set(scope, (byModel = new Map()));
    let list = byModel.get(schema.name);
    if (!list) byModel.set(schema.name, (list = new Set()));
    list.add(entry);
    try {
      await running;
      this.stats.loads++;
      scope.journal?.add(schema.name, ids);
    } finally {
      list.delete(entry);
      if (list.size === 0) byModel.delete(schema.name);
      if (byModel.size === 0) this.inFlight.delete(scope);
    }
  }

  private valueAfterLoad(schema: ModelSchema, field: FieldDef, id: number, scope: Scope): unknown {
    const byId = this.cache.peekField(schema.name, field.name);
    if (byId?.has(id)) return byId.get(id);
    if (this.cache.isMissing(schema.name, id)) throw new MissingError(schema.name, [id]);
    // Invalidated between the load and this reader: load it again.
    return this.load(schema, field, id, null, scope, isX2many(field) ? 'relation' : 'fields');
  }
}
