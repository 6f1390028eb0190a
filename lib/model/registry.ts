import type { ClassRef } from './class-ref';
import { SchemaError } from '../errors';
import type { ModelSchema } from './schema';

/**
 * Every model declared in this process, by class, in declaration order. Filled by @Model
 * at class-definition time. Names and tables need not be unique here: an Environment
 * maps a set of models (model-set.ts), and uniqueness is checked within that set when
 * it opens, so two classes may map one table name for two databases.
 */
const byClass = new Map<ClassRef, ModelSchema>();

/** Adds (or, for a class decorated again, replaces) a model. */
export function registerModel(schema: ModelSchema): void {
  byClass.set(schema.cls, schema);
}

/** The schema of a model class; SchemaError if the class is not decorated with @Model. */
export function schemaOf(cls: ClassRef): ModelSchema {
  const schema = byClass.get(cls);
  if (!schema) throw new SchemaError(`${cls?.name || String(cls)} is not a model: decorate it with @Model(...)`);
  return schema;
}

/** Every registered model, in declaration order: what an Environment opened without `models` maps. */
export function allSchemas(): ModelSchema[] {
  return [...byClass.values()];
}
