import { SchemaError } from '../errors';
import type { FieldDef } from './field-types';
import { allSchemas, claimRelationTable, schemaOf } from './registry';
import { MAX_NAME_LENGTH, type ModelSchema } from './schema';

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

/**
 * The relation table of a many2many, with Odoo-like default names. SchemaError (before
 * any SQL: sync resolves every relation first) when a default name is longer than
 * MAX_NAME_LENGTH, when the table is a model's table, or when another many2many uses the
 * same table for another pair of tables or other columns (only the two sides of one
 * relation may share it, with column1 and column2 swapped).
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
    claim(where, { owner, target, rel });
    tables.set(field, rel);
  }
  return rel;
}

/** A default name, if it fits every database (a longer one would be cut differently by each). */
function derived(where: string, option: 'relation' | 'column1' | 'column2', name: string): string {
  if (name.length <= MAX_NAME_LENGTH) return name;
  throw new SchemaError(`${where}: the default ${option} "${name}" is longer than ${MAX_NAME_LENGTH} characters; name it with { ${option} }`);
}

/** Who uses a relation table: the first many2many resolved onto it. */
interface Claim {
  readonly where: string;
  readonly owner: ModelSchema;
  readonly target: ModelSchema;
  readonly rel: RelationTable;
}
const claims = new Map<string, Claim>();

function claim(where: string, mine: Omit<Claim, 'where'>): void {
  const { rel } = mine;
  const model = allSchemas().find((s) => same(s.table, rel.table));
  if (model) {
    throw new SchemaError(`${where}: relation table "${rel.table}" is the table of model "${model.name}"; give the many2many another { relation } or the model another table`);
  }
  const o = claims.get(rel.table.toLowerCase());
  if (!o) {
    claims.set(rel.table.toLowerCase(), { where, ...mine });
    claimRelationTable(rel.table, where);
    return;
  }
  // The same pair the same way round, or the other side of it (columns swapped).
  const direct = same(o.owner.table, mine.owner.table) && same(o.target.table, mine.target.table)
    && same(o.rel.column1, rel.column1) && same(o.rel.column2, rel.column2);
  const inverse = same(o.owner.table, mine.target.table) && same(o.target.table, mine.owner.table)
    && same(o.rel.column1, rel.column2) && same(o.rel.column2, rel.column1);
  if (!direct && !inverse) {
    throw new SchemaError(
      `relation table "${rel.table}" of ${where} is already used by ${o.where} for ${o.owner.table}(${o.rel.column1}) - ${o.target.table}(${o.rel.column2}); `
        + 'give one of them another { relation }, or the same tables and columns (column1 and column2 swapped on the other side)',
    );
  }
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

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
