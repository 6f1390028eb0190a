import type { FieldDef } from '../model/field-types';
import type { PrimaryKeyDef } from '../model/keys';
import { relationOf, targetOf } from '../model/relations';
import type { ModelSchema } from '../model/schema';
import { readonlyOwner } from '../model/writable';
import type { ForeignKeySpec, IndexSpec } from './constraints';
import { constraintName, type ConstraintKind } from './names';

/**
 * What a model set asks of the database: every table with its columns, indexes,
 * unique constraints and foreign keys, named (names.ts). Pure: no SQL here.
 *
 * - A model table has its key column (see model/keys.ts), a column per column field, a
 *   unique constraint per `unique` field, an index per `index` field and per many2one,
 *   and a foreign key per many2one, to the target's key column, with its ON DELETE rule.
 * - A many2many relation table (once, whichever side declares it) has the two key
 *   columns as its primary key, an index on the second, and a foreign key to each side
 *   with ON DELETE CASCADE (an existing one may be RESTRICT / NO ACTION instead: a
 *   delete of a linked record then fails, which leaves the cache as it was).
 * - A column that references a key has the type of that key (`references`).
 * - No foreign key references a readonly model's table (a view cannot be the target
 *   of one); the referencing column still takes the key's type.
 * - The table of a readonly model, and a relation table with a readonly model on one
 *   side, carry `readonly`: sync only checks that they exist with their columns.
 */
export interface TableSpec {
  readonly table: string;
  /** Columns besides a model's key column. */
  readonly columns: readonly FieldDef[];
  /** A model's key, or the columns of a relation table's composite primary key. */
  readonly primaryKey: PrimaryKeyDef | readonly string[];
  /** The key each referencing column (many2one, relation table column) refers to. */
  readonly references: ReadonlyMap<FieldDef, PrimaryKeyDef>;
  readonly indexes: readonly IndexSpec[];
  readonly foreignKeys: readonly ForeignKeySpec[];
  /** The readonly model the table belongs to: sync creates, adds and alters nothing in it. */
  readonly readonly?: ModelSchema;
}

export function planTables(schemas: readonly ModelSchema[]): TableSpec[] {
  const drafts = [...schemas.map(modelTable), ...relationTables(schemas)];
  const named = nameAll(drafts);
  return drafts.map((d) => ({
    ...d,
    indexes: d.indexes.map((i) => ({ ...i, name: named(d.table, i.columns, i.unique ? 'unique' : 'index') })),
    foreignKeys: d.foreignKeys.map((k) => ({ ...k, name: named(d.table, [k.column], 'foreign') })),
  }));
}

type Unnamed<T> = Omit<T, 'name'>;
interface Draft extends Omit<TableSpec, 'indexes' | 'foreignKeys'> {
  readonly indexes: ReadonlyArray<Unnamed<IndexSpec>>;
  readonly foreignKeys: ReadonlyArray<Unnamed<ForeignKeySpec>>;
}

function modelTable(schema: ModelSchema): Draft {
  const indexes: Array<Unnamed<IndexSpec>> = [];
  const foreignKeys: Array<Unnamed<ForeignKeySpec>> = [];
  const references = new Map<FieldDef, PrimaryKeyDef>();
  for (const f of schema.columnFields) {
    if (f.unique) indexes.push({ columns: [f.column], unique: true });
    else if (f.index) indexes.push({ columns: [f.column], unique: false });
    if (f.type === 'many2one') {
      const target = targetOf(schema, f);
      references.set(f, target.primaryKey);
      const onDelete = f.onDelete ?? 'set null';
      if (!target.readonly)
        foreignKeys.push({
          column: f.column,
          target: target.table,
          targetColumn: target.primaryKey.column,
          onDelete,
          accepts: [onDelete],
        });
    }
  }
  return {
    table: schema.table,
    columns: schema.columnFields,
    primaryKey: schema.primaryKey,
    references,
    indexes,
    foreignKeys,
    ...(schema.readonly ? { readonly: schema } : {}),
  };
}

/** What an existing link of a relation table may do on delete (see the contract above). */
const LINK_RULES = ['cascade', 'restrict'] as const;

/** A stand-in field for relation-table columns: a required id reference. */
const LINK: FieldDef = {
  name: '',
  type: 'many2one',
  column: '',
  required: true,
  default: undefined,
  index: false,
  unique: false,
  prefetch: false,
  size: 0,
  precision: 0,
  scale: 0,
};

function relationTables(schemas: readonly ModelSchema[]): Draft[] {
  const out = new Map<string, Draft>();
  for (const schema of schemas) {
    for (const f of schema.fields.values()) {
      if (f.type !== 'many2many') continue;
      const rel = relationOf(schema, f);
      if (out.has(rel.table.toLowerCase())) continue; // the other side, checked consistent by relations.ts
      const target = targetOf(schema, f);
      const readonly = readonlyOwner(schema, f);
      const columns = [
        { ...LINK, column: rel.column1 },
        { ...LINK, column: rel.column2 },
      ];
      out.set(rel.table.toLowerCase(), {
        table: rel.table,
        columns,
        primaryKey: [rel.column1, rel.column2],
        references: new Map([
          [columns[0], schema.primaryKey],
          [columns[1], target.primaryKey],
        ]),
        indexes: [{ columns: [rel.column2], unique: false }],
        foreignKeys: [
          {
            column: rel.column1,
            target: schema.table,
            targetColumn: schema.primaryKey.column,
            onDelete: 'cascade',
            accepts: LINK_RULES,
          },
          {
            column: rel.column2,
            target: target.table,
            targetColumn: target.primaryKey.column,
            onDelete: 'cascade',
            accepts: LINK_RULES,
          },
        ],
        ...(readonly ? { readonly } : {}),
      });
    }
  }
  return [...out.values()];
}

/**
 * Names each constraint with knex's default unless two different constraints would get
 * the same one (`a_b` + `c` and `a` + `b_c`): those take the hashed form. Index names are
 * per database on SQLite and foreign key names on MySQL, so all share one namespace.
 */
function nameAll(
  drafts: readonly Draft[],
): (table: string, columns: readonly string[], kind: ConstraintKind) => string {
  const owners = new Map<string, Set<string>>();
  const key = (table: string, columns: readonly string[], kind: ConstraintKind) =>
    JSON.stringify([table, columns, kind]).toLowerCase();
  const note = (table: string, columns: readonly string[], kind: ConstraintKind) => {
    const name = constraintName(table, columns, kind);
    owners.set(name, (owners.get(name) ?? new Set()).add(key(table, columns, kind)));
  };
  for (const d of drafts) {
    for (const i of d.indexes) note(d.table, i.columns, i.unique ? 'unique' : 'index');
    for (const k of d.foreignKeys) note(d.table, [k.column], 'foreign');
  }
  return (table, columns, kind) => {
    const name = constraintName(table, columns, kind);
    return owners.get(name)!.size > 1 ? constraintName(table, columns, kind, true) : name;
  };
}
