import type { Knex } from 'knex';
import type { Dialect } from './dialect';
import type { FieldDef } from '../model/field-types';
import { checkAllRelations, relationOf, targetOf } from '../model/relations';
import { ID_COLUMN, type ModelSchema } from '../model/schema';

export interface SyncReport {
  readonly createdTables: string[];
  readonly addedColumns: string[];
}

interface ForeignKey {
  readonly table: string;
  readonly column: string;
  readonly target: string;
  readonly onDelete: string;
}

/**
 * Creates missing tables (with their many2many relation tables) and adds missing
 * columns; never drops or alters what exists. A column added to an existing table is
 * NOT NULL only when the field has a static default (existing rows take it); otherwise
 * it is nullable, since existing rows have no value for it. Every many2one gets an index
 * and a real foreign key with its ON DELETE rule.
 */
export async function syncSchemas(knex: Knex, dialect: Dialect, schemas: readonly ModelSchema[]): Promise<SyncReport> {
  checkAllRelations();
  const report: SyncReport = { createdTables: [], addedColumns: [] };
  const laterKeys: ForeignKey[] = [];
  const keep = (fk: ForeignKey) => (dialect.inlineForeignKeys ? undefined : laterKeys.push(fk));
  for (const schema of schemas) {
    const fks = schema.columnFields.filter((f) => f.type === 'many2one').map((f) => foreignKey(schema, f));
    if (!(await knex.schema.hasTable(schema.table))) {
      await knex.schema.createTable(schema.table, (t) => {
        dialect.tableOptions(t);
        t.increments(ID_COLUMN).primary();
        for (const f of schema.columnFields) defineColumn(t, f, dialect, true);
        if (dialect.inlineForeignKeys) for (const fk of fks) addForeignKey(t, fk);
      });
      fks.forEach(keep);
      report.createdTables.push(schema.table);
      continue;
    }
    const existing = new Set(Object.keys(await knex(schema.table).columnInfo()).map((c) => c.toLowerCase()));
    const missing = schema.columnFields.filter((f) => !existing.has(f.column.toLowerCase()));
    if (missing.length === 0) continue;
    await knex.schema.alterTable(schema.table, (t) => {
      for (const f of missing) defineColumn(t as unknown as Knex.CreateTableBuilder, f, dialect, false);
    });
    fks.filter((fk) => missing.some((f) => f.column === fk.column)).forEach(keep);
    report.addedColumns.push(...missing.map((f) => `${schema.table}.${f.column}`));
  }
  for (const rel of relationTables(schemas)) {
    if (await knex.schema.hasTable(rel.table)) continue;
    await knex.schema.createTable(rel.table, (t) => {
      dialect.tableOptions(t);
      dialect.addColumn(t, { ...M2O, column: rel.column1 }).notNullable();
      dialect.addColumn(t, { ...M2O, column: rel.column2 }).notNullable();
      t.primary([rel.column1, rel.column2]);
      t.index([rel.column2]);
      if (dialect.inlineForeignKeys) rel.keys.forEach((fk) => addForeignKey(t, fk));
    });
    rel.keys.forEach(keep);
    report.createdTables.push(rel.table);
  }
  for (const fk of laterKeys) await knex.schema.alterTable(fk.table, (t) => addForeignKey(t as unknown as Knex.CreateTableBuilder, fk));
  return report;
}

/** A stand-in field for relation-table columns: an id reference. */
const M2O: FieldDef = {
  name: '', type: 'many2one', column: '', required: true, default: undefined, index: false, unique: false,
  prefetch: false, size: 0, precision: 0, scale: 0,
};

function foreignKey(schema: ModelSchema, f: FieldDef): ForeignKey {
  return { table: schema.table, column: f.column, target: targetOf(schema, f).table, onDelete: f.onDelete ?? 'set null' };
}

function addForeignKey(t: Knex.CreateTableBuilder, fk: ForeignKey): void {
  t.foreign(fk.column).references(ID_COLUMN).inTable(fk.target).onDelete(fk.onDelete.toUpperCase());
}

/** The many2many relation tables the schemas need, once each (both sides may declare one). */
function relationTables(schemas: readonly ModelSchema[]) {
  const out = new Map<string, { table: string; column1: string; column2: string; keys: ForeignKey[] }>();
  for (const schema of schemas) {
    for (const f of schema.fields.values()) {
      if (f.type !== 'many2many') continue;
      const rel = relationOf(schema, f);
      if (out.has(rel.table)) continue;
      const target = targetOf(schema, f);
      out.set(rel.table, {
        ...rel,
        keys: [
          { table: rel.table, column: rel.column1, target: schema.table, onDelete: 'cascade' },
          { table: rel.table, column: rel.column2, target: target.table, onDelete: 'cascade' },
        ],
      });
    }
  }
  return [...out.values()];
}

function defineColumn(t: Knex.CreateTableBuilder, f: FieldDef, dialect: Dialect, newTable: boolean): void {
  const col = dialect.addColumn(t, f);
  const staticDefault = f.default !== undefined && f.default !== null && typeof f.default !== 'function';
  if (staticDefault && f.type !== 'text' && f.type !== 'json') col.defaultTo(dialect.toDb(f, f.default) as Knex.Value);
  if (f.required && (newTable || staticDefault)) col.notNullable();
  else col.nullable();
  if (f.unique) col.unique();
  else if (f.index) col.index();
}
