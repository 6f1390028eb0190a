import 'reflect-metadata';
import { SchemaError } from '../errors';
import type {
  BaseFieldOptions, DatetimeFieldOptions, DecimalFieldOptions, FieldOptions, FieldType,
  Many2manyOptions, Many2oneOptions, StringFieldOptions,
} from './field-types';
import type { ModelBrand } from '../record/types';

/**
 * What a `Field...()` call declares, and how that declaration reaches the class it is
 * applied to. One decorator works under both decorator proposals:
 * - legacy (`experimentalDecorators`): called `(prototype, key)`, with the TypeScript
 *   type in `design:type` when `emitDecoratorMetadata` is on. The field is kept under
 *   the prototype, so subclasses inherit it.
 * - standard (TC39): called `(undefined, context)`, with no class and no TypeScript
 *   type. A class's field decorators all run, synchronously, just before its class
 *   decorator: the field waits in `standardPending` until @Model takes it.
 * - defineModel: never called as a decorator; it reads the declaration (declarationOf).
 */

/** How a field was declared: decides what a missing type means (resolve-field.ts). */
export type DeclaredBy = 'legacy' | 'standard' | 'defineModel';

/** What one `Field...()` call declares, before it is applied to a property. */
export interface FieldDeclaration {
  readonly type: FieldType | undefined;
  readonly options: FieldOptions;
  /** Relational fields: the target class (lazily) and, for one2many, the inverse field. */
  readonly target?: () => Function;
  readonly inverse?: string;
}

/** A field declared on a class, waiting for @Model (or defineModel) to resolve it. */
export interface PendingField extends FieldDeclaration {
  readonly name: string;
  /** The property's design:type (legacy decorators with emitDecoratorMetadata), else undefined. */
  readonly designType: unknown;
  readonly declaredBy: DeclaredBy;
}

/**
 * A field decorator, for either decorator proposal. `T` is type-level only: the value
 * type the field has in a model made by defineModel (a decorated class declares its
 * property's type itself).
 */
export interface FieldDecorator<T = unknown> {
  /** Legacy decorators (`experimentalDecorators`). */
  (target: object, propertyKey: string | symbol): void;
  /** Standard (TC39) decorators. */
  (value: undefined, context: ClassFieldDecoratorContext): void;
  /** Type-level marker only; never set at run time. */
  readonly __fieldValue?: T;
}

/** Fields applied to each class by legacy decorators, defineModel, or taken by @Model from standard ones. */
const declaredOn = new WeakMap<object, PendingField[]>();
/** Every decorator a Field factory made, with what it declares: how defineModel tells a field from anything else. */
const declarations = new WeakMap<Function, FieldDeclaration>();

export function declarationOf(value: unknown): FieldDeclaration | undefined {
  return typeof value === 'function' ? declarations.get(value) : undefined;
}

/** Adds fields to a class (its prototype): what legacy decorators and defineModel do. */
export function declareOn(proto: object, fields: readonly PendingField[]): void {
  declaredOn.set(proto, [...(declaredOn.get(proto) ?? []), ...fields]);
}

/** The fields of a class: its own first, then those inherited from base classes. */
export function fieldsOf(proto: object | null): PendingField[] {
  const out: PendingField[] = [];
  for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) out.push(...(declaredOn.get(p) ?? []));
  return out;
}

/**
 * Standard decorators: the fields of the class being defined, waiting for its class
 * decorator. Under tsc and esbuild, a class's decorator expressions (`Model(...)`
 * first) are evaluated before any of its decorators is applied, and then its field
 * decorators and its class decorator run in one synchronous stretch. So:
 * - the `Model(...)` call starts a class: anything still pending belongs to a class that
 *   failed to define or has no @Model, and is dropped (never adopted by this one);
 * - a class defined inside a decorator expression of another is complete before the
 *   outer class's field decorators run;
 * - a field decorator that fails drops what is pending: its class will not be defined.
 * Node 20 has no Symbol.metadata, so context.metadata cannot tell classes apart.
 */
let standardPending: PendingField[] = [];

export function startStandardClass(): void {
  standardPending = [];
}

/** For @Model under standard decorators: the fields of the class being decorated. */
export function takeStandardFields(): PendingField[] {
  const taken = standardPending;
  standardPending = [];
  return taken;
}

function isFieldContext(value: unknown): value is ClassMemberDecoratorContext {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

/** The decorator a Field factory returns: it tells the two proposals apart by its arguments. */
function fieldDecorator<T>(declaration: FieldDeclaration, label: string): FieldDecorator<T> {
  const decorator = (target: unknown, key: unknown): void => {
    if (isFieldContext(key)) return declareStandard(declaration, label, key);
    if (typeof key === 'string' || typeof key === 'symbol') return declareLegacy(declaration, label, target, key);
    throw new SchemaError(`${label}: not applied to a class property (decorate a property, or pass it to defineModel's fields)`);
  };
  declarations.set(decorator, declaration);
  return decorator as FieldDecorator<T>;
}

function declareLegacy(d: FieldDeclaration, label: string, target: unknown, key: string | symbol): void {
  const owner = typeof target === 'function' ? target.name : (target as { constructor?: Function } | null)?.constructor?.name ?? '?';
  if (typeof key !== 'string') throw new SchemaError(`${label} on ${owner}: symbol properties cannot be fields`);
  if (typeof target === 'function') throw new SchemaError(`${label} on static ${owner}.${key}: fields are instance properties`);
  const problem = typeof target !== 'object' || target === null ? 'not applied to a class property' : declarationProblem(d);
  if (problem) throw new SchemaError(`${label} on ${owner}.${key}: ${problem}`);
  declareOn(target as object, [{ name: key, designType: Reflect.getMetadata('design:type', target as object, key), declaredBy: 'legacy', ...d }]);
}

function declareStandard(d: FieldDeclaration, label: string, context: ClassMemberDecoratorContext): void {
  const name = String(context.name);
  const problem =
    context.kind !== 'field' ? `fields are plain properties, not ${context.kind === 'accessor' ? 'an' : 'a'} ${context.kind}`
      : typeof context.name !== 'string' ? 'symbol properties cannot be fields'
        : context.private ? 'private (#) properties cannot be fields'
          : context.static ? 'fields are instance properties, not static ones'
            : declarationProblem(d);
  if (problem) {
    standardPending = [];
    throw new SchemaError(`${label} on ${name}: ${problem}`);
  }
  standardPending.push({ name, designType: undefined, declaredBy: 'standard', ...d });
}

/** What can be checked before the model is known; the rest is resolve-field.ts. */
function declarationProblem(d: FieldDeclaration): string | undefined {
  if (!d.options || typeof d.options !== 'object') return 'options must be an object';
  if (d.target !== undefined && typeof d.target !== 'function') return 'the target must be a function returning the model class, e.g. () => Customer';
  return undefined;
}

/** The value type is type-level only (never): the factory signatures below give it. */
function declare(type: FieldType | undefined, options: FieldOptions | undefined, relation?: { target: () => Function; inverse?: string }): FieldDecorator<never> {
  return fieldDecorator<never>({ type, options: options === undefined ? {} : options, ...relation }, type ? `@Field.${type}` : '@Field');
}

/** A field's value type in a defineModel model: nullable unless `required: true`. */
export type Nullable<O, T> = O extends { required: true } ? T : T | null;

/** A model class, as a relation's target function returns it. */
type ModelClassOf<T extends ModelBrand> = abstract new (...args: never[]) => T;
type RelationValue<T, N extends 'one' | 'many'> = N extends 'one' ? T | null : T[];

/** A relational field factory: its record type inferred from the target class, or named. */
interface Relation<A extends unknown[], N extends 'one' | 'many'> {
  <T extends ModelBrand>(target: () => ModelClassOf<T>, ...rest: A): FieldDecorator<RelationValue<T, N>>;
  <T extends ModelBrand = ModelBrand>(target: () => Function, ...rest: A): FieldDecorator<RelationValue<T, N>>;
}

type FieldFactory<O, T> = <const P extends O = O>(options?: P) => FieldDecorator<Nullable<P, T>>;

/**
 * Declares a field: as a property decorator (legacy or standard), or as an entry of
 * defineModel's `fields`. `@Field()` infers the type from the TypeScript type (string,
 * number -> integer, boolean, Date; legacy decorators with emitDecoratorMetadata only);
 * `@Field.float()` and the other members name it, which works everywhere.
 */
export const Field: ((options?: BaseFieldOptions<unknown> & { size?: number; format?: DatetimeFieldOptions['format'] }) => FieldDecorator<unknown>) & {
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
   * two models point at each other, is named: `Field.many2one<AlbumRecord>((): Function => Album)`.
   */
  many2one: Relation<[options?: Many2oneOptions], 'one'>;
  /** The records of `target` whose many2one `inverse` points to this record. */
  one2many: Relation<[inverse: string], 'many'>;
  /** Records of `target` linked through a relation table. */
  many2many: Relation<[options?: Many2manyOptions], 'many'>;
} = Object.assign((options?: FieldOptions) => declare(undefined, options), {
  many2one: (target: () => Function, o?: Many2oneOptions) => declare('many2one', o as FieldOptions, { target }),
  one2many: (target: () => Function, inverse: string) => declare('one2many', {}, { target, inverse }),
  many2many: (target: () => Function, o?: Many2manyOptions) => declare('many2many', o as FieldOptions, { target }),
  string: (o?: StringFieldOptions) => declare('string', o),
  text: (o?: BaseFieldOptions<string>) => declare('text', o),
  integer: (o?: BaseFieldOptions<number>) => declare('integer', o),
  float: (o?: BaseFieldOptions<number>) => declare('float', o),
  decimal: (o?: DecimalFieldOptions) => declare('decimal', o as FieldOptions),
  boolean: (o?: BaseFieldOptions<boolean>) => declare('boolean', o),
  datetime: (o?: DatetimeFieldOptions) => declare('datetime', o as FieldOptions),
  json: (o?: BaseFieldOptions<unknown>) => declare('json', o),
});
