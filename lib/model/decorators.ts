import { prototypeOf, type ClassRef } from './class-ref';
import { SchemaError } from '../errors';
import { isColumn, type FieldDef } from './field-types';
import { declareOn, fieldsOf, startStandardClass, takeStandardFields } from './field-declaration';
import { keyField, parsePrimaryKey, type PrimaryKeyOption } from './keys';
import { registerModel } from './registry';
import { checkClassMembers } from './members';
import type { Domain } from '../query/domain';
import type { ModelSchema, ModelWarmer } from './schema';
import { parseOrder } from './order';
import { NAMINGS, type Naming } from './naming';
import { IDENTIFIER, checkKeys, resolveField } from './resolve-field';

export { Field } from './field';
export type { FieldDecorator } from './field-declaration';

export interface ModelOptions {
  /** Model name, used in errors, env.clearCache(name) and invalidateRecord(name, id). */
  name: string;
  /** Table name; defaults to the model name. */
  table?: string;
  /** Default order of search results, e.g. "name desc, id"; defaults to "id". */
  order?: string;
  /**
   * The key column (default: an auto-increment integer `id`): a column name for a
   * generated integer key, or `{ column, type: 'integer' | 'string' | 'uuid', generated,
   * size }` (see README "Primary keys").
   */
  primaryKey?: PrimaryKeyOption;
  /**
   * How fields without `column` name their column: default the property name;
   * 'snake_case' maps `firstName` to `first_name` and a many2one `supportRep` to
   * `support_rep_id` (rules in naming.ts). The key column keeps its own name.
   */
  naming?: Naming;
  /**
   * A view, or a table the app must not write: sync() leaves it alone (it must exist),
   * create / write / unlink on it are a ValidationError, and nothing references it by FK.
   */
  readonly?: boolean;
  /**
   * How this model's records are cached: `ttl`, how long (ms) a record's cached values
   * serve reads before they are loaded again; it overrides the Environment's
   * `cache.ttl`, and 0 means no TTL for this model (README "Cache size and expiry").
   * `shared: false` keeps the model out of the shared cache (README "Caching across
   * requests and processes"): for a table written outside proxorm. `warm: { domain,
   * fields }` loads those records when an Environment mapping the model opens (README
   * "Warming").
   */
  cache?: ModelCacheOptions;
}

export interface ModelCacheOptions {
  ttl?: number;
  /** Whether the Environment's shared cache (L2), when it has one, holds this model's records (default true). */
  shared?: boolean;
  /** Records Environment.open loads into the cache before it resolves: `{ domain?, fields? }`. */
  warm?: ModelWarmer;
}

export const MODEL_OPTION_KEYS: readonly string[] = [
  'name',
  'table',
  'order',
  'primaryKey',
  'naming',
  'readonly',
  'cache',
];

/** A class decorator, for either decorator proposal. */
export interface ModelDecorator {
  /** Legacy decorators (`experimentalDecorators`). */
  (target: ClassRef): void;
  /** Standard (TC39) decorators. */
  (target: ClassRef, context: ClassDecoratorContext): void;
}

/**
 * Class decorator: registers the class as a model, with its fields. Under standard
 * decorators it first takes the fields its field decorators left pending (they run
 * just before it; this call, just before them: see field-declaration.ts).
 */
export function Model(arg: string | ModelOptions): ModelDecorator {
  startStandardClass();
  // `@Model class X` calls this with the class: the decorator returned would replace it.
  const given: unknown = arg;
  if (typeof given === 'function')
    throw new SchemaError(
      `@Model on ${given.name}: @Model needs the model's name: @Model('name') or @Model({ name, ... })`,
    );
  return (target: ClassRef, context?: ClassDecoratorContext) => {
    if (context !== undefined) {
      const fields = takeStandardFields(context.metadata);
      if (context.kind !== 'class')
        throw new SchemaError(`@Model on ${String(context.name)}: @Model decorates a class`);
      declareOn(prototypeOf(target), fields, target.name);
    }
    defineSchema(target, arg);
  };
}

/**
 * The one place a class becomes a model: checks the options and the fields declared on
 * the class and its bases, and registers the schema. @Model and defineModel call it.
 */
export function defineSchema(target: ClassRef, arg: string | ModelOptions): void {
  const options = typeof arg === 'string' ? { name: arg } : arg;
  if (!options || typeof options !== 'object')
    throw new SchemaError(`@Model on ${target.name}: expected a name or { name, table, order }`);
  checkKeys(`@Model on ${target.name}`, options, MODEL_OPTION_KEYS);
  const { name, table = options.name, order = 'id', naming, readonly = false } = options;
  if (typeof name !== 'string' || !IDENTIFIER.test(name))
    throw new SchemaError(`@Model on ${target.name}: invalid model name ${JSON.stringify(name)}`);
  if (typeof table !== 'string' || !IDENTIFIER.test(table))
    throw new SchemaError(`@Model "${name}": invalid table name ${JSON.stringify(table)}`);
  if (naming !== undefined && !NAMINGS.includes(naming))
    throw new SchemaError(`@Model "${name}": naming must be one of ${NAMINGS.map((n) => `'${n}'`).join(', ')}`);
  if (typeof readonly !== 'boolean') throw new SchemaError(`@Model "${name}": option "readonly" must be a boolean`);

  const primaryKey = parsePrimaryKey(name, options.primaryKey, (c) => IDENTIFIER.test(c));
  const fields = new Map<string, FieldDef>();
  for (const pending of fieldsOf(prototypeOf(target))) {
    if (fields.has(pending.name)) continue; // a subclass redeclared it; the subclass wins
    fields.set(pending.name, resolveField(name, pending, naming));
  }
  const cache = modelCacheOptions(name, options.cache, fields);
  // Column names are compared without case, as both databases do.
  const columns = new Set<string>([primaryKey.column.toLowerCase()]);
  for (const f of [...fields.values()].filter(isColumn)) {
    if (columns.has(f.column.toLowerCase()))
      throw new SchemaError(`model "${name}": column "${f.column}" is used twice`);
    columns.add(f.column.toLowerCase());
  }
  const schema: ModelSchema = {
    name,
    table,
    order,
    fields,
    cls: target,
    readonly,
    cache,
    primaryKey,
    idField: keyField(primaryKey),
    prefetchFields: [...fields.values()].filter((f) => f.prefetch && isColumn(f)),
    columnFields: [...fields.values()].filter(isColumn),
  };
  parseOrder(schema, order, (msg) => new SchemaError(`@Model "${name}": bad order: ${msg}`));
  checkClassMembers(name, target);
  registerModel(schema);
}

function modelCacheOptions(name: string, value: unknown, fields: ReadonlyMap<string, FieldDef>): ModelSchema['cache'] {
  if (value === undefined) return { ttl: undefined, shared: true, warm: undefined };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new SchemaError(`@Model "${name}": option "cache" must be an object ({ ttl, shared, warm })`);
  checkKeys(`@Model "${name}": option "cache"`, value, ['ttl', 'shared', 'warm']);
  const { ttl, shared = true, warm } = value as { ttl?: unknown; shared?: unknown; warm?: unknown };
  if (typeof shared !== 'boolean') throw new SchemaError(`@Model "${name}": "cache.shared" must be a boolean`);
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 0))
    throw new SchemaError(`@Model "${name}": "cache.ttl" must be a non-negative integer (ms; 0: no TTL)`);
  return { ttl, shared, warm: warmer(name, warm, fields) };
}

/**
 * Checks `cache.warm`'s shape and field names here; its domain may follow relations to
 * models not yet defined, so Environment.open parses it (DomainError before connecting).
 */
function warmer(name: string, value: unknown, fields: ReadonlyMap<string, FieldDef>): ModelWarmer | undefined {
  if (value === undefined) return undefined;
  const where = `@Model "${name}": "cache.warm"`;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new SchemaError(`${where} must be an object ({ domain, fields })`);
  checkKeys(where, value, ['domain', 'fields']);
  const { domain, fields: names } = value as { domain?: unknown; fields?: unknown };
  if (domain !== undefined && !Array.isArray(domain))
    throw new SchemaError(`${where}: "domain" must be an array of terms`);
  if (names !== undefined) {
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))
      throw new SchemaError(`${where}: "fields" must be an array of field names`);
    const unknown = (names as string[]).filter((n) => !fields.has(n));
    if (unknown.length)
      throw new SchemaError(
        `${where}: unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((n) => JSON.stringify(n)).join(', ')}`,
      );
  }
  return Object.freeze({
    domain: domain === undefined ? undefined : Object.freeze([...(domain as Domain)]),
    fields: names === undefined ? undefined : Object.freeze([...(names as string[])]),
  });
}
