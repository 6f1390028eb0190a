import type { Key } from '../model/keys';
import type { RecordSetBase } from './recordset';

/**
 * Type-level view of models. A model class declares its fields as plain properties
 * (`name!: string`, `customer!: Customer`, `orders!: Order[]`); on a record each reads
 * as a Promise: of the value, or of a recordset for relational fields.
 */

/** What every model instance type carries, so that relational fields can be told apart. */
export interface ModelBrand {
  /** Type-level marker only; never set at runtime. */
  readonly __proxormModel: true;
}

/**
 * Property names of M that are fields: public, not methods, not the brand, not the key
 * `id`, and not readonly. A getter without a setter is a readonly property to the type
 * system (and nothing else tells it from a field), so getters are members, not fields;
 * the price is that a field must not be declared `readonly` (records are read-only anyway).
 */
export type FieldKeys<M> = {
  [K in keyof M]-?: K extends keyof ModelBrand | 'id'
    ? never
    : M[K] extends (...args: never[]) => unknown
      ? never
      : IsReadonly<M, K> extends true
        ? never
        : K;
}[keyof M] &
  string;

/** Whether property K of M is readonly (a getter-only accessor, or declared readonly). */
type IsReadonly<M, K extends keyof M> =
  (<T>() => T extends { [P in K]: M[K] } ? 1 : 2) extends <T>() => T extends { -readonly [P in K]: M[K] } ? 1 : 2
    ? false
    : true;

/**
 * The model class's own members a record exposes as they are declared: its methods and
 * getters (not fields, not the brand, not the recordset's members, which win).
 */
export type MemberKeys<M> = Exclude<keyof M, FieldKeys<M> | keyof ModelBrand | keyof RecordSetBase<M>>;

/**
 * The key type of a model: what its class declares as `id` (`declare readonly id:
 * string` for a string or uuid key), else number (the default integer key).
 */
export type KeyOf<M> = M extends { readonly id: infer K } ? (K extends Key ? K : number) : number;

/** The target model of a relational field type (`Customer`, `Customer | null`, `Order[]`). */
export type TargetOf<T> =
  NonNullable<T> extends readonly (infer E)[]
    ? E extends ModelBrand
      ? E
      : never
    : NonNullable<T> extends ModelBrand
      ? NonNullable<T>
      : never;

/** Field names of M that are relations (many2one, one2many, many2many). */
export type RelationKeys<M> = { [K in FieldKeys<M>]: [TargetOf<M[K]>] extends [never] ? never : K }[FieldKeys<M>];

/** The value a field reads as: relations as recordsets. */
export type ReadValue<T> = [TargetOf<T>] extends [never] ? T : RecordSet<TargetOf<T>>;

/** Commands that change an x2many, applied in this order: set, remove, add, create. */
export interface X2ManyCommands<T> {
  /** Exactly these records (others are unlinked from the relation, not deleted). */
  set?: readonly KeyOf<T>[] | RecordSet<T>;
  /** Link these records too. */
  add?: readonly KeyOf<T>[] | RecordSet<T>;
  /** Unlink these records (a one2many clears their inverse, which must not be required). */
  remove?: readonly KeyOf<T>[] | RecordSet<T>;
  /** Create records and link them. */
  create?: readonly CreateValues<T>[];
}

/** The value a field takes in create/write: a many2one takes a key or a recordset. */
export type WriteValue<T> = [TargetOf<T>] extends [never]
  ? T
  : NonNullable<T> extends readonly unknown[]
    ? X2ManyCommands<TargetOf<T>>
    : KeyOf<TargetOf<T>> | RecordSet<TargetOf<T>> | (null extends T ? null : never);

/** The value a field has in toDict/read: a many2one as its key, an x2many as keys. */
export type DictValue<T> = [TargetOf<T>] extends [never]
  ? T
  : NonNullable<T> extends readonly unknown[]
    ? KeyOf<TargetOf<T>>[]
    : KeyOf<TargetOf<T>> | null;

/** Field values of a model as create/write take them. */
export type Values<M> = { [K in FieldKeys<M>]: WriteValue<M[K]> };

/** What create() takes: field values, and the key where the caller gives it. */
export type CreateValues<M> = Partial<Values<M>> & { id?: KeyOf<M> };

/** Field values of a model as toDict/read return them. */
export type DictValues<M> = { [K in FieldKeys<M>]: DictValue<M[K]> };

/** What toJSON gives for one record: the id and the fields cached for it (toDict's forms). */
export type CachedRow<M> = { id: KeyOf<M> } & Partial<DictValues<M>>;

/** Read access to the fields of a record: `await record.name`. */
export type RecordFields<M> = { readonly [K in FieldKeys<M>]: Promise<ReadValue<M[K]>> };

/**
 * A recordset of model M: the recordset's members, a Promise-valued property per field,
 * and the model class's methods and getters. Inside a method, declare
 * `this: RecordSet<M>` so that `this.name` is typed as the Promise it is.
 */
export type RecordSet<M> = RecordSetBase<M> & RecordFields<M> & Pick<M, MemberKeys<M>>;

/** A value of `read()`: the id and the asked fields. */
export type ReadRow<M, F extends FieldKeys<M> = FieldKeys<M>> = { id: KeyOf<M> } & Pick<DictValues<M>, F>;

/** The class of a model (abstract or not). */
export type ModelClass<M> = abstract new (...args: never[]) => M;
