import { SchemaError } from '../errors';
import type { ModelSchema } from './schema';

/**
 * All models declared in this process, by name and by class. Filled by @Model at
 * class-definition time; read by environments to sync tables and resolve relations.
 */
const byName = new Map<string, ModelSchema>();
const byClass = new WeakMap<Function, ModelSchema>();

export function registerModel(schema: ModelSchema): void {
  const existing = byName.get(schema.name);
  if (existing && existing.cls !== schema.cls) {
    throw new SchemaError(`model name "${schema.name}" is already used by class ${existing.cls.name}`);
  }
  for (const other of byName.values()) {
    // Both databases compare table names without case (SQLite always, MySQL on most systems).
    if (other.table.toLowerCase() === schema.table.toLowerCase() && other.cls !== schema.cls) {
      throw new SchemaError(`table "${schema.table}" of model "${schema.name}" is already used by model "${other.name}"`);
    }
  }
  byName.set(schema.name, schema);
  byClass.set(schema.cls, schema);
}

/** The schema of a model class; SchemaError if the class is not decorated with @Model. */
export function schemaOf(cls: Function): ModelSchema {
  const schema = byClass.get(cls);
  if (!schema) throw new SchemaError(`${cls?.name || String(cls)} is not a model: decorate it with @Model(...)`);
  return schema;
}

export function allSchemas(): ModelSchema[] {
  return [...byName.values()];
}
