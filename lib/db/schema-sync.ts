import type { Knex } from 'knex';
import type { Dialect } from './dialect';
import type { FieldDef } from '../model/field-types';
import { ID_COLUMN, type ModelSchema } from '../model/schema';

export interface SyncReport {
  readonly createdTables: string[];
  readonly addedColumns: string[];
}

/**
 * Creates missing tables and adds missing columns; never drops or alters what exists.
 * A column added to an existing table is NOT NULL only when the field has a static
 * default (existing rows take it); otherwise it is nullable, since existing rows
 * have no value for it.
 */
export async function syncSchemas(knex: Knex, dialect: Dialect, schemas: readonly ModelSchema[]): Promise<SyncReport> {
  const report: SyncReport = { createdTables: [], addedColumns: [] };
  for (const schema of schemas) {
    if (!(await knex.schema.hasTable(schema.table))) {
      await knex.schema.createTable(schema.table, (t) => {
        dialect.tableOptions(t);
        t.increments(ID_COLUMN).primary();
        for (const f of schema.fields.values()) defineColumn(t, f, dialect, true);
      });
      report.createdTables.push(schema.table);
      continue;
    }
    const existing = new Set(Object.keys(await knex(schema.table).columnInfo()));
    const missing = [...schema.fields.values()].filter((f) => !existing.has(f.column));
    if (missing.length === 0) continue;
    await knex.schema.alterTable(schema.table, (t) => {
      for (const f of missing) defineColumn(t as unknown as Knex.CreateTableBuilder, f, dialect, false);
    });
    report.addedColumns.push(...missing.map((f) => `${schema.table}.${f.column}`));
  }
  return report;
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
