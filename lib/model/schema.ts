import type { Domain } from '../query/domain';
import type { ClassRef } from './class-ref';
import type { FieldDef } from './field-types';
import type { PrimaryKeyDef } from './keys';

/** One term of a model's default order, e.g. `name desc`. */
export interface OrderTerm {
  readonly field: string;
  readonly column: string;
  readonly direction: 'asc' | 'desc';
}

/** The registered description of a model: what `@Model` and `@Field` declared. */
export interface ModelSchema {
  readonly name: string;
  readonly table: string;
  /** Order of search results when the caller gives none (default: id). */
  readonly order: string;
  /** The key column: what `id`, `ids` and `browse` speak of. */
  readonly primaryKey: PrimaryKeyDef;
  /** The key as a field named "id" (not in `fields`): for domains, orders and checks. */
  readonly idField: FieldDef;
  /** Declared fields by property name ("id" is implicit and not in here). */
  readonly fields: ReadonlyMap<string, FieldDef>;
  /** Column fields a miss on another field loads too (prefetch !== false). */
  readonly prefetchFields: readonly FieldDef[];
  /** Fields stored as columns of the table: scalars and many2one. */
  readonly columnFields: readonly FieldDef[];
  readonly cls: ClassRef;
  /** A view or a table the app must not write: never synced, never written (model/writable.ts). */
  readonly readonly: boolean;
  /**
   * `ttl`: ms a cached record of this model lives (0: no TTL; undefined: the Environment's).
   * `shared`: whether the shared cache (L2), when the Environment has one, holds its records.
   * `warm`: the records Environment.open loads before it resolves (fields checked, domain not yet).
   */
  readonly cache: {
    readonly ttl: number | undefined;
    readonly shared: boolean;
    readonly warm: ModelWarmer | undefined;
  };
}

/**
 * A model's warmer (`@Model({ cache: { warm } })`): Environment.open runs
 * `env.warm(model, domain, fields)` with it. `domain` default `[]` (every record);
 * `fields` default: the prefetchable fields.
 */
export interface ModelWarmer {
  readonly domain?: Domain;
  readonly fields?: readonly string[];
}

/**
 * Longest model, table or column name a model may declare, whatever the database: the
 * largest limit of the databases proxorm runs on, so that no name is refused by every
 * one of them. A database with a smaller limit refuses a longer name when an
 * Environment opens on it (Dialect.maxIdentifierLength, ModelSet.checkIdentifiers).
 */
export const MAX_DECLARED_NAME_LENGTH = 64;

/**
 * Longest identifier proxorm creates or accepts for derived names: PostgreSQL's 63, the
 * smallest limit of the databases supported or planned (see db/names.ts).
 */
export const MAX_NAME_LENGTH = 63;

/**
 * Public recordset methods a model class may override, Odoo style: a record's prototype
 * chain runs through the class before the recordset's methods (record/prototype.ts), so
 * the class's `async write(values) { ...; await super.write(values); }` is what
 * `record.write(...)` calls. Only as methods: a getter or a value of that name is refused.
 */
export const OVERRIDABLE_METHODS: ReadonlySet<string> = new Set([
  'at',
  'ensureOne',
  'exists',
  'prefetch',
  'toDict',
  'read',
  'write',
  'unlink',
  'filtered',
  'mapped',
  'sorted',
  'concat',
  'union',
  'toString',
  'toJSON',
]);

/**
 * Property names a field may not take, because recordsets answer them themselves
 * (the record proxy would shadow either the field or the method). A test checks that
 * this list covers every member of RecordSet. Members of a model class may not take
 * them either, except methods overriding the public recordset methods (members.ts).
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  'id',
  'ids',
  'env',
  'session',
  'model',
  'length',
  'then',
  'catch',
  'finally',
  'constructor',
  'prototype',
  '__proto__',
  ...OVERRIDABLE_METHODS,
  'isEmpty',
  'withEnv',
  'valueOf',
  'inspect',
  'hasOwnProperty',
  'prefetchIds',
  'schema',
  'readField',
  'browse',
  'search',
  'searchCount',
  'create',
  // private members of RecordSetBase and ModelApi: inside their methods `this` is the proxy
  'readValue',
  'ensureSingle',
  'fieldDef',
  'fieldDefs',
  'derive',
  'combine',
  'recordSet',
  'displayOf',
  // Object.prototype's members (toLocaleString, isPrototypeOf, __defineGetter__, ...): a
  // record is an object, and code that treats it as one calls them through the proxy
  // (e.g. `[record].toLocaleString()` would call a field's Promise).
  ...Object.getOwnPropertyNames(Object.prototype),
]);
