import { SchemaError } from '../errors';
import { defineSchema, type ModelOptions } from '../model/decorators';
import { declarationOf, declareOn, type FieldDecorator, type PendingField } from '../model/field-declaration';
import { BaseModel } from './base-model';
import type { RecordSet } from './types';

/** The fields of a defineModel model, as a decorated class would declare them (`name!: string`). */
export type DefinedFields<F> = { -readonly [K in keyof F]: F[K] extends FieldDecorator<infer T> ? T : never };

/** What a record of a defineModel model is, type-wise: fields plus methods. */
export type DefinedInstance<F, M> = BaseModel & DefinedFields<F> & M;

/** Options of defineModel: those of @Model, the fields, and methods for its records. */
export interface DefineModelOptions<
  F extends Record<string, FieldDecorator<unknown>>,
  M extends object,
> extends ModelOptions {
  /** Field name -> `Field.string()`, `Field.many2one(() => Artist)`, ... (the same factories as the decorators). */
  fields: F;
  /**
   * Methods and getters of the records, copied with their property descriptors onto the
   * class prototype. `this` is the recordset: `async label() { return await this.name }`.
   */
  methods?: M & ThisType<RecordSet<DefinedInstance<F, M>>>;
}

/**
 * A model class made by defineModel: the static calls of BaseModel (`create`, `search`,
 * ...), and records typed by the fields (`await artist.name` is a string).
 */
export type DefinedModel<F, M> = Omit<typeof BaseModel, 'prototype'> & (abstract new () => DefinedInstance<F, M>);

/**
 * Defines a model without decorators (for JavaScript, or TypeScript without decorator
 * support): a subclass of BaseModel with the given fields and methods, registered as
 * @Model(options) would, with the same checks and SchemaErrors.
 *
 * ```js
 * const Artist = defineModel({ name: 'artist', fields: { name: Field.string({ required: true }) } });
 * ```
 */
export function defineModel<F extends Record<string, FieldDecorator<unknown>>, M extends object = object>(
  options: DefineModelOptions<F, M>,
): DefinedModel<F, M> {
  if (!options || typeof options !== 'object') throw new SchemaError('defineModel: expected { name, fields, ... }');
  const { fields, methods, ...modelOptions } = options;
  const where = `defineModel "${String(modelOptions.name)}"`;
  if (!fields || typeof fields !== 'object' || Array.isArray(fields))
    throw new SchemaError(`${where}: "fields" must be an object of Field.string(), Field.many2one(...), ...`);
  if (methods !== undefined && (!methods || typeof methods !== 'object'))
    throw new SchemaError(`${where}: "methods" must be an object`);

  const cls = { [className(modelOptions.name)]: class extends BaseModel {} }[className(modelOptions.name)];
  const declared: PendingField[] = Object.entries(fields).map(([name, value]) => {
    const declaration = declarationOf(value);
    if (!declaration)
      throw new SchemaError(
        `${where}: field "${name}" is not a field: use Field.string(), Field.integer(), Field.many2one(() => Model), ...`,
      );
    return { name, designType: undefined, declaredBy: 'defineModel', ...declaration };
  });
  declareOn(cls.prototype, declared, cls.name);
  for (const key of Reflect.ownKeys(methods ?? {})) {
    if (typeof key === 'string' && Object.hasOwn(fields, key))
      throw new SchemaError(`${where}: "${key}" is both a field and a method`);
    if (key === 'constructor' || key === '__proto__' || key === 'prototype')
      throw new SchemaError(`${where}: "${key}" cannot be a method`);
    const descriptor = Object.getOwnPropertyDescriptor(methods, key) as PropertyDescriptor;
    if ('value' in descriptor && typeof descriptor.value !== 'function')
      throw new SchemaError(`${where}: method "${String(key)}" must be a function or a getter`);
    Object.defineProperty(cls.prototype, key, descriptor);
  }
  defineSchema(cls, modelOptions);
  return cls as unknown as DefinedModel<F, M>;
}

/** `sale_order` -> `SaleOrder`: the class name stack traces and errors show. */
function className(name: unknown): string {
  if (typeof name !== 'string' || !name) return 'Model';
  return name.replace(/[^A-Za-z0-9]+/g, '_').replace(/(^|_)([a-z0-9])/gi, (_, __, c: string) => c.toUpperCase());
}
