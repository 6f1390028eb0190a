import 'reflect-metadata';
import { SchemaError } from '../errors';
import {
  BASE_OPTION_KEYS, DESIGN_TYPES, TYPE_OPTION_KEYS, inferFieldType,
  DATETIME_FORMATS, isColumn, type BaseFieldOptions, type DatetimeFieldOptions, type DecimalFieldOptions, type FieldDef, type FieldOptions, type FieldType,
  type Many2manyOptions, type Many2oneOptions, type RelationType, type StringFieldOptions,
} from './field-types';
import { keyField, parsePrimaryKey, type PrimaryKeyOption } from './keys';
import { registerModel } from './registry';
import { RESERVED_NAMES, type ModelSchema } from './schema';
import { normalizeValue } from './values';
import { parseOrder } from './order';
import { NAMINGS, columnFor, referenceColumnFor, type Naming } from './naming';

/** A field declared by @Field, waiting for @Model to run on its class. */
interface PendingField {
  readonly name: string;
  readonly type: FieldType | undefined;
  readonly designType: unknown;
  readonly options: FieldOptions;
  /** Relational fields: the target class (lazily) and, for one2many, the inverse field. */
  readonly target?: () => Function;
  readonly inverse?: string;
}

const pendingFields = new WeakMap<object, PendingField[]>();
/** Names usable unquoted-looking on both databases; 64 is MySQL's limit for identifiers. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

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
}

/** Class decorator: registers the class as a model, with the fields `@Field` declared on it. */
export function Model(arg: string | ModelOptions): ClassDecorator {
  return (target) => {
    const options = typeof arg === 'string' ? { name: arg } : arg;
    if (!options || typeof options !== 'object') throw new SchemaError(`@Model on ${target.name}: expected a name or { name, table, order }`);
    checkKeys(`@Model on ${target.name}`, options, ['name', 'table', 'order', 'primaryKey', 'naming', 'readonly']);
    const { name, table = options.name, order = 'id', naming, readonly = false } = options;
    if (typeof name !== 'string' || !IDENTIFIER.test(name)) throw new SchemaError(`@Model on ${target.name}: invalid model name ${JSON.stringify(name)}`);
    if (typeof table !== 'string' || !IDENTIFIER.test(table)) throw new SchemaError(`@Model "${name}": invalid table name ${JSON.stringify(table)}`);
    if (naming !== undefined && !NAMINGS.includes(naming)) throw new SchemaError(`@Model "${name}": naming must be one of ${NAMINGS.map((n) => `'${n}'`).join(', ')}`);
    if (typeof readonly !== 'boolean') throw new SchemaError(`@Model "${name}": option "readonly" must be a boolean`);

    const primaryKey = parsePrimaryKey(name, options.primaryKey, (c) => IDENTIFIER.test(c));
    const fields = new Map<string, FieldDef>();
    for (const pending of collectPending(target.prototype)) {
      if (fields.has(pending.name)) continue; // a subclass redeclared it; the subclass wins
      fields.set(pending.name, resolveField(name, pending, naming));
    }
    // Column names are compared without case, as both databases do.
    const columns = new Set<string>([primaryKey.column.toLowerCase()]);
    for (const f of columnsOf(fields)) {
      if (columns.has(f.column.toLowerCase())) throw new SchemaError(`model "${name}": column "${f.column}" is used twice`);
      columns.add(f.column.toLowerCase());
    }
    const schema: ModelSchema = {
      name, table, order, fields, cls: target, readonly, primaryKey, idField: keyField(primaryKey),
      prefetchFields: [...fields.values()].filter((f) => f.prefetch && isColumn(f)),
      columnFields: [...fields.values()].filter(isColumn),
    };
    parseOrder(schema, order, (msg) => new SchemaError(`@Model "${name}": bad order: ${msg}`));
    registerModel(schema);
  };
}

function columnsOf(fields: Map<string, FieldDef>): FieldDef[] {
  return [...fields.values()].filter(isColumn);
}

/** Own pending fields first, then those inherited from model base classes. */
function collectPending(proto: object | null): PendingField[] {
  const out: PendingField[] = [];
  for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    out.push(...(pendingFields.get(p) ?? []));
  }
  return out;
}

function declare(
  type: FieldType | undefined, options: FieldOptions = {}, relation?: { target: () => Function; inverse?: string },
): PropertyDecorator {
  return (target, key) => {
    const owner = typeof target === 'function' ? target.name : (target as { constructor?: Function }).constructor?.name ?? '?';
    if (typeof key !== 'string') throw new SchemaError(`@Field on ${owner}: symbol properties cannot be fields`);
    if (typeof target === 'function') throw new SchemaError(`@Field on static ${owner}.${key}: fields are instance properties`);
    if (!options || typeof options !== 'object') throw new SchemaError(`@Field on ${owner}.${key}: options must be an object`);
    const list = pendingFields.get(target) ?? [];
    if (relation && typeof relation.target !== 'function') {
      throw new SchemaError(`@Field.${type} on ${owner}.${key}: the target must be a function returning the model class, e.g. () => Customer`);
    }
    list.push({ name: key, type, designType: Reflect.getMetadata('design:type', target, key), options, ...relation });
    pendingFields.set(target, list);
  };
}

function resolveField(model: string, p: PendingField, naming: Naming | undefined): FieldDef {
  const where = `@Field ${model}.${p.name}`;
  if (RESERVED_NAMES.has(p.name)) throw new SchemaError(`${where}: "${p.name}" is reserved by recordsets; choose another property name (use { column } to keep the column name)`);
  if (!IDENTIFIER.test(p.name)) throw new SchemaError(`${where}: invalid property name`);
  const type = p.type ?? inferFieldType(p.designType);
  if (!type) {
    const declared = (p.designType as Function | undefined)?.name ?? 'unknown';
    throw new SchemaError(`${where}: cannot infer a column type from design:type ${declared}; use @Field.json(), @Field.float(), @Field.text(), ...`);
  }
  if (p.target) return resolveRelation(model, p, type as RelationType, where, naming);
  if (p.type && p.designType !== undefined && !DESIGN_TYPES[type].includes(p.designType)) {
    throw new SchemaError(`${where}: @Field.${type}() does not fit the declared TypeScript type ${(p.designType as Function).name}`);
  }
  checkKeys(where, p.options, [...BASE_OPTION_KEYS, ...TYPE_OPTION_KEYS[type]]);
  const o = p.options;
  const column = o.column ?? columnFor(p.name, naming);
  if (typeof column !== 'string' || !IDENTIFIER.test(column)) throw new SchemaError(`${where}: invalid column name ${JSON.stringify(column)}`);
  for (const flag of ['required', 'index', 'unique', 'prefetch'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new SchemaError(`${where}: option "${flag}" must be a boolean`);
  }
  // Upper bounds are MySQL's: VARCHAR of utf8mb4 holds 16,383 characters (use text for
  // more), DECIMAL at most 65 digits with 30 after the point.
  const size = positiveInt(where, 'size', o.size, 255, 16383);
  const precision = positiveInt(where, 'precision', o.precision, 12, 65);
  const scale = o.scale === 0 ? 0 : positiveInt(where, 'scale', o.scale, 2, 30);
  if (scale > precision) throw new SchemaError(`${where}: scale ${scale} exceeds precision ${precision}`);
  if (o.format !== undefined && !DATETIME_FORMATS.includes(o.format)) {
    throw new SchemaError(`${where}: option "format" must be one of ${DATETIME_FORMATS.map((f) => `'${f}'`).join(', ')}`);
  }
  const def: FieldDef = {
    name: p.name, type, column,
    required: o.required ?? false,
    default: o.default,
    index: o.index ?? false,
    unique: o.unique ?? false,
    prefetch: o.prefetch ?? true,
    size, precision, scale,
    ...(type === 'datetime' ? { format: o.format ?? 'iso' } : {}),
  };
  if (def.default === undefined || typeof def.default === 'function') return def;
  try {
    // Stored canonical, so create() and schema sync use it as is.
    return { ...def, default: normalizeValue(model, def, def.default) };
  } catch (e) {
    throw new SchemaError(`${where}: invalid default: ${(e as Error).message}`);
  }
}

const RELATION_KEYS: Readonly<Record<RelationType, readonly string[]>> = {
  many2one: ['required', 'column', 'prefetch', 'onDelete'],
  one2many: [],
  many2many: ['relation', 'column1', 'column2'],
};

function resolveRelation(model: string, p: PendingField, type: RelationType, where: string, naming: Naming | undefined): FieldDef {
  const o = p.options;
  checkKeys(where, o, RELATION_KEYS[type]);
  const base = {
    name: p.name, type, target: p.target, required: false, default: undefined, index: false, unique: false,
    prefetch: false, size: 0, precision: 0, scale: 0,
  };
  if (type === 'many2one') {
    const column = o.column ?? referenceColumnFor(p.name, naming);
    if (typeof column !== 'string' || !IDENTIFIER.test(column)) throw new SchemaError(`${where}: invalid column name ${JSON.stringify(column)}`);
    if (o.required !== undefined && typeof o.required !== 'boolean') throw new SchemaError(`${where}: option "required" must be a boolean`);
    const required = o.required ?? false;
    const onDelete = o.onDelete ?? (required ? 'restrict' : 'set null');
    if (!['restrict', 'cascade', 'set null'].includes(onDelete)) throw new SchemaError(`${where}: onDelete must be 'restrict', 'cascade' or 'set null'`);
    if (onDelete === 'set null' && required) throw new SchemaError(`${where}: a required many2one cannot be set null on delete`);
    return { ...base, column, required, onDelete, index: true, prefetch: o.prefetch ?? true };
  }
  if (type === 'one2many') {
    if (typeof p.inverse !== 'string' || !IDENTIFIER.test(p.inverse)) throw new SchemaError(`${where}: one2many needs the name of the inverse many2one field`);
    return { ...base, column: '', inverse: p.inverse };
  }
  for (const k of ['relation', 'column1', 'column2'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'string' || !IDENTIFIER.test(v))) throw new SchemaError(`${where}: invalid ${k} ${JSON.stringify(v)}`);
  }
  // relation/column defaults need the target's name: filled in by relations.ts on first use.
  return { ...base, column: '', relation: o.relation, column1: o.column1, column2: o.column2 };
}

function positiveInt(where: string, key: string, value: unknown, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new SchemaError(`${where}: option "${key}" must be an integer from 1 to ${max}`);
  }
  return value;
}

function checkKeys(where: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new SchemaError(`${where}: unknown option "${key}" (allowed: ${allowed.join(', ')})`);
  }
}

type FieldFactory<O> = (options?: O) => PropertyDecorator;

/**
 * Property decorator declaring a column field. `@Field()` infers the type from the
 * TypeScript type (string, number -> integer, boolean, Date); `@Field.float()` and the
 * other members name it explicitly.
 */
export const Field: ((options?: BaseFieldOptions<unknown> & { size?: number; format?: DatetimeFieldOptions['format'] }) => PropertyDecorator) & {
  string: FieldFactory<StringFieldOptions>;
  text: FieldFactory<BaseFieldOptions<string>>;
  integer: FieldFactory<BaseFieldOptions<number>>;
  float: FieldFactory<BaseFieldOptions<number>>;
  decimal: FieldFactory<DecimalFieldOptions>;
  boolean: FieldFactory<BaseFieldOptions<boolean>>;
  /** A UTC datetime; `format` picks how its column stores it (see DatetimeFormat). */
  datetime: FieldFactory<DatetimeFieldOptions>;
  json: FieldFactory<BaseFieldOptions<unknown>>;
  /** A reference to one record of `target`: a FK column `<name>_id` (indexed, with a real constraint). */
  many2one: (target: () => Function, options?: Many2oneOptions) => PropertyDecorator;
  /** The records of `target` whose many2one `inverse` points to this record. */
  one2many: (target: () => Function, inverse: string) => PropertyDecorator;
  /** Records of `target` linked through a relation table. */
  many2many: (target: () => Function, options?: Many2manyOptions) => PropertyDecorator;
} = Object.assign((options?: FieldOptions) => declare(undefined, options), {
  many2one: (target: () => Function, o?: Many2oneOptions) => declare('many2one', o as FieldOptions, { target }),
  one2many: (target: () => Function, inverse: string) => declare('one2many', {}, { target, inverse }),
  many2many: (target: () => Function, o?: Many2manyOptions) => declare('many2many', o as FieldOptions, { target }),
  string: (o?: StringFieldOptions) => declare('string', o),
  text: (o?: BaseFieldOptions<string>) => declare('text', o),
  integer: (o?: BaseFieldOptions<number>) => declare('integer', o),
  float: (o?: BaseFieldOptions<number>) => declare('float', o),
  decimal: (o?: DecimalFieldOptions) => declare('decimal', o as FieldOptions),
  boolean: (o?: BaseFieldOptions<boolean>) => declare('boolean', o),
  datetime: (o?: DatetimeFieldOptions) => declare('datetime', o as FieldOptions),
  json: (o?: BaseFieldOptions<unknown>) => declare('json', o),
});
