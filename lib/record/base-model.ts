import { LIBRARY_PROTOTYPE } from '../model/members';
import { defaultSession } from '../session/default';
import { RecordSetBase } from './recordset';
import type { Domain } from '../query/domain';
import { modelApi, type BrowseOptions, type ModelApi, type SearchOptions } from './model-api';
import type { CreateValues, KeyOf, ModelBrand, ModelClass, RecordSet } from './types';

/**
 * Base class of models. Its instances are never constructed: a model's records are
 * recordsets whose prototype chain runs through the model class, then BaseModel, then
 * RecordSetBase (linked below), so a record is `instanceof` its class, the class's
 * methods and getters run with the record as `this`, and `super.write(...)` in an
 * override reaches the recordset's write. The static calls are shortcuts for
 * `Environment.default.model(ThisModel).<call>`.
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- the interface below types the recordset members every record has at run time
export abstract class BaseModel implements ModelBrand {
  /** Type-level marker (see ModelBrand): makes `Customer` a relation target in field types. */
  declare readonly __proxormModel: true;

  static browse<M extends BaseModel>(
    this: ModelClass<M>,
    ids: KeyOf<M> | readonly KeyOf<M>[],
    options?: BrowseOptions,
  ): RecordSet<M> {
    return defaultApi(this).browse(ids, options);
  }

  static search<M extends BaseModel>(
    this: ModelClass<M>,
    domain?: Domain,
    options?: SearchOptions,
  ): Promise<RecordSet<M>> {
    return defaultApi(this).search(domain, options);
  }

  static searchCount<M extends BaseModel>(this: ModelClass<M>, domain?: Domain): Promise<number> {
    return defaultApi(this).searchCount(domain);
  }

  static create<M extends BaseModel>(this: ModelClass<M>, values: CreateValues<M>): Promise<RecordSet<M>>;
  static create<M extends BaseModel>(this: ModelClass<M>, values: readonly CreateValues<M>[]): Promise<RecordSet<M>>;
  static create<M extends BaseModel>(
    this: ModelClass<M>,
    values: CreateValues<M> | readonly CreateValues<M>[],
  ): Promise<RecordSet<M>> {
    return defaultApi(this).create(values as CreateValues<M>);
  }
}

/**
 * The recordset methods a model class may override (model/members.ts), as the type
 * system sees them on BaseModel, so that `super.write(values)` type-checks in an
 * override. Loosely typed here (`this` is the subclass's, unknown to BaseModel); the
 * override's own parameter carries the model's types, and on a record the recordset's
 * typing applies (RecordSet<M>).
 */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging -- see the class above
export interface BaseModel {
  /** See RecordSetBase.write. */
  write(values: object): Promise<void>;
  /** See RecordSetBase.unlink. */
  unlink(): Promise<void>;
  /** See RecordSetBase.toJSON. */
  toJSON(): Record<string, unknown> | Record<string, unknown>[];
}

/**
 * `this` inside a getter of a model class, typed as the record it is (a getter cannot
 * declare a `this` parameter the way a method can): `asRecord<Account>(this).name` is a
 * Promise (name the class: inside a class `this` is a type of its own). Returns its
 * argument unchanged.
 */
export function asRecord<M extends BaseModel>(model: M): RecordSet<M> {
  return model as unknown as RecordSet<M>;
}

// Runtime only: typing BaseModel as a RecordSetBase would make `ids`, `length`, ... fields of every model.
Object.setPrototypeOf(BaseModel.prototype, RecordSetBase.prototype);
// Where @Model's check of class members (model/members.ts) stops walking up.
Object.defineProperty(BaseModel.prototype, LIBRARY_PROTOTYPE, { value: true });

function defaultApi<M>(cls: ModelClass<M>): ModelApi<M> {
  const session = defaultSession();
  return modelApi(session, session.models.schemaOf(cls)) as ModelApi<M>;
}
