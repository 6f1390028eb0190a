import type { Knex } from 'knex';
import type { Executor } from '../db/executor';
import { DataError, ValidationError } from '../errors';
import { keyDecoder, storedTypeOf, UNDECODABLE, type Decoder } from '../model/decode';
import type { FieldDef } from '../model/field-types';
import type { Key, PrimaryKeyDef } from '../model/keys';
import { targetOf, type RelationTable } from '../model/relations';
import type { ModelSchema, OrderTerm } from '../model/schema';
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

export async function searchIds(
  ex: Executor,
  schema: ModelSchema,
  cond: Condition,
  opts: SearchOptions,
): Promise<Key[]> {
  const qb = ex.table(schema.table).select({ id: `${schema.table}.${schema.primaryKey.column}` });
  const size = applyCondition(qb, cond, schema.table, ex.dialect);
  orderBy(qb, ex.dialect, schema.table, opts.order, schema);
  if (opts.limit !== undefined) qb.limit(opts.limit);
  if (opts.offset !== undefined && opts.offset > 0) qb.offset(opts.offset);
  checkSearchBytes(qb, ex.dialect, size);
  return keysOf(schema, await ex.run<Array<{ id: unknown }>>(qb));
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
  readonly ids: Key[];
  readonly columns: unknown[][];
}

/**
 * Loads `fields` of up to CHUNK records in one statement, as canonical values. Keys
 * absent from the result do not exist. Column-major, so that a load of 1,000 records
 * allocates one array per field rather than one per record.
 *
 * Rows come back keyed by the stored key, and only rows whose key is exactly one asked
 * for count: a column whose collation calls 'A' and 'a ' equal (an existing MySQL
 * table) must not make one row the value of two keys.
 */
export async function loadRows(
  ex: Executor,
  schema: ModelSchema,
  ids: readonly Key[],
  fields: readonly FieldDef[],
): Promise<LoadedColumns> {
  const keyColumn = schema.primaryKey.column;
  const select = () => ex.table(schema.table).select({ [KEY_ALIAS]: keyColumn }, ...fields.map((f) => f.column));
  const range = schema.primaryKey.type === 'integer' ? denseRange(ids as readonly number[]) : undefined;
  let rows: Array<Record<string, unknown>> = [];
  if (range) rows = await ex.run(select().whereBetween(keyColumn, range));
  else {
    // One statement for the loader's chunk of ids, unless the server takes fewer bytes.
    const fixed = textBytes(schema.table, keyColumn, keyColumn, ...fields.map((f) => f.column));
    for (const part of idChunks(ex.dialect, ids, ids.length, fixed)) {
      rows = rows.concat(await ex.run<Array<Record<string, unknown>>>(ex.dialect.whereIn(select(), keyColumn, part)));
    }
  }
  const found = matchKeys(schema, rows, ids);
  rows = found.rows;
  const out: LoadedColumns = { ids: found.keys, columns: [] };
  for (const f of fields) {
    const decode = decoderOf(ex, schema, f);
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

/** Keys among `ids` that exist, one statement per CHUNK keys. */
export async function existingIds(ex: Executor, schema: ModelSchema, ids: readonly Key[]): Promise<Set<Key>> {
  const out = new Set<Key>();
  const keyColumn = schema.primaryKey.column;
  for (const part of idChunks(ex.dialect, ids, CHUNK, textBytes(schema.table, keyColumn, keyColumn))) {
    const qb = ex.dialect.whereIn(ex.table(schema.table).select({ [KEY_ALIAS]: keyColumn }), keyColumn, part);
    for (const key of matchKeys(schema, await ex.run<Array<Record<string, unknown>>>(qb), part).keys) out.add(key);
  }
  return out;
}

/** The column alias key columns are read under, whatever the key column is called. */
const KEY_ALIAS = 'proxorm_key';

/** [min, max] when integer keys are dense enough for a range scan (the usual search result), else undefined. */
function denseRange(ids: readonly number[]): [number, number] | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const id of ids) {
    if (id < min) min = id;
    if (id > max) max = id;
  }
  return max - min + 1 <= ids.length * 1.25 ? [min, max] : undefined;
}

/**
 * The rows whose stored key is exactly one of `wanted` (a range scan returns others;
 * a case-insensitive or PAD SPACE key column returns near-matches), with their keys.
 */
function matchKeys(
  schema: ModelSchema,
  rows: Array<Record<string, unknown>>,
  wanted: readonly Key[],
): { rows: Array<Record<string, unknown>>; keys: Key[] } {
  const decode = keyDecoder(schema.primaryKey);
  const want = new Set(wanted);
  const keep: Array<Record<string, unknown>> = [];
  const keys: Key[] = [];
  for (const r of rows) {
    const key = decode(r[KEY_ALIAS]);
    if (key === UNDECODABLE || !want.has(key as Key)) continue;
    keep.push(r);
    keys.push(key as Key);
  }
  return { rows: keep, keys };
}

/** Keys of a search result, decoded; a stored key that is not one of the model's type is no record. */
function keysOf(schema: ModelSchema, rows: ReadonlyArray<{ id: unknown }>): Key[] {
  const decode = keyDecoder(schema.primaryKey);
  const out: Key[] = [];
  for (const r of rows) {
    const key = decode(r.id);
    if (key !== UNDECODABLE) out.push(key as Key);
  }
  return out;
}

/** How a column's stored values decode: a many2one as its target's key. */
function decoderOf(ex: Executor, schema: ModelSchema, f: FieldDef): Decoder {
  return f.type === 'many2one' ? keyDecoder(targetOf(schema, f).primaryKey) : ex.dialect.decoder(f);
}

/** One row to insert: its key when the caller gave it (or proxorm made it), and its column values. */
export interface NewRow {
  readonly key: Key | undefined;
  readonly values: ReadonlyMap<FieldDef, unknown>;
}

/**
 * Inserts rows (canonical values, every column present) and returns their keys in
 * order: the given ones, or those the database generated, read back per dialect.
 * Batched: one statement per chunk of rows, as many rows as the dialect's limits allow
 * (rows a statement, bound values, bytes); rows with and without a key never share a
 * statement. A row too large for any statement is a ValidationError, before anything
 * is sent.
 */
export async function insertRows(ex: Executor, schema: ModelSchema, rows: readonly NewRow[]): Promise<Key[]> {
  const keys: Key[] = [];
  for (let i = 0; i < rows.length;) {
    const given = rows[i].key !== undefined;
    let j = i;
    while (j < rows.length && (rows[j].key !== undefined) === given) j++;
    keys.push(...(await insertRun(ex, schema, rows.slice(i, j), given)));
    i = j;
  }
  return keys;
}

async function insertRun(ex: Executor, schema: ModelSchema, rows: readonly NewRow[], given: boolean): Promise<Key[]> {
  const { dialect } = ex;
  const keyColumn = schema.primaryKey.column;
  const columnsPerRow = Math.max(1, schema.columnFields.length + (given ? 1 : 0));
  // Generated keys are read back from the statement: where the dialect can't tell the
  // keys of a multi-row INSERT, one row a statement.
  const perStatement =
    given || dialect.consecutiveInsertIds
      ? Math.max(1, Math.min(dialect.maxInsertRows, Math.floor(dialect.limits.boundValues / columnsPerRow)))
      : 1;
  const values = rows.map((row) => {
    const problem = row.key === undefined ? undefined : dialect.keyProblem(schema.primaryKey, row.key);
    if (problem) throw new ValidationError(`${schema.name}.create: ${problem}`);
    const cols = toColumns(ex, row.values);
    // A model without fields still inserts a row: a null key lets the database pick it.
    if (given || row.values.size === 0) cols[keyColumn] = given ? (row.key as Knex.Value) : null;
    return cols;
  });
  const chunks = chunked(
    values,
    perStatement,
    dialect,
    textBytes(schema.table, keyColumn, ...schema.columnFields.map((f) => f.column)),
    (row) => rowBytes(dialect, row),
    (bytes, room) => tooLargeError(`${schema.name}.create`, 'an INSERT', 'one record', bytes, room, dialect),
  );
  const keys: Key[] = [];
  for (const chunk of chunks) {
    const insert = ex.table(schema.table).insert(chunk);
    if (given) await ex.run(insert);
    else
      keys.push(
        ...dialect.insertedIds(
          await ex.run<unknown[]>(dialect.returningKeys(insert, keyColumn)),
          chunk.length,
          keyColumn,
        ),
      );
  }
  return given ? rows.map((r) => r.key as Key) : keys;
}

/** Updates the same values on `ids`; returns how many rows matched. */
export async function updateRows(
  ex: Executor,
  schema: ModelSchema,
  ids: readonly Key[],
  values: ReadonlyMap<FieldDef, unknown>,
): Promise<number> {
  let matched = 0;
  const set = toColumns(ex, values);
  // Every statement repeats the SET values: values too large for one statement are a ValidationError.
  const setBytes = textBytes(schema.table, ...Object.keys(set)) + rowBytes(ex.dialect, set);
  if (setBytes > statementBudget(ex.dialect.limits)) {
    throw tooLargeError(
      `${schema.name}.write`,
      'an UPDATE',
      'these values',
      setBytes,
      statementBudget(ex.dialect.limits),
      ex.dialect,
    );
  }
  for (const part of idChunks(ex.dialect, ids, CHUNK, setBytes)) {
    const qb = ex.dialect.whereKeyIn(ex.table(schema.table), schema.primaryKey, part).update(set);
    matched += Number(await ex.run<number>(qb));
  }
  return matched;
}

export async function deleteRows(ex: Executor, schema: ModelSchema, ids: readonly Key[]): Promise<number> {
  let deleted = 0;
  for (const part of idChunks(ex.dialect, ids, CHUNK, textBytes(schema.table, schema.primaryKey.column))) {
    const qb = ex.dialect.whereKeyIn(ex.table(schema.table), schema.primaryKey, part).del();
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
  readonly present: ReadonlySet<Key>;
  readonly related: ReadonlyMap<Key, Key[]>;
}

/**
 * The children of `parentIds` through a one2many (the target rows whose inverse column
 * holds a parent id), in the target's order. One statement, from the parent table with
 * a LEFT JOIN, so that it also tells which parents exist.
 */
export async function loadOne2many(
  ex: Executor,
  owner: ModelSchema,
  target: ModelSchema,
  inverseColumn: string,
  parentIds: readonly Key[],
  order: readonly OrderTerm[],
): Promise<RelatedIds> {
  const parent = `${owner.table}.${owner.primaryKey.column}`;
  // Aliased: a model whose one2many points to its own table joins the table to itself.
  const child = 'proxorm_child';
  const qb = ex
    .table(owner.table)
    .select({ parent, id: `${child}.${target.primaryKey.column}` })
    .leftJoin({ [child]: target.table }, `${child}.${inverseColumn}`, parent);
  ex.dialect.whereIn(qb, parent, parentIds);
  orderBy(qb, ex.dialect, child, order, target);
  return group(owner, target, parentIds, await ex.run<Array<{ id: unknown; parent: unknown }>>(qb));
}

/** The linked target ids of `parentIds` through a many2many, in the target's order; one statement. */
export async function loadMany2many(
  ex: Executor,
  owner: ModelSchema,
  rel: RelationTable,
  target: ModelSchema,
  parentIds: readonly Key[],
  order: readonly OrderTerm[],
): Promise<RelatedIds> {
  const parent = `${owner.table}.${owner.primaryKey.column}`;
  const linked = 'proxorm_linked';
  const qb = ex
    .table(owner.table)
    .select({ parent, id: `${linked}.${target.primaryKey.column}` })
    .leftJoin(rel.table, `${rel.table}.${rel.column1}`, parent)
    .leftJoin({ [linked]: target.table }, `${linked}.${target.primaryKey.column}`, `${rel.table}.${rel.column2}`);
  ex.dialect.whereIn(qb, parent, parentIds);
  orderBy(qb, ex.dialect, linked, order, target);
  return group(owner, target, parentIds, await ex.run<Array<{ id: unknown; parent: unknown }>>(qb));
}

/**
 * Links pairs in a relation table; pairs already linked are left as they are. (An
 * upsert that rewrites the key, not INSERT IGNORE: MySQL's IGNORE would also swallow
 * foreign key errors.) As many pairs a statement as the dialect takes: a multi-row
 * INSERT (SQLite: at most 500 rows, its compound SELECT limit).
 */
export async function linkRows(
  ex: Executor,
  rel: RelationTable,
  pairs: ReadonlyArray<readonly [Key, Key]>,
): Promise<void> {
  const { dialect } = ex;
  const perStatement = Math.max(1, Math.min(dialect.maxInsertRows, Math.floor(dialect.limits.boundValues / 2)));
  const chunks = chunked(
    pairs,
    perStatement,
    dialect,
    2 * textBytes(rel.table, rel.column1, rel.column2),
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
 * statement, or one per chunk of each list where the lists are long. `keys` are the
 * keys of the two sides: link columns are matched exactly, as keys are (see
 * Dialect.whereKeyIn), whatever an existing link table's collation.
 */
export async function unlinkRows(
  ex: Executor,
  rel: RelationTable,
  keys: { readonly owner: PrimaryKeyDef; readonly target: PrimaryKeyDef },
  parentIds: readonly Key[],
  targetIds?: readonly Key[],
): Promise<void> {
  // With two lists, each may fill half of a statement.
  const fixed =
    textBytes(rel.table, rel.column1, rel.column2) +
    (targetIds ? Math.floor(statementBudget(ex.dialect.limits) / 2) : 0);
  const targetChunks = targetIds ? idChunks(ex.dialect, targetIds, CHUNK, fixed, true) : [undefined];
  for (const parents of idChunks(ex.dialect, parentIds, CHUNK, fixed, true)) {
    for (const targets of targetChunks) {
      const qb = ex.table(rel.table);
      ex.dialect.whereKeyIn(qb, { ...keys.owner, column: rel.column1 }, parents);
      if (targets) ex.dialect.whereKeyIn(qb, { ...keys.target, column: rel.column2 }, targets);
      await ex.run(qb.del());
    }
  }
}

/** Sets a many2one column on the rows `ids` (a one2many "add"); returns how many matched. */
export async function setInverse(
  ex: Executor,
  target: ModelSchema,
  column: string,
  ids: readonly Key[],
  parentId: Key | null,
): Promise<number> {
  let matched = 0;
  // Distinct ids: a row counted in two chunks would be matched twice.
  for (const part of idChunks(
    ex.dialect,
    [...new Set(ids)],
    CHUNK,
    textBytes(target.table, column, target.primaryKey.column),
  )) {
    const qb = ex.dialect.whereKeyIn(ex.table(target.table), target.primaryKey, part).update({ [column]: parentId });
    matched += Number(await ex.run<number>(qb));
  }
  return matched;
}

/**
 * Clears a many2one column on rows that point at `parentId` (a key of `parentKey`,
 * matched exactly): all of them but `keep` (a one2many "set"), or, given `only`, just
 * those (a one2many "remove"). Returns their ids.
 */
export async function clearInverseExcept(
  ex: Executor,
  target: ModelSchema,
  column: string,
  parentKey: PrimaryKeyDef,
  parentId: Key,
  keep: readonly Key[],
  only?: readonly Key[],
): Promise<Key[]> {
  const current: Key[] = [];
  const keyColumn = target.primaryKey.column;
  for (const part of only
    ? idChunks(ex.dialect, [...new Set(only)], CHUNK, textBytes(target.table, column, keyColumn), true)
    : [undefined]) {
    const sel = ex.dialect.whereKeyIn(ex.table(target.table).select({ id: keyColumn }), { ...parentKey, column }, [
      parentId,
    ]);
    if (part) ex.dialect.whereKeyIn(sel, target.primaryKey, part);
    current.push(...keysOf(target, await ex.run<Array<{ id: unknown }>>(sel)));
  }
  const keepSet = new Set(keep);
  const drop = current.filter((id) => !keepSet.has(id));
  await setInverse(ex, target, column, drop, null);
  return drop;
}

/** The model's order, then its key: a total order, the same on every database (NULL first). */
function orderBy(
  qb: Knex.QueryBuilder,
  dialect: Executor['dialect'],
  table: string,
  order: readonly OrderTerm[],
  schema: ModelSchema,
): void {
  const keyColumn = schema.primaryKey.column;
  for (const o of order) dialect.orderBy(qb, `${table}.${o.column}`, o.direction);
  if (!order.some((o) => o.column === keyColumn)) qb.orderBy(`${table}.${keyColumn}`, 'asc');
}

/**
 * Related keys by parent. A row whose key does not decode as the model's key type can
 * be no record: not listed, rather than cached under a key nothing will ask for. A
 * parent row counts only under the exact key asked for (see matchKeys).
 */
function group(
  owner: ModelSchema,
  target: ModelSchema,
  parentIds: readonly Key[],
  rows: ReadonlyArray<{ id: unknown; parent: unknown }>,
): RelatedIds {
  const decodeParent = keyDecoder(owner.primaryKey);
  const decodeChild = keyDecoder(target.primaryKey);
  const asked = new Set(parentIds);
  const present = new Set<Key>();
  const related = new Map<Key, Key[]>();
  for (const r of rows) {
    const p = decodeParent(r.parent) as Key | typeof UNDECODABLE;
    if (p === UNDECODABLE || !asked.has(p)) continue;
    present.add(p);
    if (r.id === null) continue;
    const id = decodeChild(r.id);
    if (id === UNDECODABLE) continue;
    let list = related.get(p);
    if (!list) related.set(p, (list = []));
    list.push(id as Key);
  }
  return { present, related };
}
