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

/** Adds a model. A class is one model: decorating it again (`@Model('a') @Model('b')`) is a SchemaError. */
export function registerModel(schema: ModelSchema): void {
  const existing = byClass.get(schema.cls);
  if (existing)
    throw new SchemaError(
      `@Model "${schema.name}": class ${schema.cls.name} is already the model "${existing.name}"; a class takes one @Model`,
    );
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
