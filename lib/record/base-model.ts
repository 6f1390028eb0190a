import { defaultSession } from '../session/default';
import type { Domain } from '../query/domain';
import { modelApi, type BrowseOptions, type ModelApi, type SearchOptions } from './model-api';
import type { CreateValues, KeyOf, ModelBrand, ModelClass, RecordSet } from './types';

/**
 * Base class of models. Instances are never made: a model class only declares fields
 * (read through recordsets). The static calls are shortcuts for
 * `Environment.default.model(ThisModel).<call>`.
 */
export abstract class BaseModel implements ModelBrand {
  /** Type-level marker (see ModelBrand): makes `Customer` a relation target in field types. */
  declare readonly __proxormModel: true;

  static browse<M extends BaseModel>(this: ModelClass<M>, ids: KeyOf<M> | readonly KeyOf<M>[], options?: BrowseOptions): RecordSet<M> {
    return defaultApi(this).browse(ids, options);
  }

  static search<M extends BaseModel>(this: ModelClass<M>, domain?: Domain, options?: SearchOptions): Promise<RecordSet<M>> {
    return defaultApi(this).search(domain, options);
  }

  static searchCount<M extends BaseModel>(this: ModelClass<M>, domain?: Domain): Promise<number> {
    return defaultApi(this).searchCount(domain);
  }

  static create<M extends BaseModel>(this: ModelClass<M>, values: CreateValues<M>): Promise<RecordSet<M>>;
  static create<M extends BaseModel>(this: ModelClass<M>, values: readonly CreateValues<M>[]): Promise<RecordSet<M>>;
  static create<M extends BaseModel>(this: ModelClass<M>, values: CreateValues<M> | readonly CreateValues<M>[]): Promise<RecordSet<M>> {
    return defaultApi(this).create(values as CreateValues<M>);
  }
}

function defaultApi<M>(cls: ModelClass<M>): ModelApi<M> {
  const session = defaultSession();
  return modelApi(session, session.models.schemaOf(cls)) as ModelApi<M>;
}
