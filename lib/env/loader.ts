import { MissingError } from '../errors';
import type { FieldDef } from '../model/field-types';
import type { ModelSchema } from '../model/schema';
import { CHUNK, loadRows } from '../query/statements';
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
 *   field; in 'fields' mode it loads only the requested fields of the requested ids.
 * - Ids the database does not return are marked missing; their readers get a
 *   MissingError while the other readers of the batch get their values.
 * - A failed statement rejects every reader of its batch and caches nothing from it.
 */
export type LoadMode = 'record' | 'fields';

interface Batch {
  readonly schema: ModelSchema;
  readonly scope: Scope;
  readonly mode: LoadMode;
  /** Requested ids, in request order, with the fields asked of each. */
  readonly requests: Map<number, Set<FieldDef>>;
  /** Prefetch sets of the requesters, with the fields asked against each. */
  readonly prefetchSets: Map<readonly number[], Set<FieldDef>>;
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
  load(schema: ModelSchema, field: FieldDef, id: number, prefetchIds: readonly number[] | null, scope: Scope, mode: LoadMode): Promise<unknown> {
    this.stats.misses++;
    if (this.cache.isMissing(schema.name, id)) return Promise.reject(new MissingError(schema.name, [id]));
    for (const running of this.inFlight.get(scope)?.get(schema.name) ?? []) {
      if (running.ids.has(id) && running.fields.has(field)) return running.done.then(() => this.valueAfterLoad(schema, field, id, scope));
    }
    const batch = this.batchFor(schema, scope, mode);
    let asked = batch.requests.get(id);
    if (!asked) batch.requests.set(id, (asked = new Set()));
    asked.add(field);
    if (prefetchIds && prefetchIds.length > 1) {
      let fields = batch.prefetchSets.get(prefetchIds);
      if (!fields) batch.prefetchSets.set(prefetchIds, (fields = new Set()));
      fields.add(field);
    }
    return batch.done.then(() => this.valueAfterLoad(schema, field, id, scope));
  }

  /**
   * Loads `fields` for those of `ids` that lack any of them, CHUNK ids a statement,
   * right away (the seed's _prefetch_records).
   */
  async prefetch(schema: ModelSchema, ids: readonly number[], fields: readonly FieldDef[], scope: Scope): Promise<void> {
    const maps = fields.map((f) => this.cache.field(schema.name, f.name));
    const lacking = [...new Set(ids)].filter((id) => !this.cache.isMissing(schema.name, id) && maps.some((m) => !m.has(id)));
    for (let i = 0; i < lacking.length; i += CHUNK) {
      await this.run(schema, scope, lacking.slice(i, i + CHUNK), fields);
    }
  }

  private batchFor(schema: ModelSchema, scope: Scope, mode: LoadMode): Batch {
    let byKey = this.pending.get(scope);
    if (!byKey) this.pending.set(scope, (byKey = new Map()));
    const key = `${schema.name}\u0000${mode}`;
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
    if (batch.mode === 'record' && last.length < CHUNK) this.topUp(schema, last, batch.prefetchSets);
    for (const chunk of chunks) await this.run(schema, scope, chunk, fields);
  }

  /** Adds to `chunk` records of the prefetch sets that lack a field asked against their set. */
  private topUp(schema: ModelSchema, chunk: number[], prefetchSets: Map<readonly number[], Set<FieldDef>>): void {
    const inChunk = new Set(chunk);
    for (const [set, fieldDefs] of prefetchSets) {
      const maps = [...fieldDefs].map((f) => this.cache.field(schema.name, f.name));
      for (const id of set) {
        if (inChunk.size >= CHUNK) return;
        if (inChunk.has(id) || this.cache.isMissing(schema.name, id) || maps.every((m) => m.has(id))) continue;
        inChunk.add(id);
        chunk.push(id);
      }
    }
  }

  /** One load statement: registers itself as in flight, fills the cache, marks missing ids. */
  private async run(schema: ModelSchema, scope: Scope, ids: number[], fields: readonly FieldDef[]): Promise<void> {
    const work = loadRows(scope.executor, schema, ids, fields);
    const entry: InFlight = { ids: new Set(ids), fields: new Set(fields), done: work.then(() => undefined, () => undefined) };
    let byModel = this.inFlight.get(scope);
    if (!byModel) this.inFlight.set(scope, (byModel = new Map()));
    let running = byModel.get(schema.name);
    if (!running) byModel.set(schema.name, (running = new Set()));
    running.add(entry);
    try {
      const { ids: found, columns } = await work;
      this.stats.loads++;
      this.stats.loadedRecords += found.length;
      fields.forEach((f, i) => {
        const byId = this.cache.field(schema.name, f.name);
        const values = columns[i];
        for (let j = 0; j < found.length; j++) if (!byId.has(found[j])) byId.set(found[j], values[j]);
      });
      const present = new Set(found);
      const absent = ids.filter((id) => !present.has(id));
      if (absent.length) this.cache.markMissing(schema.name, absent);
      scope.journal?.add(schema.name, ids);
    } finally {
      running.delete(entry);
      if (running.size === 0) byModel.delete(schema.name);
      if (byModel.size === 0) this.inFlight.delete(scope);
    }
  }

  private valueAfterLoad(schema: ModelSchema, field: FieldDef, id: number, scope: Scope): unknown {
    const byId = this.cache.peekField(schema.name, field.name);
    if (byId?.has(id)) return byId.get(id);
    if (this.cache.isMissing(schema.name, id)) throw new MissingError(schema.name, [id]);
    // Invalidated between the load and this reader: load it again.
    return this.load(schema, field, id, null, scope, 'fields');
  }
}
