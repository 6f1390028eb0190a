import { ValidationError } from '../errors';
import { parseOrder } from '../model/order';
import type { Session } from '../session/session';
import type { ModelSchema } from '../model/schema';
import { parseDomain, type Domain } from '../query/domain';
import { countRows, searchIds } from '../query/statements';
import { createRecords } from './writes';
import { makeRecordSet } from './recordset';
import { validKey, type Key } from '../model/keys';
import type { CreateValues, KeyOf, RecordSet } from './types';

export interface BrowseOptions {
  /** false: this recordset has no prefetch set; a miss loads only the record read. */
  prefetch?: boolean;
}

export interface SearchOptions extends BrowseOptions {
  limit?: number;
  offset?: number;
  /** e.g. "amount desc, id"; defaults to the model's order. */
  order?: string;
}

/** Model-level calls of one model in one Environment: `env.model(User)`. */
export class ModelApi<M> {
  /** @internal */
  readonly session: Session;
  /** @internal */
  readonly schema: ModelSchema;

  /** @internal use env.model(M) */
  constructor(session: Session, schema: ModelSchema) {
    this.session = session;
    this.schema = schema;
  }

  /** Records by key, without a query; a record that does not exist fails when read. */
  browse(ids: KeyOf<M> | readonly KeyOf<M>[], options: BrowseOptions = {}): RecordSet<M> {
    const list: readonly unknown[] = Array.isArray(ids)
      ? ids
      : typeof ids === 'number' || typeof ids === 'string'
        ? [ids]
        : [];
    if (!Array.isArray(ids) && list.length === 0)
      throw new ValidationError(`${this.schema.name}.browse: expected a key or an array of keys`);
    const where = `${this.schema.name}.browse`;
    return this.recordSet(
      list.map((id) => validKey(this.schema.primaryKey, id, where)),
      options,
    );
  }

  /** Records matching a domain (DESIGN §3), as one prefetch set. */
  async search(domain: Domain = [], options: SearchOptions = {}): Promise<RecordSet<M>> {
    const cond = parseDomain(this.schema, domain);
    const where = `${this.schema.name}.search`;
    checkOptionKeys(where, options, ['limit', 'offset', 'order', 'prefetch']);
    const bad = (msg: string) => new ValidationError(`${where}: ${msg}`);
    for (const k of ['limit', 'offset'] as const) {
      const v = options[k];
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 0)) throw bad(`${k} must be a non-negative integer`);
    }
    const order = parseOrder(this.schema, options.order ?? this.schema.order, bad);
    const ids = await searchIds(this.session.scope().executor, this.schema, cond, {
      order,
      limit: options.limit,
      offset: options.offset,
    });
    return this.recordSet(ids, options);
  }

  async searchCount(domain: Domain = []): Promise<number> {
    return countRows(this.session.scope().executor, this.schema, parseDomain(this.schema, domain));
  }

  /**
   * Inserts one record or many (one INSERT per chunk of rows, in a transaction) and
   * returns them. The cache holds every field of the new records (given values,
   * defaults and nulls), so reading them back sends no query.
   */
  async create(values: CreateValues<M>): Promise<RecordSet<M>>;
  async create(values: readonly CreateValues<M>[]): Promise<RecordSet<M>>;
  async create(values: CreateValues<M> | readonly CreateValues<M>[]): Promise<RecordSet<M>> {
    const ids = await createRecords(this.session, this.schema, Array.isArray(values) ? values : [values]);
    return this.recordSet(ids, {});
  }

  private recordSet(ids: Key[], options: BrowseOptions): RecordSet<M> {
    if (options.prefetch !== undefined && typeof options.prefetch !== 'boolean') {
      throw new ValidationError(`${this.schema.name}: option "prefetch" must be a boolean`);
    }
    const prefetch = options.prefetch ?? this.session.prefetch;
    return makeRecordSet<M>(this.session, this.schema, ids, prefetch ? ids : null);
  }
}

const apis = new WeakMap<Session, Map<ModelSchema, ModelApi<unknown>>>();

/** The ModelApi of a model in a session (one per pair). */
export function modelApi(session: Session, schema: ModelSchema): ModelApi<unknown> {
  let bySchema = apis.get(session);
  if (!bySchema) apis.set(session, (bySchema = new Map<ModelSchema, ModelApi<unknown>>()));
  let api = bySchema.get(schema);
  if (!api) bySchema.set(schema, (api = new ModelApi<unknown>(session, schema)));
  return api;
}

function checkOptionKeys(where: string, options: object, allowed: readonly string[]): void {
  if (options === null || typeof options !== 'object') throw new ValidationError(`${where}: options must be an object`);
  for (const k of Object.keys(options)) {
    if (!allowed.includes(k)) throw new ValidationError(`${where}: unknown option "${k}"`);
  }
}
