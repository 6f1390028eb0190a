import { SchemaError } from '../errors';
import type { ClassRef } from './class-ref';
import type { FieldDef } from './field-types';
import { schemaOf } from './registry';
import { MAX_NAME_LENGTH, type ModelSchema } from './schema';

/**
 * Relational fields name their target lazily (`() => Customer`), because the target may
 * be declared after them. This module resolves targets, inverses and relation tables on
 * first use and checks them (SchemaError). What depends on the other models an
 * Environment maps (clashes, "which fields point at model X") is in model-set.ts.
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
    let cls: unknown;
    try {
      cls = field.target?.();
    } catch (e) {
      // e.g. @Field.many2one(Parent) without the arrow: the class called as a function.
      throw new SchemaError(
        `${owner.name}.${field.name}: the target must be a function returning the model class, e.g. () => Customer (calling it threw ${(e as Error)?.name ?? 'an error'})`,
      );
    }
    if (typeof cls !== 'function')
      throw new SchemaError(
        `${owner.name}.${field.name}: the target function returned ${String(cls)}, not a model class`,
      );
    target = schemaOf(cls as ClassRef);
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
  if (!inv)
    throw new SchemaError(`${where}: inverse field "${field.inverse}" does not exist on model "${target.name}"`);
  if (inv.type !== 'many2one')
    throw new SchemaError(`${where}: inverse field "${target.name}.${inv.name}" is not a many2one`);
  const invTarget = schemaOf(inv.target!());
  if (invTarget !== owner)
    throw new SchemaError(
      `${where}: inverse "${target.name}.${inv.name}" points to "${invTarget.name}", not "${owner.name}"`,
    );
}

/**
 * The relation table of a many2many, with Odoo-like default names. SchemaError when a
 * default name is longer than MAX_NAME_LENGTH. Whether the table clashes with another
 * table of the models it is used with is checked per Environment (model-set.ts).
 */
export function relationOf(owner: ModelSchema, field: FieldDef): RelationTable {
  let rel = tables.get(field);
  if (!rel) {
    const target = targetOf(owner, field);
    const where = `${owner.name}.${field.name}`;
    const column1 = field.column1 ?? derived(where, 'column1', `${owner.table}_id`);
    let column2 = field.column2 ?? derived(where, 'column2', `${target.table}_id`);
    if (column2 === column1 && !field.column2) column2 = derived(where, 'column2', `${field.name}_id`);
    if (column1 === column2) throw new SchemaError(`${where}: column1 and column2 are both "${column1}"`);
    const table = field.relation ?? derived(where, 'relation', `${[owner.table, target.table].sort().join('_')}_rel`);
    rel = { table, column1, column2 };
    tables.set(field, rel);
  }
  return rel;
}

/** A default name, if it fits every database (a longer one would be cut differently by each). */
function derived(where: string, option: 'relation' | 'column1' | 'column2', name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  throw new SchemaError(
    `${where}: the default ${option} "${name}" is longer than ${MAX_NAME_LENGTH} characters; name it with { ${option} }`,
  );
}
