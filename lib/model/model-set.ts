import type { Dialect } from '../db/dialect';
import type { ClassRef } from './class-ref';
import { SchemaError, ValidationError } from '../errors';
import type { FieldDef } from './field-types';
import { allSchemas, schemaOf } from './registry';
import { relationOf, targetOf, type RelationTable } from './relations';
import type { ModelSchema } from './schema';

/** A relational field, with the model that declares it. */
export interface FieldRef {
  readonly schema: ModelSchema;
  readonly field: FieldDef;
}

/**
 * The models one Environment maps (`Environment.open({ models })`, default: every model
 * registered when it opens), shared by its forks and fixed for the life of its pool.
 * This is the one place that answers "the models of this Environment": what sync()
 * creates, which classes and names env.model / clearCache / invalidateRecord accept,
 * and which fields the cache rules (session/relation-rules.ts) look at.
 *
 * Built and checked at open, before any SQL, so a bad set is a SchemaError there:
 * - model names, and table names compared without case (SQLite always, MySQL on most
 *   systems), are unique within the set (not across sets: two classes may map a
 *   `customer` table of two databases);
 * - every relation resolves (target, inverse, relation table names: relations.ts) and
 *   targets a model of the set;
 * - a many2many's relation table is no model's table, and only the two sides of one
 *   relation (column1 and column2 swapped) share one.
 */
export class ModelSet {
  /** In the order given (default: registration order); sync creates tables in it. */
  readonly schemas: readonly ModelSchema[];
  private readonly byClass = new Map<ClassRef, ModelSchema>();
  private readonly byName = new Map<string, ModelSchema>();
  private readonly pointing = new Map<ModelSchema, FieldRef[]>();
  /** Lower-cased relation table -> the many2many fields of the set that use it. */
  private readonly links = new Map<string, FieldRef[]>();

  /**
   * The set of `classes` (each a class decorated with @Model; duplicates are ignored),
   * or of every registered model. ValidationError when `classes` is not an array of
   * classes; SchemaError when a class is not a model or the set breaks a rule above.
   */
  static of(classes?: readonly unknown[]): ModelSet {
    if (classes === undefined) return new ModelSet(allSchemas());
    if (!Array.isArray(classes))
      throw new ValidationError('Environment.open: "models" must be an array of model classes');
    const schemas = new Set<ModelSchema>();
    classes.forEach((cls, i) => {
      if (typeof cls !== 'function') throw new ValidationError(`Environment.open: models[${i}] is not a class`);
      schemas.add(schemaOf(cls as ClassRef));
    });
    return new ModelSet([...schemas]);
  }

  private constructor(schemas: readonly ModelSchema[]) {
    this.schemas = schemas;
    const tables = new Map<string, ModelSchema>();
    for (const schema of schemas) {
      const sameName = this.byName.get(schema.name);
      if (sameName) {
        throw new SchemaError(
          `model name "${schema.name}" is used by class ${sameName.cls.name} and class ${schema.cls.name}${OUT}`,
        );
      }
      const sameTable = tables.get(schema.table.toLowerCase());
      if (sameTable) {
        throw new SchemaError(
          `table "${schema.table}" of model "${schema.name}" is already used by model "${sameTable.name}"${OUT}`,
        );
      }
      this.byName.set(schema.name, schema);
      this.byClass.set(schema.cls, schema);
      tables.set(schema.table.toLowerCase(), schema);
    }
    const claims = new Map<string, Claim>();
    for (const schema of schemas) {
      for (const field of schema.fields.values()) {
        if (!field.target) continue;
        const where = `${schema.name}.${field.name}`;
        const target = targetOf(schema, field);
        if (this.byClass.get(target.cls) !== target) {
          throw new SchemaError(
            `${where}: its target model "${target.name}" (class ${target.cls.name}) is not one of this Environment's models; add it to { models }`,
          );
        }
        const ref = { schema, field };
        pushTo(this.pointing, target, ref);
        if (field.type !== 'many2many') continue;
        const rel = relationOf(schema, field);
        const model = tables.get(rel.table.toLowerCase());
        if (model) {
          throw new SchemaError(
            `${where}: relation table "${rel.table}" is the table of model "${model.name}"; give the many2many another { relation } or the model another table`,
          );
        }
        claim(claims, { where, owner: schema, target, rel });
        pushTo(this.links, rel.table.toLowerCase(), ref);
      }
    }
  }

  /** Whether `schema` is one of the set's models. */
  has(schema: ModelSchema): boolean {
    return this.byClass.get(schema.cls) === schema;
  }

  /** The schema of a model class of the set; SchemaError for any other class. */
  schemaOf(cls: ClassRef): ModelSchema {
    const schema = schemaOf(cls);
    if (!this.has(schema)) throw notInSet(`model "${schema.name}" (class ${cls.name})`);
    return schema;
  }

  /** The model of the set with that name; SchemaError when none has it. */
  named(name: string): ModelSchema {
    const schema = this.byName.get(name);
    if (!schema) throw notInSet(`there is no model named ${JSON.stringify(name)}: it`);
    return schema;
  }

  /**
   * SchemaError when a table or column name of the set (relation tables and their columns
   * included) is longer than the database keeps (`dialect.maxIdentifierLength`), naming
   * it and the limit. Decoration checks names against a bound of every database
   * (MAX_DECLARED_NAME_LENGTH); this is the open database's own, checked by
   * Environment.open once it is known and before any statement touches a table.
   */
  checkIdentifiers(dialect: Pick<Dialect, 'name' | 'maxIdentifierLength'>): void {
    const limit = dialect.maxIdentifierLength;
    const check = (what: string, name: string, of: string) => {
      if (name.length > limit) {
        throw new SchemaError(
          `${what} "${name}" of ${of} is ${name.length} characters long; ${dialect.name} keeps names of at most ${limit} characters: choose a shorter one`,
        );
      }
    };
    for (const schema of this.schemas) {
      check('table', schema.table, `model "${schema.name}"`);
      check('key column', schema.primaryKey.column, `model "${schema.name}"`);
      for (const field of schema.columnFields) check('column', field.column, `${schema.name}.${field.name}`);
      for (const field of schema.fields.values()) {
        if (field.type !== 'many2many') continue;
        const rel = relationOf(schema, field);
        const of = `${schema.name}.${field.name}`;
        check('relation table', rel.table, of);
        check('relation table column', rel.column1, of);
        check('relation table column', rel.column2, of);
      }
    }
  }

  /** Every relational field of the set whose target is `model`. */
  fieldsPointingAt(model: ModelSchema): readonly FieldRef[] {
    return this.pointing.get(model) ?? [];
  }

  /** The many2many fields of the set stored in relation table `table` (one or both sides of one relation). */
  fieldsOnRelationTable(table: string): readonly FieldRef[] {
    return this.links.get(table.toLowerCase()) ?? [];
  }
}

const OUT = '; one Environment maps each name and table once: open another with { models } to map the other one';

function notInSet(what: string): SchemaError {
  return new SchemaError(`${what} is not one of this Environment's models (see Environment.open({ models }))`);
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** Who uses a relation table in the set: the first many2many met on it. */
interface Claim {
  readonly where: string;
  readonly owner: ModelSchema;
  readonly target: ModelSchema;
  readonly rel: RelationTable;
}

/** Records a many2many's use of its relation table; SchemaError when another field of the set uses it otherwise. */
function claim(claims: Map<string, Claim>, mine: Claim): void {
  const { rel } = mine;
  const o = claims.get(rel.table.toLowerCase());
  if (!o) {
    claims.set(rel.table.toLowerCase(), mine);
    return;
  }
  // The same pair the same way round, or the other side of it (columns swapped).
  const direct =
    same(o.owner.table, mine.owner.table) &&
    same(o.target.table, mine.target.table) &&
    same(o.rel.column1, rel.column1) &&
    same(o.rel.column2, rel.column2);
  const inverse =
    same(o.owner.table, mine.target.table) &&
    same(o.target.table, mine.owner.table) &&
    same(o.rel.column1, rel.column2) &&
    same(o.rel.column2, rel.column1);
  if (!direct && !inverse) {
    throw new SchemaError(
      `relation table "${rel.table}" of ${mine.where} is already used by ${o.where} for ${o.owner.table}(${o.rel.column1}) - ${o.target.table}(${o.rel.column2}); ` +
        'give one of them another { relation }, or the same tables and columns (column1 and column2 swapped on the other side)',
    );
  }
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
