import { SchemaError } from '../errors';
import {
  BASE_OPTION_KEYS,
  DATETIME_FORMATS,
  DESIGN_TYPES,
  TYPE_OPTION_KEYS,
  inferFieldType,
  type FieldDef,
  type RelationType,
} from './field-types';
import { declarationProblem, type PendingField } from './field-declaration';
import { MAX_DECLARED_NAME_LENGTH, RESERVED_NAMES } from './schema';
import { normalizeValue } from './values';
import { columnFor, referenceColumnFor, type Naming } from './naming';

/**
 * Names that look the same quoted or not on every database (letters, digits, `_`), of
 * at most MAX_DECLARED_NAME_LENGTH characters; the open database's own limit is checked
 * at open (ModelSet.checkIdentifiers).
 */
export const IDENTIFIER = new RegExp(`^[A-Za-z_][A-Za-z0-9_]{0,${MAX_DECLARED_NAME_LENGTH - 1}}$`);

/**
 * Turns a declared field into its FieldDef, or a SchemaError naming the model, the
 * field and what is wrong. Every way of declaring a field (legacy or standard
 * decorators, defineModel) ends here: one set of rules.
 */
export function resolveField(model: string, p: PendingField, naming: Naming | undefined): FieldDef {
  const where = `@Field ${model}.${p.name}`;
  if (RESERVED_NAMES.has(p.name))
    throw new SchemaError(
      `${where}: "${p.name}" is reserved by recordsets; choose another property name (use { column } to keep the column name)`,
    );
  if (!IDENTIFIER.test(p.name)) throw new SchemaError(`${where}: invalid property name`);
  const problem = declarationProblem(p);
  if (problem) throw new SchemaError(`${where}: ${problem}`);
  const type = p.type ?? inferFieldType(p.designType);
  if (!type) throw new SchemaError(`${where}: ${noTypeReason(p)}`);
  if (p.target) return resolveRelation(model, p, type as RelationType, where, naming);
  if (p.type && p.designType !== undefined && !DESIGN_TYPES[type].includes(p.designType)) {
    throw new SchemaError(
      `${where}: @Field.${type}() does not fit the declared TypeScript type ${(p.designType as { name: string }).name}`,
    );
  }
  checkKeys(where, p.options, [...BASE_OPTION_KEYS, ...TYPE_OPTION_KEYS[type]]);
  const o = p.options;
  const column = o.column ?? columnFor(p.name, naming);
  if (typeof column !== 'string' || !IDENTIFIER.test(column))
    throw new SchemaError(`${where}: invalid column name ${JSON.stringify(column)}`);
  for (const flag of ['required', 'index', 'unique', 'prefetch'] as const) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean')
      throw new SchemaError(`${where}: option "${flag}" must be a boolean`);
  }
  // Upper bounds hold on every database (parity: a model declares the same columns on
  // all), the narrowest of the databases': MySQL's VARCHAR of utf8mb4 holds 16,383
  // characters (use text for more), its DECIMAL at most 65 digits with 30 after the point.
  const size = positiveInt(where, 'size', o.size, 255, 16383);
  const precision = positiveInt(where, 'precision', o.precision, 12, 65);
  const scale = o.scale === 0 ? 0 : positiveInt(where, 'scale', o.scale, 2, 30);
  if (scale > precision) throw new SchemaError(`${where}: scale ${scale} exceeds precision ${precision}`);
  if (o.format !== undefined && !DATETIME_FORMATS.includes(o.format)) {
    throw new SchemaError(
      `${where}: option "format" must be one of ${DATETIME_FORMATS.map((f) => `'${f}'`).join(', ')}`,
    );
  }
  const def: FieldDef = {
    name: p.name,
    type,
    column,
    required: o.required ?? false,
    default: o.default,
    index: o.index ?? false,
    unique: o.unique ?? false,
    prefetch: o.prefetch ?? true,
    size,
    precision,
    scale,
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

const EXPLICIT =
  '@Field.string(), @Field.integer(), @Field.float(), @Field.boolean(), @Field.datetime(), @Field.json(), ...';

/**
 * Why a field declared without a type has none. Three cases a user fixes differently:
 * the TypeScript type was emitted but maps to no column type; no type was emitted at all
 * (legacy decorators without emitDecoratorMetadata, or esbuild/tsx, which never emit
 * it); standard decorators, which carry no TypeScript type by design.
 */
function noTypeReason(p: PendingField): string {
  if (p.declaredBy === 'defineModel') {
    return `no type: Field() infers it from TypeScript metadata, which defineModel has none of; name it (${EXPLICIT.replace(/@/g, '')})`;
  }
  if (p.designType !== undefined) {
    const declared = typeof p.designType === 'function' ? p.designType.name : JSON.stringify(p.designType);
    return `cannot infer a column type from design:type ${declared} (the TypeScript type of the property); name it: @Field.json(), @Field.float(), @Field.text(), ...`;
  }
  if (p.declaredBy === 'standard') {
    return `no type: standard (TC39) decorators carry no TypeScript type; name it (${EXPLICIT}) or compile with "experimentalDecorators" and "emitDecoratorMetadata" in tsconfig.json`;
  }
  return `no type: name it (${EXPLICIT}) or enable "emitDecoratorMetadata" with "experimentalDecorators" in tsconfig.json (esbuild and tsx never emit it: name the type there)`;
}

const RELATION_KEYS: Readonly<Record<RelationType, readonly string[]>> = {
  many2one: ['required', 'column', 'prefetch', 'onDelete'],
  one2many: [],
  many2many: ['relation', 'column1', 'column2'],
};

function resolveRelation(
  model: string,
  p: PendingField,
  type: RelationType,
  where: string,
  naming: Naming | undefined,
): FieldDef {
  const o = p.options;
  checkKeys(where, o, RELATION_KEYS[type]);
  const base = {
    name: p.name,
    type,
    target: p.target,
    required: false,
    default: undefined,
    index: false,
    unique: false,
    prefetch: false,
    size: 0,
    precision: 0,
    scale: 0,
  };
  if (type === 'many2one') {
    const column = o.column ?? referenceColumnFor(p.name, naming);
    if (typeof column !== 'string' || !IDENTIFIER.test(column))
      throw new SchemaError(`${where}: invalid column name ${JSON.stringify(column)}`);
    if (o.required !== undefined && typeof o.required !== 'boolean')
      throw new SchemaError(`${where}: option "required" must be a boolean`);
    const required = o.required ?? false;
    const onDelete = o.onDelete ?? (required ? 'restrict' : 'set null');
    if (!['restrict', 'cascade', 'set null'].includes(onDelete))
      throw new SchemaError(`${where}: onDelete must be 'restrict', 'cascade' or 'set null'`);
    if (onDelete === 'set null' && required)
      throw new SchemaError(`${where}: a required many2one cannot be set null on delete`);
    return { ...base, column, required, onDelete, index: true, prefetch: o.prefetch ?? true };
  }
  if (type === 'one2many') {
    if (typeof p.inverse !== 'string' || !IDENTIFIER.test(p.inverse))
      throw new SchemaError(`${where}: one2many needs the name of the inverse many2one field`);
    return { ...base, column: '', inverse: p.inverse };
  }
  for (const k of ['relation', 'column1', 'column2'] as const) {
    const v = o[k];
    if (v !== undefined && (typeof v !== 'string' || !IDENTIFIER.test(v)))
      throw new SchemaError(`${where}: invalid ${k} ${JSON.stringify(v)}`);
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

export function checkKeys(where: string, options: object, allowed: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key))
      throw new SchemaError(`${where}: unknown option "${key}" (allowed: ${allowed.join(', ')})`);
  }
}
