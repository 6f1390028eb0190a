import { SchemaError } from '../errors';
import type { FieldDef } from './field-types';
import { allSchemas, schemaOf } from './registry';
import type { ModelSchema } from './schema';

/**
 * Relational fields name their target lazily (`() => Customer`), because the target may
 * be declared after them. This module resolves targets, inverses and relation tables on
 * first use, checks them (SchemaError), and answers "which fields point at model X".
 */

export interface RelationTable {
  readonly table: string;
  /** Column holding the id of the field's own model. */
  readonly column1: string;
  /** Column holding the id of the target model. */
  readonly column2: string;
}

const targets = new WeakMap<FieldDef, ModelSchema>();
const tables = new WeakMap<FieldDef, RelationTable>();

export function targetOf(owner: ModelSchema, field: FieldDef): ModelSchema {
  let target = targets.get(field);
  if (!target) {
    const cls = field.target?.();
    if (typeof cls !== 'function') throw new SchemaError(`${owner.name}.${field.name}: the target function returned ${String(cls)}, not a model class`);
    target = schemaOf(cls);
    if (field.type === 'one2many') checkInverse(owner, field, target);
    targets.set(field, target);
  }
  return target;
}

/** The many2one of the target that a one2many reads back through. */
export function inverseOf(owner: ModelSchema, field: FieldDef): FieldDef {
  const target = targetOf(owner, field);
  return target.fields.get(field.inverse!)!;
}

function checkInverse(owner: ModelSchema, field: FieldDef, target: ModelSchema): void {
  const inv = target.fields.get(field.inverse!);
  const where = `${owner.name}.${field.name}`;
  if (!inv) throw new SchemaError(`${where}: inverse field "${field.inverse}" does not exist on model "${target.name}"`);
  if (inv.type !== 'many2one') throw new SchemaError(`${where}: inverse field "${target.name}.${inv.name}" is not a many2one`);
  const invTarget = schemaOf(inv.target!());
  if (invTarget !== owner) throw new SchemaError(`${where}: inverse "${target.name}.${inv.name}" points to "${invTarget.name}", not "${owner.name}"`);
}

/** The relation table of a many2many, with Odoo-like default names. */
export function relationOf(owner: ModelSchema, field: FieldDef): RelationTable {
  let rel = tables.get(field);
  if (!rel) {
    const target = targetOf(owner, field);
    const column1 = field.column1 ?? `${owner.table}_id`;
    let column2 = field.column2 ?? `${target.table}_id`;
    if (column2 === column1 && !field.column2) column2 = `${field.name}_id`;
    if (column1 === column2) throw new SchemaError(`${owner.name}.${field.name}: column1 and column2 are both "${column1}"`);
    rel = { table: field.relation ?? `${[owner.table, target.table].sort().join('_')}_rel`, column1, column2 };
    tables.set(field, rel);
  }
  return rel;
}

/** A relational field, with the model that declares it. */
export interface FieldRef {
  readonly schema: ModelSchema;
  readonly field: FieldDef;
}

/** Every relational field, of any model, whose target is `model`. */
export function fieldsPointingAt(model: ModelSchema): FieldRef[] {
  const out: FieldRef[] = [];
  for (const schema of allSchemas()) {
    for (const field of schema.fields.values()) {
      if (field.target && targetOf(schema, field) === model) out.push({ schema, field });
    }
  }
  return out;
}

/** Resolves every relation of every model now: a broken one is a SchemaError at sync, not at first read. */
export function checkAllRelations(): void {
  for (const schema of allSchemas()) {
    for (const field of schema.fields.values()) {
      if (!field.target) continue;
      targetOf(schema, field);
      if (field.type === 'many2many') relationOf(schema, field);
    }
  }
}
