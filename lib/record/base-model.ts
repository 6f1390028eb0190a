import { Environment } from '../env/environment';
import type { Domain } from '../query/domain';
import type { BrowseOptions, SearchOptions } from './model-api';
import type { ModelBrand, ModelClass, RecordSet, Values } from './types';

/**
 * Base class of models. Instances are never made: a model class only declares fields
 * (read through recordsets). The static calls are shortcuts for
 * `Environment.default.model(ThisModel).<call>`.
 */
export abstract class BaseModel implements ModelBrand {
  /** Type-level marker (see ModelBrand): makes `Customer` a relation target in field types. */
  declare readonly __proxormModel: true;

  static browse<M extends BaseModel>(this: ModelClass<M>, ids: number | readonly number[], options?: BrowseOptions): RecordSet<M> {
    return Environment.default.model(this).browse(ids, options);
  }

  static search<M extends BaseModel>(this: ModelClass<M>, domain?: Domain, options?: SearchOptions): Promise<RecordSet<M>> {
    return Environment.default.model(this).search(domain, options);
  }

  static searchCount<M extends BaseModel>(this: ModelClass<M>, domain?: Domain): Promise<number> {
    return Environment.default.model(this).searchCount(domain);
  }

  static create<M extends BaseModel>(this: ModelClass<M>, values: Partial<Values<M>>): Promise<RecordSet<M>>;
  static create<M extends BaseModel>(this: ModelClass<M>, values: readonly Partial<Values<M>>[]): Promise<RecordSet<M>>;
  static create<M extends BaseModel>(this: ModelClass<M>, values: Partial<Values<M>> | readonly Partial<Values<M>>[]): Promise<RecordSet<M>> {
    return Environment.default.model(this).create(values as Partial<Values<M>>);
  }
}
