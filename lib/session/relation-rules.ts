import type { FieldDef } from '../model/field-types';
import { fieldsPointingAt, inverseOf, relationOf } from '../model/relations';
import { allSchemas } from '../model/registry';
import type { ModelSchema } from '../model/schema';
import type { Layer } from './layer';

/**
 * Cache rules for relations: what a change to one model may have changed in the cached
 * values of others. The rule is to drop (never guess): a dropped entry is loaded again
 * on its next read, a wrong one would be served. Each drop is a change at `time` (see
 * versions.ts), so a load that was in flight cannot put the old list back.
 */

/** A many2one changed on some records: one2many lists that read through it are stale. */
export function afterMany2oneChange(layer: Layer, schema: ModelSchema, changed: readonly FieldDef[], time: number): void {
  if (changed.length === 0) return;
  for (const ref of fieldsPointingAt(schema)) {
    if (ref.field.type === 'one2many' && changed.includes(inverseOf(ref.schema, ref.field))) layer.dropField(ref.schema.name, ref.field.name, time);
  }
}

/** A many2many's links changed: both sides' cached lists through that relation table are stale. */
export function afterLinksChange(layer: Layer, schema: ModelSchema, field: FieldDef, time: number): void {
  const table = relationOf(schema, field).table;
  for (const s of allSchemas()) {
    for (const f of s.fields.values()) {
      if (f.type === 'many2many' && relationOf(s, f).table === table) layer.dropField(s.name, f.name, time);
    }
  }
}

/**
 * Records of `schema` were deleted (they are marked missing by the caller). What the
 * database did because of its foreign keys is reflected here: children deleted by a
 * cascade are forgotten (their whole model, since which ones is not known), children
 * set to null lose the cached reference, and lists that held the records are dropped.
 */
export function afterUnlink(layer: Layer, schema: ModelSchema, time: number, seen = new Set<ModelSchema>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  for (const ref of fieldsPointingAt(schema)) {
    if (ref.field.type === 'many2one') {
      if (ref.field.onDelete === 'cascade') {
        layer.clear(ref.schema.name, time);
        afterUnlink(layer, ref.schema, time, seen);
      } else if (ref.field.onDelete === 'set null') {
        layer.dropField(ref.schema.name, ref.field.name, time);
      }
      afterMany2oneChange(layer, ref.schema, [ref.field], time);
    } else {
      layer.dropField(ref.schema.name, ref.field.name, time);
    }
  }
}
