import { inspect } from 'node:util';
import { EnvironmentError, MissingError, SingletonError, ValidationError } from '../errors';
import type { Environment } from '../env/environment';
import type { FieldDef } from '../model/field-types';
import type { ModelSchema } from '../model/schema';
import { normalizeRecordValues } from '../model/values';
import { deleteRows, existingIds, updateRows } from '../query/statements';
import { handlerFor } from './proxy';
import type { FieldKeys, ReadRow, RecordSet, Values } from './types';

/**
 * An ordered list of record ids of one model, bound to an Environment, with the
 * prefetch set its misses load for (null: prefetch off, a miss loads this record only).
 * Field reads go through the Proxy built by makeRecordSet; this class holds the rest.
 */
export class RecordSetBase<M> {
  /** @internal use makeRecordSet */
  constructor(
    readonly env: Environment,
    /** @internal */ readonly schema: ModelSchema,
    readonly ids: readonly number[],
    /** @internal */ readonly prefetchIds: readonly number[] | null,
  ) {}

  /** The model name. */
  get model(): string {
    return this.schema.name;
  }

  get length(): number {
    return this.ids.length;
  }

  /** The id of a singleton; SingletonError otherwise. */
  get id(): number {
    return this.ids[this.ensureSingle('id')];
  }

  /** Singletons that share this recordset's prefetch set. */
  *[Symbol.iterator](): Iterator<RecordSet<M>> {
    for (const id of this.ids) yield this.derive([id]);
  }

  /** The record at index i (negative counts from the end), sharing the prefetch set. */
  at(i: number): RecordSet<M> {
    if (!Number.isInteger(i)) throw new ValidationError(`${this.model}.at: index must be an integer`);
    const j = i < 0 ? this.ids.length + i : i;
    if (j < 0 || j >= this.ids.length) throw new ValidationError(`${this.model}.at(${i}): index out of range for ${this.length} record(s)`);
    return this.derive([this.ids[j]]);
  }

  /** This recordset, if it holds exactly one record; SingletonError otherwise. */
  ensureOne(): RecordSet<M> {
    this.ensureSingle('ensureOne');
    return this as unknown as RecordSet<M>;
  }

  /** The records of this set that still exist in the database (one query per 1,000 ids). */
  async exists(): Promise<RecordSet<M>> {
    const found = await existingIds(this.env.scope().executor, this.schema, [...new Set(this.ids)]);
    const gone = this.ids.filter((id) => !found.has(id));
    if (gone.length) this.env.cache.markMissing(this.model, gone);
    return this.derive(this.ids.filter((id) => found.has(id)));
  }

  /**
   * Loads `fields` (default: every prefetchable field) for the records of this set that
   * lack any of them: one query per 1,000 such records, none when all are cached.
   */
  async prefetch(fields?: readonly FieldKeys<M>[]): Promise<void> {
    await this.env.loader.prefetch(this.schema, this.ids, this.fieldDefs(fields, 'prefetch', this.schema.prefetchFields), this.env.scope());
  }

  /** The asked fields (default: all) of a singleton, as a plain object. */
  async toDict<F extends FieldKeys<M> = FieldKeys<M>>(fields?: readonly F[]): Promise<Pick<Values<M>, F>> {
    const id = this.ids[this.ensureSingle('toDict')];
    const defs = this.fieldDefs(fields, 'toDict', [...this.schema.fields.values()]);
    const mode = this.prefetchIds ? 'record' : 'fields';
    const values = await Promise.all(defs.map((f) => this.readValue(f, id, mode)));
    const out: Record<string, unknown> = {};
    defs.forEach((f, i) => (out[f.name] = values[i]));
    return out as Pick<Values<M>, F>;
  }

  /** `{ id, ...fields }` for every record, loading what is missing in 1,000-id queries. */
  async read<F extends FieldKeys<M> = FieldKeys<M>>(fields?: readonly F[]): Promise<ReadRow<M, F>[]> {
    const defs = this.fieldDefs(fields, 'read', [...this.schema.fields.values()]);
    await this.env.loader.prefetch(this.schema, this.ids, defs, this.env.scope());
    const gone = this.ids.filter((id) => this.env.cache.isMissing(this.model, id));
    if (gone.length) throw new MissingError(this.model, gone);
    const maps = defs.map((f) => this.env.cache.field(this.model, f.name));
    this.env.counters.hits += this.ids.length * defs.length;
    return this.ids.map((id) => {
      const row: Record<string, unknown> = { id };
      defs.forEach((f, i) => (row[f.name] = readable(f, maps[i].get(id))));
      return row as ReadRow<M, F>;
    });
  }

  /**
   * Writes the same values on every record: one UPDATE per 1,000 ids, in a transaction.
   * The cache takes the values only once the database did. A record that no longer
   * exists fails the whole write with MissingError and nothing is changed.
   */
  async write(values: Partial<Values<M>>): Promise<void> {
    const normalized = normalizeRecordValues(this.schema, values, 'write');
    const ids = [...new Set(this.ids)];
    if (ids.length === 0 || normalized.size === 0) return;
    await this.env.atomic(async (scope) => {
      const matched = await updateRows(scope.executor, this.schema, ids, normalized);
      if (matched !== ids.length) {
        const found = await existingIds(scope.executor, this.schema, ids);
        throw new MissingError(this.model, ids.filter((id) => !found.has(id)));
      }
    });
    const scope = this.env.scope();
    for (const [field, value] of normalized) {
      const byId = this.env.cache.field(this.model, field.name);
      for (const id of ids) byId.set(id, value);
    }
    scope.journal?.add(this.model, ids);
  }

  /** Deletes the records (one DELETE per 1,000 ids); reading them afterwards is a MissingError. */
  async unlink(): Promise<void> {
    const ids = [...new Set(this.ids)];
    if (ids.length === 0) return;
    await this.env.atomic((scope) => deleteRows(scope.executor, this.schema, ids));
    this.env.cache.markMissing(this.model, ids);
    this.env.scope().journal?.add(this.model, ids);
  }

  /** Records for which `predicate` (a field name: truthy value; or a function) holds. */
  async filtered(predicate: FieldKeys<M> | ((record: RecordSet<M>) => boolean | Promise<boolean>)): Promise<RecordSet<M>> {
    const test = typeof predicate === 'function' ? predicate : async (r: RecordSet<M>) => Boolean(await r.readField(this.fieldDef(predicate, 'filtered')));
    const keep: number[] = [];
    for (const record of this) if (await test(record)) keep.push(record.ids[0]);
    return this.derive(keep);
  }

  /** The value of a field (or of a function) for every record, in order. */
  async mapped<K extends FieldKeys<M>>(key: K): Promise<M[K][]>;
  async mapped<T>(fn: (record: RecordSet<M>) => T | Promise<T>): Promise<T[]>;
  async mapped(key: string | ((record: RecordSet<M>) => unknown)): Promise<unknown[]> {
    const fn = typeof key === 'function' ? key : (r: RecordSet<M>) => r.readField(this.fieldDef(key, 'mapped'));
    const out: unknown[] = [];
    for (const record of this) out.push(await fn(record));
    return out;
  }

  /** The records ordered by a field or a key function (default: id), nulls first, stable. */
  async sorted(key?: FieldKeys<M> | ((record: RecordSet<M>) => unknown), options: { reverse?: boolean } = {}): Promise<RecordSet<M>> {
    const keys: unknown[] =
      key === undefined ? [...this.ids]
      : typeof key === 'function' ? await this.mapped(key)
      : await this.mapped((r) => r.readField(this.fieldDef(key, 'sorted')));
    const order = this.ids.map((_, i) => i).sort((a, b) => compare(keys[a], keys[b]));
    if (options.reverse) order.reverse();
    return this.derive(order.map((i) => this.ids[i]));
  }

  /** This set followed by the others (duplicates kept). */
  concat(...others: RecordSet<M>[]): RecordSet<M> {
    return this.combine(others, false);
  }

  /** The distinct records of this set and the others, in first-seen order. */
  union(...others: RecordSet<M>[]): RecordSet<M> {
    return this.combine(others, true);
  }

  toString(): string {
    return `${this.model}(${this.ids.join(', ')})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /** @internal The value of one field of a singleton: from the cache, else loaded. */
  readField(field: FieldDef): Promise<unknown> {
    if (this.ids.length === 0) return Promise.resolve(null);
    return this.readValue(field, this.ids[this.ensureSingle(field.name)], 'record');
  }

  private readValue(field: FieldDef, id: number, mode: 'record' | 'fields'): Promise<unknown> {
    if (this.env.isClosed) throw new EnvironmentError('this Environment is closed');
    const byId = this.env.cache.peekField(this.model, field.name);
    if (byId?.has(id)) {
      this.env.counters.hits++;
      return Promise.resolve(readable(field, byId.get(id)));
    }
    return this.env.loader
      .load(this.schema, field, id, this.prefetchIds, this.env.scope(), mode)
      .then((v) => readable(field, v));
  }

  private ensureSingle(what: string): number {
    if (this.ids.length !== 1) {
      throw new SingletonError(`${what} needs a single ${this.model} record, this recordset has ${this.ids.length}: ${this.toString()}`);
    }
    return 0;
  }

  private fieldDef(name: string, call: string): FieldDef {
    const f = this.schema.fields.get(name);
    if (!f) throw new ValidationError(`${this.model}.${call}: unknown field ${JSON.stringify(name)}`);
    return f;
  }

  private fieldDefs(names: readonly string[] | undefined, call: string, all: readonly FieldDef[]): FieldDef[] {
    if (names === undefined) return [...all];
    if (!Array.isArray(names)) throw new ValidationError(`${this.model}.${call}: fields must be an array of field names`);
    return [...new Set(names)].map((n) => this.fieldDef(n, call));
  }

  private derive(ids: readonly number[]): RecordSet<M> {
    return makeRecordSet<M>(this.env, this.schema, ids, this.prefetchIds);
  }

  private combine(others: RecordSet<M>[], distinct: boolean): RecordSet<M> {
    for (const o of others) {
      if (!(o instanceof RecordSetBase) || o.schema !== this.schema) {
        throw new ValidationError(`${this.model}: can only combine recordsets of the same model`);
      }
    }
    const all = [this.ids, ...others.map((o) => o.ids)].flat();
    const ids = distinct ? [...new Set(all)] : all;
    const sameSet = others.every((o) => o.prefetchIds === this.prefetchIds);
    return makeRecordSet<M>(this.env, this.schema, ids, sameSet ? this.prefetchIds : this.prefetchIds && [...new Set(ids)]);
  }
}

/** A recordset Proxy: `await records.name` reads field "name". */
export function makeRecordSet<M>(env: Environment, schema: ModelSchema, ids: readonly number[], prefetchIds: readonly number[] | null): RecordSet<M> {
  return new Proxy(new RecordSetBase<M>(env, schema, ids, prefetchIds), handlerFor(schema) as ProxyHandler<RecordSetBase<M>>) as RecordSet<M>;
}

/** Cached values are shared: hand out copies of the mutable kinds (json is frozen). */
function readable(field: FieldDef, value: unknown): unknown {
  return field.type === 'datetime' && value instanceof Date ? new Date(value.getTime()) : value;
}

function compare(a: unknown, b: unknown): number {
  if (a === b) return 0;
  if (a === null || a === undefined) return -1;
  if (b === null || b === undefined) return 1;
  if (a instanceof Date && b instanceof Date) return a.getTime() - b.getTime();
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}
