import type { FieldDef } from '../model/field-types';
import type { ModelSet } from '../model/model-set';
import { inverseOf, relationOf } from '../model/relations';
import type { ModelSchema } from '../model/schema';
import type { Layer } from '../cache/layer';

/**
 * Cache rules for relations: what a change to one model may have changed in the cached
 * values of others. The rule is to drop (never guess): a dropped entry is loaded again
 * on its next read, a wrong one would be served. Each drop is a change at `time` (see
 * versions.ts), so a load that was in flight cannot put the old list back.
 *
 * Only the Environment's models (`models`) are looked at: a model outside its set has
 * no cache in it.
 */

/** A many2one changed on some records: one2many lists that read through it are stale. */
export function afterMany2oneChange(
  models: ModelSet,
  layer: Layer,
  schema: ModelSchema,
  changed: readonly FieldDef[],
  time: number,
): void {
  if (changed.length === 0) return;
  for (const ref of models.fieldsPointingAt(schema)) {
    if (ref.field.type === 'one2many' && changed.includes(inverseOf(ref.schema, ref.field)))
      layer.dropField(ref.schema.name, ref.field.name, time);
  }
}

/** A many2many's links changed: both sides' cached lists through that relation table are stale. */
export function afterLinksChange(
  models: ModelSet,
  layer: Layer,
  schema: ModelSchema,
  field: FieldDef,
  time: number,
): void {
  for (const ref of models.fieldsOnRelationTable(relationOf(schema, field).table))
    layer.dropField(ref.schema.name, ref.field.name, time);
}

/**
 * Records of `schema` were deleted (they are marked missing by the caller). What the
 * database did because of its foreign keys is reflected here: children deleted by a
 * cascade are forgotten (their whole model, since which ones is not known), children
 * set to null lose the cached reference, and lists that held the records are dropped.
 */
export function afterUnlink(
  models: ModelSet,
  layer: Layer,
  schema: ModelSchema,
  time: number,
  seen = new Set<ModelSchema>(),
): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  for (const ref of models.fieldsPointingAt(schema)) {
    if (ref.field.type === 'many2one') {
      if (ref.field.onDelete === 'cascade') {
        layer.clear(ref.schema.name, time);
        afterUnlink(models, layer, ref.schema, time, seen);
      } else if (ref.field.onDelete === 'set null') {
        layer.dropField(ref.schema.name, ref.field.name, time);
      }
      afterMany2oneChange(models, layer, ref.schema, [ref.field], time);
    } else {
      layer.dropField(ref.schema.name, ref.field.name, time);
    }
  }
}

/**
 * The models whose columns the database may change when records of `schema` are
 * deleted (ON DELETE CASCADE deletes them, SET NULL clears a reference): the same
 * foreign keys afterUnlink follows, for caches that cannot name the records (L2).
 */
export function changedByUnlink(models: ModelSet, schema: ModelSchema, seen = new Set<ModelSchema>()): ModelSchema[] {
  if (seen.has(schema)) return [];
  seen.add(schema);
  const out: ModelSchema[] = [];
  for (const ref of models.fieldsPointingAt(schema)) {
    if (ref.field.type !== 'many2one') continue;
    if (ref.field.onDelete === 'cascade') out.push(ref.schema, ...changedByUnlink(models, ref.schema, seen));
    else if (ref.field.onDelete === 'set null') out.push(ref.schema);
  }
  return [...new Set(out)];
}
