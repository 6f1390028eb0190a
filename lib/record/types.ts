import type { RecordSetBase } from './recordset';

/**
 * Type-level view of models. A model class declares its fields as plain properties
 * (`name!: string`); on a record each reads as a Promise of that type.
 */

/** Property names of M that are fields (public, non-method). */
export type FieldKeys<M> = {
  [K in keyof M]-?: M[K] extends (...args: never[]) => unknown ? never : K;
}[keyof M] & string;

/** Field values of a model, as given to create/write and returned by toDict. */
export type Values<M> = { [K in FieldKeys<M>]: M[K] };

/** Read access to the fields of a record: `await record.name`. */
export type RecordFields<M> = { readonly [K in FieldKeys<M>]: Promise<M[K]> };

/** A recordset of model M: its methods plus a Promise-valued property per field. */
export type RecordSet<M> = RecordSetBase<M> & RecordFields<M>;

/** A value of `read()`: the id and the asked fields. */
export type ReadRow<M, F extends FieldKeys<M> = FieldKeys<M>> = { id: number } & Pick<Values<M>, F>;

/** The class of a model (abstract or not). */
export type ModelClass<M> = abstract new (...args: never[]) => M;
