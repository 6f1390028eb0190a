import { MissingError, ValidationError } from '../errors';
import { afterLinksChange, afterMany2oneChange, afterUnlink } from '../session/relation-rules';
import type { Scope } from '../session/scope';
import type { Session } from '../session/session';
import { isColumn, type FieldDef } from '../model/field-types';
import { inverseOf, relationOf, targetOf } from '../model/relations';
import type { ModelSchema } from '../model/schema';
import type { Key } from '../model/keys';
import { normalizeRecordValues, type RecordValues, type X2manyOps } from '../model/values';
import { assertCommandsWritable, assertWritable } from '../model/writable';
import {
  clearInverseExcept,
  deleteRows,
  existingIds,
  insertRows,
  linkRows,
  setInverse,
  unlinkRows,
  updateRows,
} from '../query/statements';

/**
 * create / write / unlink. Each runs its statements in one transaction level of its own
 * (a savepoint inside env.transaction) and puts its cache effects in that level's
 * layer as each statement succeeds: the layer reaches the cache the Environment reads
 * only when the level commits (see session.ts), and is dropped if it fails. A failed
 * call changes neither the database nor the cache. What a readonly model refuses
 * (model/writable.ts) fails before any SQL. With a shared cache, write and unlink
 * soft-lock their records there before their statement (session.lockShared); the
 * outermost commit invalidates them. create needs no lock: its keys are new, and the
 * shared cache holds no x2many lists and no "missing" marks.
 */

export async function createRecords(session: Session, schema: ModelSchema, list: readonly unknown[]): Promise<Key[]> {
  assertWritable(schema, 'create');
  const rows = list.map((v) => normalizeRecordValues(schema, v, 'create'));
  for (const row of rows) assertCommandsWritable(schema, row.values);
  if (rows.length === 0) return [];
  return session.atomic((scope) => insertAll(session, scope, schema, rows));
}

export async function writeRecords(
  session: Session,
  schema: ModelSchema,
  ids: readonly Key[],
  values: unknown,
): Promise<void> {
  assertWritable(schema, 'write');
  const normalized = normalizeRecordValues(schema, values, 'write').values;
  assertCommandsWritable(schema, normalized);
  const unique = [...new Set(ids)];
  if (unique.length === 0 || normalized.size === 0) return;
  await session.atomic(async (scope) => {
    const columns = new Map([...normalized].filter(([f]) => isColumn(f)));
    if (columns.size) {
      await session.lockShared(scope, schema, unique);
      const matched = await updateRows(scope.executor, schema, unique, columns);
      if (matched !== unique.length) {
        const found = await existingIds(scope.executor, schema, unique);
        throw new MissingError(
          schema.name,
          unique.filter((id) => !found.has(id)),
        );
      }
      for (const [field, value] of columns)
        for (const id of unique) scope.cache.layer.put(schema.name, field.name, id, value);
      const time = session.clock.tick();
      scope.cache.layer.touch(schema.name, unique, time);
      afterMany2oneChange(
        session.models,
        scope.cache.layer,
        schema,
        [...columns.keys()].filter((f) => f.type === 'many2one'),
        time,
      );
    }
    for (const [field, ops] of normalized) {
      if (!isColumn(field)) await applyX2many(session, scope, schema, field, unique, ops as X2manyOps);
    }
  });
}

export async function unlinkRecords(session: Session, schema: ModelSchema, ids: readonly Key[]): Promise<void> {
  assertWritable(schema, 'unlink');
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  await session.atomic(async (scope) => {
    await session.lockShared(scope, schema, unique);
    session.invalidateSharedAfterDelete(scope, schema);
    await deleteRows(scope.executor, schema, unique);
    const time = session.clock.tick();
    scope.cache.layer.markMissing(schema.name, unique, time);
    afterUnlink(session.models, scope.cache.layer, schema, time);
  });
}

/** Inserts rows, then their x2many commands. */
async function insertAll(
  session: Session,
  scope: Scope,
  schema: ModelSchema,
  rows: readonly RecordValues[],
): Promise<Key[]> {
  const columnRows = rows.map((row) => ({
    key: row.key,
    values: new Map([...row.values].filter(([f]) => isColumn(f))),
  }));
  const ids = await insertRows(scope.executor, schema, columnRows);
  const time = session.clock.tick();
  // A key the database reuses, or a caller's key of a row deleted behind the cache's back: forget what was known of it.
  scope.cache.layer.invalidate(schema.name, ids, time);
  for (const field of schema.columnFields)
    columnRows.forEach((row, i) => scope.cache.layer.put(schema.name, field.name, ids[i], row.values.get(field)));
  scope.cache.layer.touch(schema.name, ids, time);
  afterMany2oneChange(
    session.models,
    scope.cache.layer,
    schema,
    schema.columnFields.filter((f) => f.type === 'many2one'),
    time,
  );
  for (let i = 0; i < rows.length; i++) {
    for (const [field, ops] of rows[i].values) {
      if (!isColumn(field)) await applyX2many(session, scope, schema, field, [ids[i]], ops as X2manyOps);
    }
  }
  return ids;
}

/** Runs x2many commands (set, remove, add, create, in that order) for `parents`. */
async function applyX2many(
  session: Session,
  scope: Scope,
  schema: ModelSchema,
  field: FieldDef,
  parents: readonly Key[],
  ops: X2manyOps,
): Promise<void> {
  const target = targetOf(schema, field);
  const where = `${schema.name}.${field.name}`;
  const created: Key[][] = [];
  if (field.type === 'one2many') {
    const inverse = inverseOf(schema, field);
    if (parents.length > 1 && (ops.set || ops.add)) {
      throw new ValidationError(`${where}: set/add give children one parent; write them on a single record`);
    }
    const moved = new Map<Key, Key | null>();
    for (const parent of parents) {
      if (ops.set) {
        const dropped = await clearInverseExcept(
          scope.executor,
          target,
          inverse.column,
          schema.primaryKey,
          parent,
          ops.set,
        );
        if (dropped.length && inverse.required)
          throw new ValidationError(
            `${where}: "${target.name}.${inverse.name}" is required; unlink the records instead of removing them`,
          );
        dropped.forEach((id) => moved.set(id, null));
      }
      if (ops.remove) {
        if (inverse.required)
          throw new ValidationError(
            `${where}: "${target.name}.${inverse.name}" is required; unlink the records instead of removing them`,
          );
        const removed = await clearInverseExcept(
          scope.executor,
          target,
          inverse.column,
          schema.primaryKey,
          parent,
          [],
          ops.remove,
        );
        removed.forEach((id) => moved.set(id, null));
      }
      const add = [...(ops.set ?? []), ...(ops.add ?? [])];
      if (add.length) {
        const matched = await setInverse(scope.executor, target, inverse.column, add, parent);
        if (matched !== new Set(add).size) throw new MissingError(target.name, add);
        add.forEach((id) => moved.set(id, parent));
      }
      if (ops.create) {
        const values = ops.create.map((v) => ({ ...(v as object), [inverse.name]: parent }));
        const rows = values.map((v) => normalizeRecordValues(target, v, 'create'));
        await insertAll(session, scope, target, rows);
      }
    }
    // Which children moved is known only now; still before the commit, which is what the lock must precede.
    await session.lockShared(scope, target, moved.keys());
    for (const [id, parent] of moved) scope.cache.layer.put(target.name, inverse.name, id, parent);
    const time = session.clock.tick();
    scope.cache.layer.touch(target.name, moved.keys(), time);
    afterMany2oneChange(session.models, scope.cache.layer, target, [inverse], time);
    return;
  }
  const rel = relationOf(schema, field);
  const sides = { owner: schema.primaryKey, target: target.primaryKey };
  if (ops.set) await unlinkRows(scope.executor, rel, sides, parents);
  if (ops.remove) await unlinkRows(scope.executor, rel, sides, parents, ops.remove);
  if (ops.create)
    created.push(
      await insertAll(
        session,
        scope,
        target,
        ops.create.map((v) => normalizeRecordValues(target, v, 'create')),
      ),
    );
  const link = [...(ops.set ?? []), ...(ops.add ?? []), ...created.flat()];
  if (link.length)
    await linkRows(
      scope.executor,
      rel,
      parents.flatMap((p) => link.map((t) => [p, t] as const)),
    );
  afterLinksChange(session.models, scope.cache.layer, schema, field, session.clock.tick());
}
