import type { ClassRef } from './class-ref';
import type {
  BaseFieldOptions,
  DatetimeFieldOptions,
  DecimalFieldOptions,
  FieldOptions,
  FieldType,
  Many2manyOptions,
  Many2oneOptions,
  StringFieldOptions,
} from './field-types';
import { SchemaError } from '../errors';
import { decoratorCallName, fieldDecorator, type FieldDecorator } from './field-declaration';
import type { ModelBrand } from '../record/types';

/*
 * The public `Field` factories: each call returns a decorator (field-declaration.ts)
 * that declares one field. Their types also carry the field's value type, which
 * defineModel reads; a decorated class declares its property's type itself.
 */

/** The value type is type-level only (never): the factory signatures below give it. */
function declare(
  type: FieldType | undefined,
  options: FieldOptions | undefined,
  relation?: { target: () => ClassRef; inverse?: string },
): FieldDecorator<never> {
  return fieldDecorator<never>(
    { type, options: options === undefined ? {} : options, ...relation },
    type ? `@Field.${type}` : '@Field',
  );
}

/** A field's value type in a defineModel model: nullable unless `required: true`. */
type Nullable<O, T> = O extends { required: true } ? T : T | null;

/** A model class, as a relation's target function returns it. */
type ModelClassOf<T extends ModelBrand> = abstract new (...args: never[]) => T;
type RelationValue<T, N extends 'one' | 'many'> = N extends 'one' ? T | null : T[];

/** A relational field factory: its record type inferred from the target class, or named. */
interface Relation<A extends unknown[], N extends 'one' | 'many'> {
  <T extends ModelBrand>(target: () => ModelClassOf<T>, ...rest: A): FieldDecorator<RelationValue<T, N>>;
  <T extends ModelBrand = ModelBrand>(target: () => ClassRef, ...rest: A): FieldDecorator<RelationValue<T, N>>;
}

/** A factory that refuses to be used as the decorator it returns (`@Field.string` without its call). */
function factory<A extends unknown[]>(
  label: string,
  make: (...args: A) => FieldDecorator<never>,
): (...args: A) => FieldDecorator<never> {
  return (...args: A) => {
    const name = decoratorCallName(args);
    if (name !== undefined)
      throw new SchemaError(`${label} on ${name}: a Field factory, used without its call: write ${label}(...)`);
    return make(...args);
  };
}

type FieldFactory<O, T> = <const P extends O = O>(options?: P) => FieldDecorator<Nullable<P, T>>;

/**
 * Declares a field: as a property decorator (legacy or standard), or as an entry of
 * defineModel's `fields`. `@Field()` infers the type from the TypeScript type (string,
 * number -> integer, boolean, Date; legacy decorators with emitDecoratorMetadata only);
 * `@Field.float()` and the other members name it, which works everywhere.
 */
export const Field: ((
  options?: BaseFieldOptions<unknown> & { size?: number; format?: DatetimeFieldOptions['format'] },
) => FieldDecorator<unknown>) & {
  string: FieldFactory<StringFieldOptions, string>;
  text: FieldFactory<BaseFieldOptions<string>, string>;
  integer: FieldFactory<BaseFieldOptions<number>, number>;
  float: FieldFactory<BaseFieldOptions<number>, number>;
  /** Read as a string with exactly `scale` decimals. */
  decimal: FieldFactory<DecimalFieldOptions, string>;
  boolean: FieldFactory<BaseFieldOptions<boolean>, boolean>;
  /** A UTC datetime; `format` picks how its column stores it (see DatetimeFormat). */
  datetime: FieldFactory<DatetimeFieldOptions, Date>;
  json: FieldFactory<BaseFieldOptions<unknown>, unknown>;
  /**
   * A reference to one record of `target`: a FK column `<name>_id` (indexed, with a real
   * constraint). The record type (defineModel) comes from the target class, or, where
   * two models point at each other, is named: `Field.many2one<AlbumRecord>((): ClassRef => Album)`.
   */
  many2one: Relation<[options?: Many2oneOptions], 'one'>;
  /** The records of `target` whose many2one `inverse` points to this record. */
  one2many: Relation<[inverse: string], 'many'>;
  /** Records of `target` linked through a relation table. */
  many2many: Relation<[options?: Many2manyOptions], 'many'>;
} = Object.assign(
  factory('@Field', (options?: FieldOptions) => declare(undefined, options)),
  {
    many2one: factory('@Field.many2one', (target: () => ClassRef, o?: Many2oneOptions) =>
      declare('many2one', o as FieldOptions, { target }),
    ),
    one2many: factory('@Field.one2many', (target: () => ClassRef, inverse: string) =>
      declare('one2many', {}, { target, inverse }),
    ),
    many2many: factory('@Field.many2many', (target: () => ClassRef, o?: Many2manyOptions) =>
      declare('many2many', o as FieldOptions, { target }),
    ),
    string: factory('@Field.string', (o?: StringFieldOptions) => declare('string', o)),
    text: factory('@Field.text', (o?: BaseFieldOptions<string>) => declare('text', o)),
    integer: factory('@Field.integer', (o?: BaseFieldOptions<number>) => declare('integer', o)),
    float: factory('@Field.float', (o?: BaseFieldOptions<number>) => declare('float', o)),
    decimal: factory('@Field.decimal', (o?: DecimalFieldOptions) => declare('decimal', o as FieldOptions)),
    boolean: factory('@Field.boolean', (o?: BaseFieldOptions<boolean>) => declare('boolean', o)),
    datetime: factory('@Field.datetime', (o?: DatetimeFieldOptions) => declare('datetime', o as FieldOptions)),
    json: factory('@Field.json', (o?: BaseFieldOptions<unknown>) => declare('json', o)),
  },
);
