import type { Knex } from 'knex';
import type { Executor } from '../db/executor';
import { DataError } from '../errors';
import { decodeId, storedTypeOf, UNDECODABLE } from '../model/decode';
import type { FieldDef } from '../model/field-types';
import type { RelationTable } from '../model/relations';
import { ID_COLUMN, type ModelSchema, type OrderTerm } from '../model/schema';
import type { Condition } from './domain';
import { chunked, idChunks, textBytes, tooLargeError } from './chunks';
import { checkSearchBytes, statementBudget } from './limits';
import { applyCondition } from './where';

/**
 * Every SQL statement proxorm sends, one function each. Callers pass validated input
 * (schemas, parsed conditions, canonical values); values are bound, never spliced.
 */

/**
 * Largest IN list / row batch per statement (Odoo's PREFETCH_MAX). Writes also keep
 * within the dialect's limits (chunks.ts): fewer rows a statement where the rows are
 * large, never more than the dialect takes.
 */
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

/**
 * Rows of a load, column by column: `columns[i][j]` is field i of record `ids[j]`, as its
 * canonical value, or a DataError (model, field, key) when the stored value does not
 * decode as the field's type. Only that cell fails: its readers get the DataError, and
 * it must not be cached as a value.
 */
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
  const select = () => ex.table(schema.table).select([ID_COLUMN, ...fields.map((f) => f.column)]);
  let min = Infinity;
  let max = -Infinity;
  for (const id of ids) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  // Dense ids (the usual result of a search): a primary-key range scan is cheaper than
  // an IN list of 1,000 lookups; rows in the range that were not asked for are dropped.
  const dense = max - min + 1 <= ids.length * 1.25;
  let rows: Array<Record<string, unknown>> = [];
  if (dense) rows = await ex.run(select().whereBetween(ID_COLUMN, [min, max]));
  else {
    // One statement for the loader's chunk of ids, unless the server takes fewer bytes.
    const fixed = textBytes(schema.table, ID_COLUMN, ...fields.map((f) => f.column));
    for (const part of idChunks(ex.dialect, ids, ids.length, fixed)) {
      rows = rows.concat(await ex.run<Array<Record<string, unknown>>>(ex.dialect.whereIn(select(), ID_COLUMN, part)));
    }
  }
  if (dense && max - min + 1 > ids.length) {
    const wanted = new Set(ids);
    rows = rows.filter((r) => wanted.has(Number(r[ID_COLUMN])));
  }
  const out: LoadedColumns = { ids: rows.map((r) => Number(r[ID_COLUMN])), columns: [] };
  for (const f of fields) {
    const decode = ex.dialect.decoder(f);
    const col = f.column;
    const values: unknown[] = new Array(rows.length);
    for (let j = 0; j < rows.length; j++) {
      const raw = rows[j][col];
      const value = raw === null || raw === undefined ? null : decode(raw);
      values[j] = value === UNDECODABLE ? new DataError(schema.name, f.name, out.ids[j], storedTypeOf(f)) : value;
    }
    out.columns.push(values);
  }
  return out;
}

/** Ids among `ids` that exist, one statement per CHUNK ids. */
export async function existingIds(ex: Executor, schema: ModelSchema, ids: readonly number[]): Promise<Set<number>> {
  const out = new Set<number>();
  for (const part of idChunks(ex.dialect, ids, CHUNK, textBytes(schema.table, ID_COLUMN))) {
    const qb = ex.dialect.whereIn(ex.table(schema.table).select(ID_COLUMN), ID_COLUMN, part);
    for (const r of await ex.run<Array<{ id: number }>>(qb)) out.add(Number(r.id));
  }
  return out;
}

/**
 * Inserts rows (canonical values by field name, every column present) and returns their
 * ids in order. Batched: one statement per chunk of rows, as many rows as the dialect's
 * limits allow (rows a statement, bound values, bytes). A row too large for any
 * statement is a ValidationError, before anything is sent.
 */
export async function insertRows(ex: Executor, schema: ModelSchema, rows: ReadonlyArray<ReadonlyMap<FieldDef, unknown>>): Promise<number[]> {
  const ids: number[] = [];
  const { dialect } = ex;
  const columnsPerRow = Math.max(1, schema.columnFields.length);
  const perStatement = dialect.consecutiveInsertIds
    ? Math.max(1, Math.min(dialect.maxInsertRows, Math.floor(dialect.limits.boundValues / columnsPerRow)))
    : 1;
  // A model without fields still inserts a row: let the database pick the id.
  const values = rows.map((row) => (row.size ? toColumns(ex, row) : { [ID_COLUMN]: null }));
  const chunks = chunked(
    values, perStatement, dialect, textBytes(schema.table, ...schema.columnFields.map((f) => f.column)),
    (row) => rowBytes(dialect, row),
    (bytes, room) => tooLargeError(`${schema.name}.create`, 'an INSERT', 'one record', bytes, room, dialect),
  );
  for (const chunk of chunks) {
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
  // Every statement repeats the SET values: values too large for one statement are a ValidationError.
  const setBytes = textBytes(schema.table, ...Object.keys(set)) + rowBytes(ex.dialect, set);
  if (setBytes > statementBudget(ex.dialect.limits)) {
    throw tooLargeError(`${schema.name}.write`, 'an UPDATE', 'these values', setBytes, statementBudget(ex.dialect.limits), ex.dialect);
  }
  for (const part of idChunks(ex.dialect, ids, CHUNK, setBytes)) {
    const qb = ex.dialect.whereIn(ex.table(schema.table), ID_COLUMN, part).update(set);
    matched += Number(await ex.run<number>(qb));
  }
  return matched;
}

export async function deleteRows(ex: Executor, schema: ModelSchema, ids: readonly number[]): Promise<number> {
  let deleted = 0;
  for (const part of idChunks(ex.dialect, ids, CHUNK, textBytes(schema.table, ID_COLUMN))) {
    const qb = ex.dialect.whereIn(ex.table(schema.table), ID_COLUMN, part).del();
    deleted += Number(await ex.run<number>(qb));
  }
  return deleted;
}

/** Bytes of one row's values in a statement (as the dialect counts them), with separators. */
function rowBytes(dialect: Executor['dialect'], row: Record<string, Knex.Value>): number {
  let n = 4;
  for (const k in row) n += dialect.valueBytes(row[k]) + 2;
  return n;
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
 * foreign key errors.) As many pairs a statement as the dialect takes: a multi-row
 * INSERT (SQLite: at most 500 rows, its compound SELECT limit).
 */
export async function linkRows(ex: Executor, rel: RelationTable, pairs: ReadonlyArray<readonly [number, number]>): Promise<void> {
  const { dialect } = ex;
  const perStatement = Math.max(1, Math.min(dialect.maxInsertRows, Math.floor(dialect.limits.boundValues / 2)));
  const chunks = chunked(
    pairs, perStatement, dialect, 2 * textBytes(rel.table, rel.column1, rel.column2),
    ([a, b]) => dialect.valueBytes(a) + dialect.valueBytes(b) + 8,
    (bytes, room) => tooLargeError(rel.table, 'an INSERT', 'one link', bytes, room, dialect),
  );
  for (const chunk of chunks) {
    const rows = chunk.map(([a, b]) => ({ [rel.column1]: a, [rel.column2]: b }));
    await ex.run(ex.table(rel.table).insert(rows).onConflict([rel.column1, rel.column2]).merge([rel.column1]));
  }
}

/**
 * Removes links of `parentIds`: to `targetIds` only, or all of them when omitted. One
 * statement, or one per chunk of each list where the lists are long.
 */
export async function unlinkRows(ex: Executor, rel: RelationTable, parentIds: readonly number[], targetIds?: readonly number[]): Promise<void> {
  // With two lists, each may fill half of a statement.
  const fixed = textBytes(rel.table, rel.column1, rel.column2) + (targetIds ? Math.floor(statementBudget(ex.dialect.limits) / 2) : 0);
  const targetChunks = targetIds ? idChunks(ex.dialect, targetIds, CHUNK, fixed, true) : [undefined];
  for (const parents of idChunks(ex.dialect, parentIds, CHUNK, fixed, true)) {
    for (const targets of targetChunks) {
      const qb = ex.table(rel.table);
      ex.dialect.whereIn(qb, rel.column1, parents);
      if (targets) ex.dialect.whereIn(qb, rel.column2, targets);
      await ex.run(qb.del());
    }
  }
}

/** Sets a many2one column on the rows `ids` (a one2many "add"); returns how many matched. */
export async function setInverse(ex: Executor, target: ModelSchema, column: string, ids: readonly number[], parentId: number | null): Promise<number> {
  let matched = 0;
  // Distinct ids: a row counted in two chunks would be matched twice.
  for (const part of idChunks(ex.dialect, [...new Set(ids)], CHUNK, textBytes(target.table, column, ID_COLUMN))) {
    const qb = ex.dialect.whereIn(ex.table(target.table), ID_COLUMN, part).update({ [column]: parentId });
    matched += Number(await ex.run<number>(qb));
  }
  return matched;
}

/**
 * Clears a many2one column on rows that point at `parentId`: all of them but `keep`
 * (a one2many "set"), or, given `only`, just those (a one2many "remove"). Returns their ids.
 */
export async function clearInverseExcept(
  ex: Executor, target: ModelSchema, column: string, parentId: number, keep: readonly number[], only?: readonly number[],
): Promise<number[]> {
  const current: number[] = [];
  for (const part of only ? idChunks(ex.dialect, [...new Set(only)], CHUNK, textBytes(target.table, column, ID_COLUMN), true) : [undefined]) {
    const sel = ex.table(target.table).select(ID_COLUMN).where(column, parentId);
    if (part) ex.dialect.whereIn(sel, ID_COLUMN, part);
    for (const r of await ex.run<Array<{ id: number }>>(sel)) current.push(Number(r.id));
  }
  const keepSet = new Set(keep);
  const drop = current.filter((id) => !keepSet.has(id));
  await setInverse(ex, target, column, drop, null);
  return drop;
}

function orderBy(qb: Knex.QueryBuilder, table: string, order: readonly OrderTerm[]): void {
  for (const o of order) qb.orderBy(`${table}.${o.column}`, o.direction);
  if (!order.some((o) => o.column === ID_COLUMN)) qb.orderBy(`${table}.${ID_COLUMN}`, 'asc');
}

function group(rows: ReadonlyArray<{ id: unknown; parent: number }>): RelatedIds {
  const present = new Set<number>();
  const related = new Map<number, number[]>();
  for (const r of rows) {
    const p = Number(r.parent);
    present.add(p);
    if (r.id === null) continue;
    // Related ids are primary keys (integers in this schema): a value that is not one
    // can be no record, and is not listed rather than cached as NaN.
    const id = decodeId(r.id);
    if (id === UNDECODABLE) continue;
    let list = related.get(p);
    if (!list) related.set(p, (list = []));
    list.push(id);
  }
  return { present, related };
}
