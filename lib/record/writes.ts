import { MissingError, ValidationError } from '../errors';
import type { Environment } from '../env/environment';
import { afterLinksChange, afterMany2oneChange, afterUnlink } from '../env/relation-cache';
import type { Scope } from '../env/scope';
import { isColumn, type FieldDef } from '../model/field-types';
import { inverseOf, relationOf, targetOf } from '../model/relations';
import type { ModelSchema } from '../model/schema';
import { normalizeRecordValues, type X2manyOps } from '../model/values';
import {
  clearInverseExcept, deleteRows, existingIds, insertRows, linkRows, setInverse, unlinkRows, updateRows,
} from '../query/statements';

/**
 * create / write / unlink. Each runs its statements in one transaction (a savepoint
 * inside env.transaction), and touches the cache only after that succeeded: the SQL
 * runs, then the collected cache effects apply. A failed call changes neither.
 */
type Effects = Array<() => void>;

export async function createRecords(env: Environment, schema: ModelSchema, list: readonly unknown[]): Promise<number[]> {
  const rows = list.map((v) => normalizeRecordValues(schema, v, 'create'));
  if (rows.length === 0) return [];
  const effects: Effects = [];
  const ids = await env.atomic((scope) => insertAll(env, scope, schema, rows, effects));
  applyEffects(env, effects);
  return ids;
}

export async function writeRecords(env: Environment, schema: ModelSchema, ids: readonly number[], values: unknown): Promise<void> {
  const normalized = normalizeRecordValues(schema, values, 'write');
  const unique = [...new Set(ids)];
  if (unique.length === 0 || normalized.size === 0) return;
  const effects: Effects = [];
  await env.atomic(async (scope) => {
    const columns = new Map([...normalized].filter(([f]) => isColumn(f)));
    if (columns.size) {
      const matched = await updateRows(scope.executor, schema, unique, columns);
      if (matched !== unique.length) {
        const found = await existingIds(scope.executor, schema, unique);
        throw new MissingError(schema.name, unique.filter((id) => !found.has(id)));
      }
      effects.push(() => {
        env.cache.unmarkMissing(schema.name, unique); // the UPDATE matched them: they exist
        for (const [field, value] of columns) {
          const byId = env.cache.field(schema.name, field.name);
          for (const id of unique) byId.set(id, value);
        }
        env.scope().journal?.add(schema.name, unique);
        afterMany2oneChange(env.cache, schema, [...columns.keys()].filter((f) => f.type === 'many2one'));
      });
    }
    for (const [field, ops] of normalized) {
      if (!isColumn(field)) await applyX2many(env, scope, schema, field, unique, ops as X2manyOps, effects);
    }
  });
  applyEffects(env, effects);
}

export async function unlinkRecords(env: Environment, schema: ModelSchema, ids: readonly number[]): Promise<void> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return;
  await env.atomic((scope) => deleteRows(scope.executor, schema, unique));
  env.cache.markMissing(schema.name, unique);
  env.scope().journal?.add(schema.name, unique);
  afterUnlink(env.cache, schema);
}

/** Inserts rows, then their x2many commands; cache effects are queued, not applied. */
async function insertAll(env: Environment, scope: Scope, schema: ModelSchema, rows: ReadonlyArray<Map<FieldDef, unknown>>, effects: Effects): Promise<number[]> {
  const columnRows = rows.map((row) => new Map([...row].filter(([f]) => isColumn(f))));
  const ids = await insertRows(scope.executor, schema, columnRows);
  effects.push(() => {
    env.cache.invalidate(schema.name, ids); // an id the database reuses is not "missing" any more
    for (const field of schema.columnFields) {
      const byId = env.cache.field(schema.name, field.name);
      columnRows.forEach((row, i) => byId.set(ids[i], row.get(field)));
    }
    env.scope().journal?.add(schema.name, ids);
    afterMany2oneChange(env.cache, schema, schema.columnFields.filter((f) => f.type === 'many2one'));
  });
  for (let i = 0; i < rows.length; i++) {
    for (const [field, ops] of rows[i]) {
      if (!isColumn(field)) await applyX2many(env, scope, schema, field, [ids[i]], ops as X2manyOps, effects);
    }
  }
  return ids;
}

/** Runs x2many commands (set, remove, add, create, in that order) for `parents`. */
async function applyX2many(
  env: Environment, scope: Scope, schema: ModelSchema, field: FieldDef, parents: readonly number[], ops: X2manyOps, effects: Effects,
): Promise<void> {
  const target = targetOf(schema, field);
  const where = `${schema.name}.${field.name}`;
  const created: number[][] = [];
  if (field.type === 'one2many') {
    const inverse = inverseOf(schema, field);
    if (parents.length > 1 && (ops.set || ops.add)) {
      throw new ValidationError(`${where}: set/add give children one parent; write them on a single record`);
    }
    const moved = new Map<number, number | null>();
    for (const parent of parents) {
      if (ops.set) {
        const dropped = await clearInverseExcept(scope.executor, target, inverse.column, parent, ops.set);
        if (dropped.length && inverse.required) throw new ValidationError(`${where}: "${target.name}.${inverse.name}" is required; unlink the records instead of removing them`);
        dropped.forEach((id) => moved.set(id, null));
      }
      if (ops.remove) {
        if (inverse.required) throw new ValidationError(`${where}: "${target.name}.${inverse.name}" is required; unlink the records instead of removing them`);
        const removed = await clearInverseExcept(scope.executor, target, inverse.column, parent, [], ops.remove);
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
        await insertAll(env, scope, target, rows, effects);
      }
    }
    effects.push(() => {
      env.cache.unmarkMissing(target.name, [...moved.keys()]);
      const byId = env.cache.field(target.name, inverse.name);
      for (const [id, parent] of moved) byId.set(id, parent);
      env.scope().journal?.add(target.name, moved.keys());
      afterMany2oneChange(env.cache, target, [inverse]);
    });
    return;
  }
  const rel = relationOf(schema, field);
  if (ops.set) await unlinkRows(scope.executor, rel, parents);
  if (ops.remove) await unlinkRows(scope.executor, rel, parents, ops.remove);
  if (ops.create) created.push(await insertAll(env, scope, target, ops.create.map((v) => normalizeRecordValues(target, v, 'create')), effects));
  const link = [...(ops.set ?? []), ...(ops.add ?? []), ...created.flat()];
  if (link.length) await linkRows(scope.executor, rel, parents.flatMap((p) => link.map((t) => [p, t] as const)));
  effects.push(() => afterLinksChange(env.cache, schema, field));
}

function applyEffects(env: Environment, effects: Effects): void {
  for (const effect of effects) effect();
}
