import type { Knex } from 'knex';
import type { Executor } from '../db/executor';
import type { FieldDef } from '../model/field-types';
import { ID_COLUMN, type ModelSchema, type OrderTerm } from '../model/schema';
import type { Condition } from './domain';
import { applyCondition } from './where';

/**
 * Every SQL statement proxorm sends, one function each. Callers pass validated input
 * (schemas, parsed conditions, canonical values); values are bound, never spliced.
 */

/** Largest IN list / row batch per statement (Odoo's PREFETCH_MAX). */
export const CHUNK = 1000;

export interface SearchOptions {
  readonly order: readonly OrderTerm[];
  readonly limit?: number;
  readonly offset?: number;
}

export async function searchIds(ex: Executor, schema: ModelSchema, cond: Condition, opts: SearchOptions): Promise<number[]> {
  const qb = ex.table(schema.table).select(`${schema.table}.${ID_COLUMN}`);
  applyCondition(qb, cond, schema.table, ex.dialect);
  for (const o of opts.order) qb.orderBy(`${schema.table}.${o.column}`, o.direction);
  if (!opts.order.some((o) => o.column === ID_COLUMN)) qb.orderBy(`${schema.table}.${ID_COLUMN}`, 'asc');
  if (opts.limit !== undefined) qb.limit(opts.limit);
  if (opts.offset !== undefined && opts.offset > 0) qb.offset(opts.offset);
  const rows = await ex.run<Array<{ id: number }>>(qb);
  return rows.map((r) => Number(r.id));
}

export async function countRows(ex: Executor, schema: ModelSchema, cond: Condition): Promise<number> {
  const qb = ex.table(schema.table).count({ n: '*' });
  applyCondition(qb, cond, schema.table, ex.dialect);
  const rows = await ex.run<Array<{ n: number | string }>>(qb);
  return Number(rows[0].n);
}

/** Rows of a load, column by column: `columns[i][j]` is field i of record `ids[j]`. */
export interface LoadedColumns {
  readonly ids: number[];
  readonly columns: unknown[][];
}

/**
 * Loads `fields` of up to CHUNK records in one statement, as canonical values. Ids
 * absent from the result do not exist. Column-major, so that a load of 1,000 records
 * allocates one array per field rather than one per record.
 */
export async function loadRows(
  ex: Executor, schema: ModelSchema, ids: readonly number[], fields: readonly FieldDef[],
): Promise<LoadedColumns> {
  const qb = ex.table(schema.table).select([ID_COLUMN, ...fields.map((f) => f.column)]);
  ex.dialect.whereIn(qb, ID_COLUMN, ids);
  const rows = await ex.run<Array<Record<string, unknown>>>(qb);
  const out: LoadedColumns = { ids: rows.map((r) => Number(r[ID_COLUMN])), columns: [] };
  for (const f of fields) {
    const decode = ex.dialect.decoder(f);
    const col = f.column;
    out.columns.push(decode ? rows.map((r) => (r[col] === null || r[col] === undefined ? null : decode(r[col]))) : rows.map((r) => r[col] ?? null));
  }
  return out;
}

/** Ids among `ids` that exist, one statement per CHUNK ids. */
export async function existingIds(ex: Executor, schema: ModelSchema, ids: readonly number[]): Promise<Set<number>> {
  const out = new Set<number>();
  for (let i = 0; i < ids.length; i += CHUNK) {
    const qb = ex.dialect.whereIn(ex.table(schema.table).select(ID_COLUMN), ID_COLUMN, ids.slice(i, i + CHUNK));
    for (const r of await ex.run<Array<{ id: number }>>(qb)) out.add(Number(r.id));
  }
  return out;
}

/**
 * Inserts rows (canonical values by field name, every column present) and returns their
 * ids in order. Batched: one statement per chunk of rows.
 */
export async function insertRows(ex: Executor, schema: ModelSchema, rows: ReadonlyArray<ReadonlyMap<FieldDef, unknown>>): Promise<number[]> {
  const ids: number[] = [];
  const columnsPerRow = Math.max(1, schema.fields.size);
  const perStatement = ex.dialect.consecutiveInsertIds
    ? Math.max(1, Math.min(ex.dialect.maxInsertRows, Math.floor(30_000 / columnsPerRow)))
    : 1;
  for (let i = 0; i < rows.length; i += perStatement) {
    // A model without fields still inserts a row: let the database pick the id.
    const chunk = rows.slice(i, i + perStatement).map((row) => (row.size ? toColumns(ex, row) : { [ID_COLUMN]: null }));
    const qb = ex.table(schema.table).insert(chunk);
    const result = await ex.run<unknown[]>(qb);
    ids.push(...ex.dialect.insertedIds(result, chunk.length));
  }
  return ids;
}

/** Updates the same values on `ids`; returns how many rows matched. */
export async function updateRows(ex: Executor, schema: ModelSchema, ids: readonly number[], values: ReadonlyMap<FieldDef, unknown>): Promise<number> {
  let matched = 0;
  const set = toColumns(ex, values);
  for (let i = 0; i < ids.length; i += CHUNK) {
    const qb = ex.dialect.whereIn(ex.table(schema.table), ID_COLUMN, ids.slice(i, i + CHUNK)).update(set);
    matched += Number(await ex.run<number>(qb));
  }
  return matched;
}

export async function deleteRows(ex: Executor, schema: ModelSchema, ids: readonly number[]): Promise<number> {
  let deleted = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const qb = ex.dialect.whereIn(ex.table(schema.table), ID_COLUMN, ids.slice(i, i + CHUNK)).del();
    deleted += Number(await ex.run<number>(qb));
  }
  return deleted;
}

function toColumns(ex: Executor, values: ReadonlyMap<FieldDef, unknown>): Record<string, Knex.Value> {
  const out: Record<string, Knex.Value> = {};
  for (const [f, v] of values) out[f.column] = ex.dialect.toDb(f, v) as Knex.Value;
  return out;
}
