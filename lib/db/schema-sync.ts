import type { Knex } from 'knex';
import type { Dialect } from './dialect';
import { SchemaError } from '../errors';
import {
  hasForeignKey,
  hasIndex,
  ruleConflict,
  type ForeignKeySpec,
  type IndexSpec,
  type TableConstraints,
} from './constraints';
import { primaryKeyName } from './names';
import type { Pinned } from './pinned';
import { planTables, type TableSpec } from './schema-plan';
import type { StatementOrigin } from './trace';
import type { FieldDef } from '../model/field-types';
import type { PrimaryKeyDef } from '../model/keys';
import type { ModelSchema } from '../model/schema';

/** What one sync() changed. Entries are `table`, `table.column` or `table.constraint_name`. */
export interface SyncReport {
  readonly createdTables: string[];
  readonly addedColumns: string[];
  /** Plain indexes added to tables that existed before this run. */
  readonly addedIndexes: string[];
  /** Unique constraints and foreign keys added to tables that existed before this run. */
  readonly addedConstraints: string[];
}

/**
 * Brings the database up to a model set (schema-plan.ts), never dropping or altering
 * what exists: creates missing tables, adds missing columns, and adds the indexes,
 * unique constraints and foreign keys a table lacks, recognised by their columns
 * (constraints.ts), so a run completes whatever an interrupted one left. A database
 * that already has everything is left exactly as it was (no statement changes it).
 *
 * - `schemas` are an Environment's checked model set (model/model-set.ts): every
 *   relation resolves within it, so a broken one was a SchemaError before any SQL.
 * - Then every table is inspected before anything is changed, and these are a
 *   SchemaError before any DDL: a readonly model's table or view (or a relation table
 *   with a readonly side) that is missing, or lacks a column; an existing foreign key
 *   whose ON DELETE rule is not the declared one (NO ACTION counts as 'restrict'),
 *   since the cache's relation rules trust the declaration.
 * - Readonly tables are never changed: no column, index or key is added to them, and no
 *   foreign key references them.
 * - The whole run holds the database's schema lock (dialect.withSchemaLock): concurrent
 *   runs, from any process, run one after the other and all succeed.
 * - A column added to an existing table is NOT NULL only when the field has a static
 *   default (existing rows take it); otherwise nullable, as existing rows have no value.
 * - Foreign keys come last, once every table exists (InnoDB wants the referenced table).
 *   Rows that break a unique or foreign key sync must add make it fail with the typed
 *   error (UniqueViolationError, ForeignKeyViolationError); fix the rows and run again.
 */
export async function syncSchemas(
  knex: Knex,
  dialect: Dialect,
  schemas: readonly ModelSchema[],
  origin?: StatementOrigin,
): Promise<SyncReport> {
  const plan = planTables(schemas);
  return dialect.withSchemaLock(knex, (db) => apply(db, dialect, plan), origin);
}

interface LaterKeys {
  readonly table: string;
  readonly keys: readonly ForeignKeySpec[];
  /** Whether they complete a table that existed before this run (so they are reported). */
  readonly completing: boolean;
}

/** A table of the plan as the database has it before this run; null when it does not exist. */
type Found = TableConstraints | null;

async function apply(db: Pinned, dialect: Dialect, plan: readonly TableSpec[]): Promise<SyncReport> {
  const found = new Map<TableSpec, Found>();
  for (const spec of plan) found.set(spec, await inspect(db, dialect, spec));
  const types = await referencedTypes(db, dialect, plan, found);

  const report: SyncReport = { createdTables: [], addedColumns: [], addedIndexes: [], addedConstraints: [] };
  const later: LaterKeys[] = [];
  for (const spec of plan) {
    if (spec.readonly) continue;
    const existing = found.get(spec)!;
    if (existing === null) {
      await createTable(db, dialect, spec, types);
      report.createdTables.push(spec.table);
      if (!dialect.inlineForeignKeys && spec.foreignKeys.length > 0)
        later.push({ table: spec.table, keys: spec.foreignKeys, completing: false });
      continue;
    }
    report.addedColumns.push(...(await addMissingColumns(db, dialect, spec, types)));
    const indexes = spec.indexes.filter((i) => !hasIndex(existing, i));
    if (indexes.length > 0) {
      await db.schema().alterTable(spec.table, (t) => indexes.forEach((i) => addIndex(t, i)));
      for (const i of indexes)
        (i.unique ? report.addedConstraints : report.addedIndexes).push(`${spec.table}.${i.name}`);
    }
    const keys = spec.foreignKeys.filter((k) => !hasForeignKey(existing, k));
    if (keys.length > 0) later.push({ table: spec.table, keys, completing: true });
  }
  for (const { table, keys, completing } of later) {
    await dialect.addForeignKeys(db, table, keys);
    if (completing) report.addedConstraints.push(...keys.map((k) => `${table}.${k.name}`));
  }
  return report;
}

/**
 * Reads what exists of one table of the plan, changing nothing; throws the SchemaErrors
 * the contract above lists. A readonly table is checked here and nowhere else.
 */
async function inspect(db: Pinned, dialect: Dialect, spec: TableSpec): Promise<Found> {
  if (spec.readonly) {
    const what = `table "${spec.table}" of readonly model "${spec.readonly.name}"`;
    if (!(await dialect.relationExists(db, spec.table))) {
      throw new SchemaError(
        `${what} does not exist: sync() creates nothing for a readonly model; create the table or view first`,
      );
    }
    const columns = new Set(Object.keys(await db.table(spec.table).columnInfo()).map((c) => c.toLowerCase()));
    const missing = spec.columns.filter((f) => !columns.has(f.column.toLowerCase())).map((f) => f.column);
    if (missing.length > 0)
      throw new SchemaError(
        `${what} lacks column(s) ${missing.map((c) => `"${c}"`).join(', ')}: sync() adds nothing to a readonly model`,
      );
    // A readonly table's own foreign keys act on deletes of the models it points at,
    // which the cache's relation rules follow by the declaration: checked as any table's.
    checkRules(spec, await dialect.readConstraints(db, spec.table));
    return null;
  }
  if (!(await db.schema().hasTable(spec.table))) return null;
  const existing = await dialect.readConstraints(db, spec.table);
  checkRules(spec, existing);
  return existing;
}

/** SchemaError for an existing foreign key whose ON DELETE rule is not the declared one. */
function checkRules(spec: TableSpec, existing: TableConstraints): void {
  for (const k of spec.foreignKeys) {
    const conflict = ruleConflict(existing, k);
    if (conflict) {
      throw new SchemaError(
        `foreign key of "${spec.table}"."${k.column}" to "${k.target}" is ON DELETE ${conflict.onDelete} in the database, but ` +
          `${k.accepts.length > 1 ? `one of ${k.accepts.join(', ')}` : `'${k.onDelete}'`} is declared: declare the rule the database has ` +
          `(NO ACTION and RESTRICT are 'restrict'), or change the key; sync() never alters an existing key`,
      );
    }
  }
}

/** Column types of referencing columns, by column field: see Dialect.referencedKeyType. */
type ReferencedTypes = ReadonlyMap<FieldDef, string>;

/**
 * For each column a foreign key will tie to a key column that existed before this run
 * (a table made by another program, or by an earlier sync), the type that key column
 * has in the database, where the dialect needs it repeated. Read before anything changes.
 */
async function referencedTypes(
  db: Pinned,
  dialect: Dialect,
  plan: readonly TableSpec[],
  found: ReadonlyMap<TableSpec, Found>,
): Promise<ReferencedTypes> {
  const existed = new Set(plan.filter((spec) => found.get(spec) !== null).map((spec) => spec.table.toLowerCase()));
  const out = new Map<FieldDef, string>();
  for (const spec of plan) {
    if (spec.readonly) continue;
    for (const k of spec.foreignKeys) {
      if (!existed.has(k.target.toLowerCase())) continue;
      const column = spec.columns.find((f) => f.column === k.column);
      const type = column && (await dialect.referencedKeyType(db, k.target, k.targetColumn));
      if (column && type) out.set(column, type);
    }
  }
  return out;
}

async function createTable(db: Pinned, dialect: Dialect, spec: TableSpec, types: ReferencedTypes): Promise<void> {
  await db.schema().createTable(spec.table, (t) => {
    dialect.tableOptions(t);
    const composite = Array.isArray(spec.primaryKey);
    if (!composite) {
      const key = spec.primaryKey as PrimaryKeyDef;
      // The constraint is named here: the database's default name for it (PostgreSQL's
      // `<table>_pkey`) may be longer than a name can be, and cut to the length of a
      // table name it is that table's name (a 63-character table failed).
      const col = dialect.keyColumn(t, key.column, key, true);
      if (!key.generated) col.notNullable();
      col.primary(primaryKeyName(spec.table));
    }
    for (const f of spec.columns) defineColumn(t, f, dialect, true, spec.references.get(f), types.get(f));
    if (composite) t.primary([...(spec.primaryKey as readonly string[])], primaryKeyName(spec.table));
    for (const i of spec.indexes) addIndex(t, i);
    if (dialect.inlineForeignKeys) for (const k of spec.foreignKeys) addForeignKey(t, k);
  });
  await dialect.createdTable(
    db,
    spec.table,
    Array.isArray(spec.primaryKey) ? undefined : (spec.primaryKey as PrimaryKeyDef),
  );
}

/** Adds the columns the table lacks (compared without case); returns them as `table.column`. */
async function addMissingColumns(
  db: Pinned,
  dialect: Dialect,
  spec: TableSpec,
  types: ReferencedTypes,
): Promise<string[]> {
  const existing = new Set(Object.keys(await db.table(spec.table).columnInfo()).map((c) => c.toLowerCase()));
  const missing = spec.columns.filter((f) => !existing.has(f.column.toLowerCase()));
  if (missing.length === 0) return [];
  await db.schema().alterTable(spec.table, (t) => {
    for (const f of missing) defineColumn(t, f, dialect, false, spec.references.get(f), types.get(f));
  });
  return missing.map((f) => `${spec.table}.${f.column}`);
}

function addIndex(t: Knex.CreateTableBuilder, index: IndexSpec): void {
  if (index.unique) t.unique([...index.columns], { indexName: index.name });
  else t.index([...index.columns], index.name);
}

function addForeignKey(t: Knex.CreateTableBuilder, key: ForeignKeySpec): void {
  t.foreign(key.column, key.name).references(key.targetColumn).inTable(key.target).onDelete(key.onDelete.toUpperCase());
}

/**
 * `ref`: for a column referencing a key (many2one, relation table), that key: the column
 * takes its type, or `existingType`, the type the key column has in the database.
 */
function defineColumn(
  t: Knex.CreateTableBuilder,
  f: FieldDef,
  dialect: Dialect,
  newTable: boolean,
  ref: PrimaryKeyDef | undefined,
  existingType?: string,
): void {
  const col =
    ref && existingType
      ? t.specificType(f.column, existingType)
      : ref
        ? dialect.keyColumn(t, f.column, ref, false)
        : dialect.addColumn(t, f);
  const staticDefault = f.default !== undefined && f.default !== null && typeof f.default !== 'function';
  if (staticDefault && f.type !== 'text' && f.type !== 'json') col.defaultTo(dialect.toDb(f, f.default) as Knex.Value);
  if (f.required && (newTable || staticDefault)) col.notNullable();
  else col.nullable();
}
