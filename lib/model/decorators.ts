import { prototypeOf, type ClassRef } from './class-ref';
import { SchemaError } from '../errors';
import { isColumn, type FieldDef } from './field-types';
import { declareOn, fieldsOf, startStandardClass, takeStandardFields } from './field-declaration';
import { keyField, parsePrimaryKey, type PrimaryKeyOption } from './keys';
import { registerModel } from './registry';
import { checkClassMembers } from './members';
import type { ModelSchema } from './schema';
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
   */
  cache?: ModelCacheOptions;
}

export interface ModelCacheOptions {
  ttl?: number;
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
  const cache = modelCacheOptions(name, options.cache);

  const primaryKey = parsePrimaryKey(name, options.primaryKey, (c) => IDENTIFIER.test(c));
  const fields = new Map<string, FieldDef>();
  for (const pending of fieldsOf(prototypeOf(target))) {
    if (fields.has(pending.name)) continue; // a subclass redeclared it; the subclass wins
    fields.set(pending.name, resolveField(name, pending, naming));
  }
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

function modelCacheOptions(name: string, value: unknown): ModelSchema['cache'] {
  if (value === undefined) return { ttl: undefined };
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new SchemaError(`@Model "${name}": option "cache" must be an object ({ ttl })`);
  checkKeys(`@Model "${name}": option "cache"`, value, ['ttl']);
  const { ttl } = value as { ttl?: unknown };
  if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 0))
    throw new SchemaError(`@Model "${name}": "cache.ttl" must be a non-negative integer (ms; 0: no TTL)`);
  return { ttl };
}
