import type { FieldDef } from '../model/field-types';
import { fieldsPointingAt, inverseOf, relationOf } from '../model/relations';
import { allSchemas } from '../model/registry';
import type { ModelSchema } from '../model/schema';
import type { RecordCache } from './cache';

/**
 * Cache rules for relations: what a change to one model may have changed in the cached
 * values of others. The rule is to drop (never guess): a dropped entry is loaded again
 * on its next read, a wrong one would be served.
 */

/** A many2one changed on some records: one2many lists that read through it are stale. */
export function afterMany2oneChange(cache: RecordCache, schema: ModelSchema, changed: readonly FieldDef[]): void {
  if (changed.length === 0) return;
  for (const ref of fieldsPointingAt(schema)) {
    if (ref.field.type === 'one2many' && changed.includes(inverseOf(ref.schema, ref.field))) cache.dropField(ref.schema.name, ref.field.name);
  }
}

/** A many2many's links changed: both sides' cached lists through that relation table are stale. */
export function afterLinksChange(cache: RecordCache, schema: ModelSchema, field: FieldDef): void {
  const table = relationOf(schema, field).table;
  for (const s of allSchemas()) {
    for (const f of s.fields.values()) {
      if (f.type === 'many2many' && relationOf(s, f).table === table) cache.dropField(s.name, f.name);
    }
  }
}

/**
 * Records of `schema` were deleted (they are marked missing by the caller). What the
 * database did because of its foreign keys is reflected here: children deleted by a
 * cascade are forgotten (their whole model, since which ones is not known), children
 * set to null lose the cached reference, and lists that held the records are dropped.
 */
export function afterUnlink(cache: RecordCache, schema: ModelSchema, seen = new Set<ModelSchema>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  for (const ref of fieldsPointingAt(schema)) {
    if (ref.field.type === 'many2one') {
      if (ref.field.onDelete === 'cascade') {
        cache.clear(ref.schema.name);
        afterUnlink(cache, ref.schema, seen);
      } else if (ref.field.onDelete === 'set null') {
        cache.dropField(ref.schema.name, ref.field.name);
      }
      afterMany2oneChange(cache, ref.schema, [ref.field]);
    } else {
      cache.dropField(ref.schema.name, ref.field.name);
    }
  }
}
