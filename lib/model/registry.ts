import { SchemaError } from '../errors';
import type { ModelSchema } from './schema';

/**
 * All models declared in this process, by name and by class. Filled by @Model at
 * class-definition time; read by environments to sync tables and resolve relations.
 */
const byName = new Map<string, ModelSchema>();
const byClass = new WeakMap<Function, ModelSchema>();
/**
 * Relation tables of the many2many fields resolved so far (relations.ts), by lower-cased
 * name -> the field that claimed it: a model declared later may not take one as its table.
 */
const relationTables = new Map<string, string>();

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
  const relationField = relationTables.get(schema.table.toLowerCase());
  if (relationField) {
    throw new SchemaError(
      `table "${schema.table}" of model "${schema.name}" is the relation table of ${relationField}; give the model another table or the many2many another { relation }`,
    );
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

/** The schema of a model by its name, or undefined when no model has that name. */
export function schemaNamed(name: string): ModelSchema | undefined {
  return byName.get(name);
}

export function allSchemas(): ModelSchema[] {
  return [...byName.values()];
}

/** Records that the many2many `field` ("model.field") uses relation table `table` (see relationTables). */
export function claimRelationTable(table: string, field: string): void {
  if (!relationTables.has(table.toLowerCase())) relationTables.set(table.toLowerCase(), field);
}
