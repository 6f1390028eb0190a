import type { Knex } from 'knex';
import type { Executor } from '../db/executor';
import type { FieldDef } from '../model/field-types';
import type { RelationTable } from '../model/relations';
import { ID_COLUMN, type ModelSchema, type OrderTerm } from '../model/schema';
import type { Condition } from './domain';
import { checkSearchBytes } from './limits';
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
  const size = applyCondition(qb, cond, schema.table, ex.dialect);
  orderBy(qb, schema.table, opts.order);
  if (opts.limit !== undefined) qb.limit(opts.limit);
  if (opts.offset !== undefined && opts.offset > 0) qb.offset(opts.offset);
  checkSearchBytes(qb, ex.dialect, size);
  const rows = await ex.run<Array<{ id: number }>>(qb);
  return rows.map((r) => Number(r.id));
}

export async function countRows(ex: Executor, schema: ModelSchema, cond: Condition): Promise<number> {
  const qb = ex.table(schema.table).count({ n: '*' });
  checkSearchBytes(qb, ex.dialect, applyCondition(qb, cond, schema.table, ex.dialect));
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
  let min = Infinity;
  let max = -Infinity;
  for (const id of ids) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  // Dense ids (the usual result of a search): a primary-key range scan is cheaper than
  // an IN list of 1,000 lookups; rows in the range that were not asked for are dropped.
  const dense = max - min + 1 <= ids.length * 1.25;
  if (dense) qb.whereBetween(ID_COLUMN, [min, max]);
  else ex.dialect.whereIn(qb, ID_COLUMN, ids);
  let rows = await ex.run<Array<Record<string, unknown>>>(qb);
  if (dense && rows.length > ids.length) {
    const wanted = new Set(ids);
    rows = rows.filter((r) => wanted.has(Number(r[ID_COLUMN])));
  }
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
  const columnsPerRow = Math.max(1, schema.columnFields.length);
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

/** Related ids per parent, and which parents exist (a parent absent from `present` does not). */
export interface RelatedIds {
  readonly present: ReadonlySet<number>;
  readonly related: ReadonlyMap<number, number[]>;
}

/**
 * The children of `parentIds` through a one2many (the target rows whose inverse column
 * holds a parent id), in the target's order. One statement, from the parent table with
 * a LEFT JOIN, so that it also tells which parents exist.
 */
export async function loadOne2many(
  ex: Executor, owner: ModelSchema, target: ModelSchema, inverseColumn: string, parentIds: readonly number[], order: readonly OrderTerm[],
): Promise<RelatedIds> {
  const parent = `${owner.table}.${ID_COLUMN}`;
  // Aliased: a model whose one2many points to its own table joins the table to itself.
  const child = 'proxorm_child';
  const qb = ex.table(owner.table)
    .select({ parent, id: `${child}.${ID_COLUMN}` })
    .leftJoin({ [child]: target.table }, `${child}.${inverseColumn}`, parent);
  ex.dialect.whereIn(qb, parent, parentIds);
  orderBy(qb, child, order);
  return group(await ex.run<Array<{ id: number | null; parent: number }>>(qb));
}

/** The linked target ids of `parentIds` through a many2many, in the target's order; one statement. */
export async function loadMany2many(
  ex: Executor, owner: ModelSchema, rel: RelationTable, target: ModelSchema, parentIds: readonly number[], order: readonly OrderTerm[],
): Promise<RelatedIds> {
  const parent = `${owner.table}.${ID_COLUMN}`;
  const linked = 'proxorm_linked';
  const qb = ex.table(owner.table)
    .select({ parent, id: `${linked}.${ID_COLUMN}` })
    .leftJoin(rel.table, `${rel.table}.${rel.column1}`, parent)
    .leftJoin({ [linked]: target.table }, `${linked}.${ID_COLUMN}`, `${rel.table}.${rel.column2}`);
  ex.dialect.whereIn(qb, parent, parentIds);
  orderBy(qb, linked, order);
  return group(await ex.run<Array<{ id: number | null; parent: number }>>(qb));
}

/**
 * Links pairs in a relation table; pairs already linked are left as they are. (An
 * upsert that rewrites the key, not INSERT IGNORE: MySQL's IGNORE would also swallow
 * foreign key errors.)
 */
export async function linkRows(ex: Executor, rel: RelationTable, pairs: ReadonlyArray<readonly [number, number]>): Promise<void> {
  for (let i = 0; i < pairs.length; i += CHUNK) {
    const rows = pairs.slice(i, i + CHUNK).map(([a, b]) => ({ [rel.column1]: a, [rel.column2]: b }));
    await ex.run(ex.table(rel.table).insert(rows).onConflict([rel.column1, rel.column2]).merge([rel.column1]));
  }
}

/** Removes links of `parentIds`: to `targetIds` only, or all of them when omitted. */
export async function unlinkRows(ex: Executor, rel: RelationTable, parentIds: readonly number[], targetIds?: readonly number[]): Promise<void> {
  const qb = ex.table(rel.table);
  ex.dialect.whereIn(qb, rel.column1, parentIds);
  if (targetIds) ex.dialect.whereIn(qb, rel.column2, targetIds);
  await ex.run(qb.del());
}

/** Sets a many2one column on the rows `ids` (a one2many "add"); returns how many matched. */
export async function setInverse(ex: Executor, target: ModelSchema, column: string, ids: readonly number[], parentId: number | null): Promise<number> {
  if (ids.length === 0) return 0;
  const qb = ex.dialect.whereIn(ex.table(target.table), ID_COLUMN, ids).update({ [column]: parentId });
  return Number(await ex.run<number>(qb));
}

/**
 * Clears a many2one column on rows that point at `parentId`: all of them but `keep`
 * (a one2many "set"), or, given `only`, just those (a one2many "remove"). Returns their ids.
 */
export async function clearInverseExcept(
  ex: Executor, target: ModelSchema, column: string, parentId: number, keep: readonly number[], only?: readonly number[],
): Promise<number[]> {
  const sel = ex.table(target.table).select(ID_COLUMN).where(column, parentId);
  if (only) ex.dialect.whereIn(sel, ID_COLUMN, only);
  const current = (await ex.run<Array<{ id: number }>>(sel)).map((r) => Number(r.id));
  const keepSet = new Set(keep);
  const drop = current.filter((id) => !keepSet.has(id));
  await setInverse(ex, target, column, drop, null);
  return drop;
}

function orderBy(qb: Knex.QueryBuilder, table: string, order: readonly OrderTerm[]): void {
  for (const o of order) qb.orderBy(`${table}.${o.column}`, o.direction);
  if (!order.some((o) => o.column === ID_COLUMN)) qb.orderBy(`${table}.${ID_COLUMN}`, 'asc');
}

function group(rows: ReadonlyArray<{ id: number | null; parent: number }>): RelatedIds {
  const present = new Set<number>();
  const related = new Map<number, number[]>();
  for (const r of rows) {
    const p = Number(r.parent);
    present.add(p);
    if (r.id === null) continue;
    let list = related.get(p);
    if (!list) related.set(p, (list = []));
    list.push(Number(r.id));
  }
  return { present, related };
}
