import type { ClassRef } from '../model/class-ref';
import { inspect, type InspectOptions } from 'node:util';
import { MissingError, ProxormError, SingletonError, ValidationError } from '../errors';
import { isX2many, type FieldDef } from '../model/field-types';
import { targetOf } from '../model/relations';
import type { LoadMode } from '../session/loader';
import { GONE, MISS } from '../cache/layer';
import { relatedSet, type PrefetchSource } from '../session/prefetch-set';
import type { Scope } from '../session/scope';
import type { Session } from '../session/session';
import type { ModelSchema } from '../model/schema';
import { existingIds } from '../query/statements';
import { unlinkRecords, writeRecords } from './writes';
import { makeHandler } from './proxy';
import type {
  CachedRow,
  DictValues,
  FieldKeys,
  KeyOf,
  ReadRow,
  RecordSet,
  RelationKeys,
  TargetOf,
  Values,
} from './types';
import type { Key } from '../model/keys';

/**
 * An ordered list of record ids of one model, bound to an Environment, with the
 * prefetch set its misses load for (null: prefetch off, a miss loads this record only).
 * Field reads go through the Proxy built by makeRecordSet; this class holds the rest.
 */
export class RecordSetBase<M> {
  /** @internal use makeRecordSet */
  constructor(
    /** @internal */ readonly session: Session,
    /** @internal */ readonly schema: ModelSchema,
    readonly ids: readonly KeyOf<M>[],
    /** @internal */ readonly prefetchIds: PrefetchSource | null,
  ) {}

  /** The model name. */
  get model(): string {
    return this.schema.name;
  }

  get length(): number {
    return this.ids.length;
  }

  /** The id of a singleton; SingletonError otherwise. */
  get id(): KeyOf<M> {
    return this.ids[this.ensureSingle('id')];
  }

  /**
   * Singletons that share this recordset's prefetch set. A singleton yields itself, so
   * deep-equality helpers that walk iterables (jest's toEqual of two records) meet a
   * cycle they detect instead of a new singleton at every step, forever.
   */
  *[Symbol.iterator](): Iterator<RecordSet<M>> {
    if (this.ids.length === 1) yield this as unknown as RecordSet<M>;
    else for (const id of this.ids) yield this.derive([id]);
  }

  /** The record at index i (negative counts from the end), sharing the prefetch set. */
  at(i: number): RecordSet<M> {
    if (!Number.isInteger(i)) throw new ValidationError(`${this.model}.at: index must be an integer`);
    const j = i < 0 ? this.ids.length + i : i;
    if (j < 0 || j >= this.ids.length)
      throw new ValidationError(`${this.model}.at(${i}): index out of range for ${this.length} record(s)`);
    return this.derive([this.ids[j]]);
  }

  /** This recordset, if it holds exactly one record; SingletonError otherwise. */
  ensureOne(): RecordSet<M> {
    this.ensureSingle('ensureOne');
    return this as unknown as RecordSet<M>;
  }

  /** The records of this set that still exist in the database (one query per 1,000 ids). */
  async exists(): Promise<RecordSet<M>> {
    const scope = this.session.scope();
    const found = await this.session.observing(async (since) => {
      const ids = await existingIds(scope.executor, this.schema, [...new Set(this.ids)]);
      const gone = this.ids.filter((id) => !ids.has(id));
      if (gone.length) scope.cache.putMany(this.model, { fields: [], keys: [], columns: [], missing: gone }, since);
      return ids;
    });
    return this.derive(this.ids.filter((id) => found.has(id)));
  }

  /**
   * Loads `fields` (default: every prefetchable field) for the records of this set that
   * lack any of them: one query per 1,000 such records, none when all are cached.
   */
  async prefetch(fields?: readonly FieldKeys<M>[]): Promise<void> {
    await this.session.loader.prefetch(
      this.schema,
      this.ids,
      this.fieldDefs(fields, 'prefetch', this.schema.prefetchFields),
      this.session.scope(),
    );
  }

  /**
   * The asked fields (default: all) of a singleton, as a plain object. A many2one is its
   * id (or `{ id, displayName }` with `display: true`), an x2many its ids.
   */
  async toDict<F extends FieldKeys<M> = FieldKeys<M>>(
    fields?: readonly F[],
    options: { display?: boolean } = {},
  ): Promise<Pick<DictValues<M>, F>> {
    const id = this.ids[this.ensureSingle('toDict')];
    const defs = this.fieldDefs(fields, 'toDict', [...this.schema.fields.values()]);
    const cache = this.session.scope().cache;
    const cached = defs.map((f) => cache.get(this.model, f.name, id));
    if (!options.display && cached.every((v) => v !== MISS && v !== GONE)) {
      // Everything cached (the common case inside a loop): no promise per field.
      this.session.hit(this.model, defs.length);
      const out: Record<string, unknown> = {};
      defs.forEach((f, i) => (out[f.name] = dictValue(f, cached[i])));
      return out as Pick<DictValues<M>, F>;
    }
    const mode = this.prefetchIds ? 'record' : 'fields';
    const values = await Promise.all(defs.map((f) => this.readValue(f, id, isX2many(f) ? 'relation' : mode)));
    const out: Record<string, unknown> = {};
    for (let i = 0; i < defs.length; i++) {
      const f = defs[i];
      out[f.name] =
        options.display && f.type === 'many2one' && values[i] !== null
          ? await this.displayOf(f, values[i] as number)
          : dictValue(f, values[i]);
    }
    return out as Pick<DictValues<M>, F>;
  }

  /** `{ id, ...fields }` for every record, loading what is missing in 1,000-id queries. */
  async read<F extends FieldKeys<M> = FieldKeys<M>>(fields?: readonly F[]): Promise<ReadRow<M, F>[]> {
    const defs = this.fieldDefs(fields, 'read', [...this.schema.fields.values()]);
    const scope = this.session.scope();
    await this.session.loader.prefetch(this.schema, this.ids, defs, scope);
    const gone = this.ids.filter((id) => scope.cache.isMissing(this.model, id));
    if (gone.length) throw new MissingError(this.model, gone);
    const rows: Record<string, unknown>[] = [];
    for (const id of this.ids) {
      const row: Record<string, unknown> = { id };
      for (const f of defs) {
        const v = scope.cache.get(this.model, f.name, id);
        // Not filled (changed while the load ran, or a cell that does not decode): read it alone.
        row[f.name] = dictValue(
          f,
          v === MISS || v === GONE
            ? await this.readValue(f, id, isX2many(f) ? 'relation' : 'fields')
            : (this.session.hit(this.model, 1), v),
        );
      }
      rows.push(row);
    }
    return rows as ReadRow<M, F>[];
  }

  /**
   * Writes the same values on every record: one UPDATE per 1,000 ids, plus the x2many
   * commands, in one transaction. The cache takes the values only once the database
   * did. A record that no longer exists fails the whole write with MissingError and
   * nothing is changed.
   */
  async write(values: Partial<Values<M>>): Promise<void> {
    await writeRecords(this.session, this.schema, this.ids, values);
  }

  /**
   * Deletes the records (one DELETE per 1,000 ids); reading them afterwards is a
   * MissingError. Related records follow their many2one's onDelete (restrict fails with
   * ForeignKeyViolationError and deletes nothing).
   */
  async unlink(): Promise<void> {
    await unlinkRecords(this.session, this.schema, this.ids);
  }

  /** Records for which `predicate` (a field name: truthy value; or a function) holds. */
  async filtered(
    predicate: FieldKeys<M> | ((record: RecordSet<M>) => boolean | Promise<boolean>),
  ): Promise<RecordSet<M>> {
    const test =
      typeof predicate === 'function'
        ? predicate
        : async (r: RecordSet<M>) => Boolean(await r.readField(this.fieldDef(predicate, 'filtered')));
    const keep: KeyOf<M>[] = [];
    for (const record of this) if (await test(record)) keep.push(record.ids[0]);
    return this.derive(keep);
  }

  /**
   * The value of a field for every record, in order; for a relational field the union
   * of the related records (a recordset); a dotted path (`'customer.name'`) follows
   * relations. Or the result of a function for every record.
   */
  async mapped<K extends FieldKeys<M>>(
    key: K,
  ): Promise<[TargetOf<M[K]>] extends [never] ? M[K][] : RecordSet<TargetOf<M[K]>>>;
  async mapped(path: `${RelationKeys<M>}.${string}`): Promise<unknown>;
  async mapped<T>(fn: (record: RecordSet<M>) => T | Promise<T>): Promise<T[]>;
  async mapped(key: string | ((record: RecordSet<M>) => unknown)): Promise<unknown> {
    if (typeof key === 'function') {
      const out: unknown[] = [];
      for (const record of this) out.push(await key(record));
      return out;
    }
    if (typeof key !== 'string')
      throw new ValidationError(`${this.model}.mapped: expected a field name, a dotted path or a function`);
    const [head, ...rest] = key.split('.');
    const field = this.fieldDef(head, 'mapped');
    const values: unknown[] = [];
    for (const record of this) values.push(await record.readField(field));
    if (!field.target) {
      if (rest.length)
        throw new ValidationError(`${this.model}.mapped: "${head}" is not a relation, cannot follow "${key}"`);
      return values;
    }
    const ids = [...new Set((values as RecordSetBase<unknown>[]).flatMap((r) => r.ids))];
    const target = targetOf(this.schema, field);
    const union = makeRecordSet<unknown>(
      this.session,
      target,
      ids,
      this.prefetchIds && relatedSet(this.prefetchIds, this.model, field.name),
    );
    return rest.length ? union.mapped(rest.join('.') as never) : union;
  }

  /** The records ordered by a field or a key function (default: id), nulls first, stable. */
  async sorted(
    key?: FieldKeys<M> | ((record: RecordSet<M>) => unknown),
    options: { reverse?: boolean } = {},
  ): Promise<RecordSet<M>> {
    const keys: unknown[] =
      key === undefined
        ? [...this.ids]
        : typeof key === 'function'
          ? await this.mapped(key)
          : await this.mapped(async (r) => sortKey(await r.readField(this.fieldDef(key, 'sorted'))));
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

  /** `user(1, 2)`; string keys quoted: `user("a", "b")`. */
  toString(): string {
    return `${this.model}(${this.ids.map((id) => (typeof id === 'string' ? JSON.stringify(id) : id)).join(', ')})`;
  }

  /**
   * What `JSON.stringify` writes, synchronously and without a query: `{ id, ...fields }`
   * with the fields this Environment has cached for the record (toDict's forms: a
   * many2one as its key, an x2many as its keys); a field not loaded is absent. A
   * recordset of several records gives an array of those. Never the Environment.
   */
  toJSON(): CachedRow<M> | CachedRow<M>[] {
    const rows = this.ids.map((id) => cachedRow(this, id));
    return this.ids.length === 1 ? rows[0] : rows;
  }

  /** `console.log(record)`: `user(3) { id: 3, name: 'ann' }` (what is cached); a set: `user(1, 2, 3)`. */
  [inspect.custom](_depth: number, options: InspectOptions, show: typeof inspect = inspect): string {
    if (this.ids.length !== 1) return this.toString();
    return `${this.toString()} ${show(cachedRow(this, this.ids[0]), options)}`;
  }

  /**
   * @internal The value of one field of a singleton, from the cache, else loaded: for a
   * relation, a recordset of the target whose prefetch set is the related records of
   * this recordset's whole prefetch set.
   */
  readField(field: FieldDef): Promise<unknown> {
    if (!field.target) {
      if (this.ids.length === 0) return Promise.resolve(null);
      return this.readValue(field, this.ids[this.ensureSingle(field.name)], 'record');
    }
    const target = targetOf(this.schema, field);
    if (this.ids.length === 0) return Promise.resolve(makeRecordSet(this.session, target, [], null));
    const id = this.ids[this.ensureSingle(field.name)];
    const prefetch = this.prefetchIds && relatedSet(this.prefetchIds, this.model, field.name);
    return this.readValue(field, id, field.type === 'many2one' ? 'record' : 'relation').then((v) =>
      makeRecordSet(
        this.session,
        target,
        v === null ? [] : field.type === 'many2one' ? [v as Key] : (v as readonly Key[]),
        prefetch,
      ),
    );
  }

  private readValue(field: FieldDef, id: Key, mode: LoadMode): Promise<unknown> {
    let scope: Scope;
    try {
      scope = this.session.scope();
    } catch (e) {
      return Promise.reject(e); // closed: a read is a promise, so it fails as one
    }
    const value = scope.cache.get(this.model, field.name, id);
    if (value === GONE) return Promise.reject(new MissingError(this.model, [id]));
    if (value !== MISS) {
      this.session.hit(this.model, 1);
      return Promise.resolve(readable(field, value));
    }
    return this.session.loader
      .load(this.schema, field, id, this.prefetchIds, scope, mode)
      .then((v) => readable(field, v));
  }

  /** `{ id, displayName }` of a many2one target: its "name" field, else "model,id". */
  private async displayOf(field: FieldDef, id: Key): Promise<{ id: Key; displayName: string }> {
    const target = targetOf(this.schema, field);
    const name = target.fields.get('name');
    const record = makeRecordSet<unknown>(
      this.session,
      target,
      [id],
      this.prefetchIds && relatedSet(this.prefetchIds, this.model, field.name),
    );
    const displayName = name && !name.target ? String(await record.readField(name)) : `${target.name},${id}`;
    return { id, displayName };
  }

  private ensureSingle(what: string): number {
    if (this.ids.length !== 1) {
      // String keys are data, which messages never carry.
      const which = this.ids.some((id) => typeof id === 'string') ? '' : `: ${this.toString()}`;
      throw new SingletonError(
        `${what} needs a single ${this.model} record, this recordset has ${this.ids.length}${which}`,
      );
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
    if (!Array.isArray(names))
      throw new ValidationError(`${this.model}.${call}: fields must be an array of field names`);
    return [...new Set<string>(names)].map((n) => this.fieldDef(n, call));
  }

  private derive(ids: readonly KeyOf<M>[]): RecordSet<M> {
    return makeRecordSet<M>(this.session, this.schema, ids, this.prefetchIds);
  }

  private combine(others: RecordSet<M>[], distinct: boolean): RecordSet<M> {
    for (const o of others) {
      if (!(o instanceof RecordSetBase) || o.schema !== this.schema) {
        throw new ValidationError(`${this.model}: can only combine recordsets of the same model`);
      }
      // Keys are per database: those of an Environment opened apart name other records (forks share the database).
      if (o.session.shared !== this.session.shared) {
        throw new ValidationError(
          `${this.model}: can only combine recordsets of one database (this one comes from an Environment opened apart)`,
        );
      }
    }
    const all = [this.ids, ...others.map((o) => o.ids)].flat();
    const ids = distinct ? [...new Set(all)] : all;
    const sameSet = others.every((o) => o.prefetchIds === this.prefetchIds);
    return makeRecordSet<M>(
      this.session,
      this.schema,
      ids,
      sameSet ? this.prefetchIds : this.prefetchIds && [...new Set(ids)],
    );
  }
}

/**
 * A recordset Proxy: `await records.name` reads field "name". Its target is an instance
 * of the model class as far as the prototype chain goes (`record instanceof Account`,
 * the class's methods and getters, with `this` the Proxy), built by RecordSetBase's
 * constructor: the class's own constructor (and its property initializers) never runs.
 * A model class that does not extend BaseModel has no RecordSetBase in its chain: its
 * records are plain RecordSetBase instances, as before.
 */
export function makeRecordSet<M>(
  session: Session,
  schema: ModelSchema,
  ids: readonly Key[],
  prefetchIds: PrefetchSource | null,
): RecordSet<M> {
  const shape = shapeOf(schema);
  return new Proxy(
    new shape.Record<M>(session, schema, ids as readonly KeyOf<M>[], prefetchIds),
    shape.handler as ProxyHandler<RecordSetBase<M>>,
  ) as RecordSet<M>;
}

/** RecordSetBase, or a subclass of it that adds nothing but a place in the chain. */
type RecordClass = typeof RecordSetBase;

interface Shape {
  readonly handler: ProxyHandler<RecordSetBase<unknown>>;
  readonly Record: RecordClass;
}

const shapes = new WeakMap<ModelSchema, Shape>();

function shapeOf(schema: ModelSchema): Shape {
  let shape = shapes.get(schema);
  if (!shape) {
    shape = { handler: makeHandler(schema), Record: recordClassOf(schema.cls) };
    shapes.set(schema, shape);
  }
  return shape;
}

/**
 * For a class that extends BaseModel: a RecordSetBase subclass whose prototype's parent
 * is the model class's prototype, so records run RecordSetBase's constructor through a
 * plain `new` (Reflect.construct with the model class as new.target costs a third more
 * per record) and still have the class (then BaseModel, then RecordSetBase) in their
 * chain; `record.constructor` is the model class.
 */
function recordClassOf(cls: ClassRef): RecordClass {
  const proto: unknown = cls.prototype;
  if (typeof proto !== 'object' || proto === null || !(proto instanceof RecordSetBase)) return RecordSetBase;
  const Record = class<M> extends RecordSetBase<M> {};
  Object.setPrototypeOf(Record.prototype, proto);
  Object.defineProperty(Record.prototype, 'constructor', { value: cls, configurable: true, writable: true });
  return Record;
}

/**
 * `{ id, ...cached fields }` of one record of `set`; just the id where its cache cannot
 * be read (closed Environment, ended transaction). A function, not a member: every member name is one a field cannot take.
 */
function cachedRow<M>(set: RecordSetBase<M>, id: KeyOf<M>): CachedRow<M> {
  const row: Record<string, unknown> = { id };
  let cache;
  try {
    cache = set.session.scope().cache;
  } catch (e) {
    // Closed, or logged from a transaction that ended: no cache to show from here.
    if (e instanceof ProxormError) return row as CachedRow<M>;
    throw e;
  }
  for (const f of set.schema.fields.values()) {
    const v = cache.get(set.schema.name, f.name, id);
    if (v !== MISS && v !== GONE) row[f.name] = dictValue(f, v);
  }
  return row as CachedRow<M>;
}

/** toDict/read form of a cached value: x2many id lists are copied (the cached ones are frozen). */
function dictValue(field: FieldDef, value: unknown): unknown {
  if (Array.isArray(value)) return field.type === 'json' ? value : [...(value as unknown[])];
  return readable(field, value);
}

/** Relational values sort by their first id. */
function sortKey(v: unknown): unknown {
  return v instanceof RecordSetBase ? (v.ids[0] ?? null) : v;
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
