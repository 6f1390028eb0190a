import { ValidationError } from '../errors';
import { isX2many, type FieldDef } from './field-types';
import { relationOf, targetOf } from './relations';
import type { ModelSchema } from './schema';

/**
 * Which writes a readonly model (`@Model({ readonly: true })`: a view, or a table the app
 * must not write) refuses. Checked before any SQL; each refusal is a ValidationError
 * naming the readonly model.
 *
 * - create / write / unlink on a readonly model, whatever the fields.
 * - x2many commands of a writable model that would write what belongs to a readonly one:
 *   a one2many whose target is readonly (set / add / remove write the target's many2one,
 *   create inserts into its table), and a many2many whose relation table links a readonly
 *   model on either side (both sides of a relation table link the same two models,
 *   relations.ts; the link table is part of that model's existing schema: sync
 *   never creates it, and links are not written). Commands nested in `create` are checked
 *   the same way.
 * - A many2one of a writable model pointing at a readonly one is writable: it writes the
 *   writable model's own column.
 */
export type WriteKind = 'create' | 'write' | 'unlink';

export function assertWritable(schema: ModelSchema, kind: WriteKind): void {
  if (schema.readonly) throw new ValidationError(`model "${schema.name}" is readonly: ${kind} is not allowed`);
}

/** Refuses x2many commands (raw or normalized values) on `schema` that write a readonly model's data. */
export function assertCommandsWritable(schema: ModelSchema, values: unknown): void {
  if (typeof values !== 'object' || values === null) return;
  const entries = values instanceof Map ? ([...values] as Array<[FieldDef | string, unknown]>) : Object.entries(values);
  for (const [key, ops] of entries) {
    const field = typeof key === 'string' ? schema.fields.get(key) : key;
    if (!field || !isX2many(field)) continue;
    const owner = readonlyOwner(schema, field);
    if (owner) {
      const what =
        field.type === 'one2many'
          ? `writes model "${owner.name}"`
          : `writes the relation table "${relationOf(schema, field).table}" of model "${owner.name}"`;
      throw new ValidationError(
        `${schema.name}.${field.name}: model "${owner.name}" is readonly: this x2many command ${what}`,
      );
    }
    const created = (ops as { create?: unknown } | null)?.create;
    if (Array.isArray(created)) for (const v of created) assertCommandsWritable(targetOf(schema, field), v);
  }
}

/**
 * The readonly model an x2many's commands would write, if any: the one2many's target; for
 * a many2many, either side of its relation table (any many2many on that table counts).
 */
export function readonlyOwner(schema: ModelSchema, field: FieldDef): ModelSchema | undefined {
  const target = targetOf(schema, field);
  if (field.type === 'one2many') return target.readonly ? target : undefined;
  if (schema.readonly) return schema;
  if (target.readonly) return target;
  return undefined;
}
