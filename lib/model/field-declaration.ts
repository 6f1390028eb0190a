import type { ClassRef } from './class-ref';
import 'reflect-metadata';
import { SchemaError } from '../errors';
import type { FieldOptions, FieldType } from './field-types';

/**
 * What a `Field...()` call declares, and how that declaration reaches the class it is
 * applied to. One decorator works under both decorator proposals:
 * - legacy (`experimentalDecorators`): called `(prototype, key)`, with the TypeScript
 *   type in `design:type` when `emitDecoratorMetadata` is on. The field is kept under
 *   the prototype, so subclasses inherit it.
 * - standard (TC39): called `(undefined, context)`, with no class and no TypeScript
 *   type. A class's field decorators all run, synchronously, just before its class
 *   decorator: the field waits (see pendingList) until @Model takes it.
 * - defineModel: never called as a decorator; it reads the declaration (declarationOf).
 */

/** How a field was declared: decides what a missing type means (resolve-field.ts). */
export type DeclaredBy = 'legacy' | 'standard' | 'defineModel';

/** What one `Field...()` call declares, before it is applied to a property. */
export interface FieldDeclaration {
  readonly type: FieldType | undefined;
  readonly options: FieldOptions;
  /** Relational fields: the target class (lazily) and, for one2many, the inverse field. */
  readonly target?: () => ClassRef;
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
const declarations = new WeakMap<object, FieldDeclaration>();

export function declarationOf(value: unknown): FieldDeclaration | undefined {
  return typeof value === 'function' ? declarations.get(value) : undefined;
}

/**
 * Adds fields to a class (its prototype): what legacy decorators, @Model (for standard
 * ones) and defineModel do. A property decorated as a field twice is a SchemaError: which
 * declaration should win is a guess (a subclass redeclaring a base's field is another
 * prototype, and wins).
 */
export function declareOn(proto: object, fields: readonly PendingField[], owner: string): void {
  const all = [...(declaredOn.get(proto) ?? []), ...fields];
  const names = new Set<string>();
  for (const { name } of all) {
    if (names.has(name))
      throw new SchemaError(`@Field on ${owner}.${name}: declared as a field twice; keep one Field decorator`);
    names.add(name);
  }
  declaredOn.set(proto, all);
}

/** The fields of a class: its own first, then those inherited from base classes. */
export function fieldsOf(proto: object | null): PendingField[] {
  const out: PendingField[] = [];
  for (let p = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null)
    out.push(...(declaredOn.get(p) ?? []));
  return out;
}

/**
 * Standard decorators: the fields of the class being defined, waiting for its class
 * decorator. Where the runtime has Symbol.metadata (esbuild and tsx always provide one),
 * `context.metadata` is one object per class, shared by its field and class decorators:
 * fields wait under it, exactly their class's. Without it (tsc's output on Node 20),
 * they wait in one list, which relies on how tsc and esbuild order a class definition:
 * its decorator expressions (`Model(...)` first) are evaluated before any of its
 * decorators is applied, then its field decorators and its class decorator run in one
 * synchronous stretch. So:
 * - the `Model(...)` call starts a class: anything still in the list belongs to a class
 *   that failed to define or has no @Model, and is dropped (never adopted by this one);
 * - a class defined inside a decorator expression of another is complete before the
 *   outer class's field decorators run;
 * - a field decorator that fails drops what is pending: its class will not be defined.
 */
const pendingByMetadata = new WeakMap<object, PendingField[]>();
let pendingList: PendingField[] = [];

const isObject = (value: unknown): value is object => typeof value === 'object' && value !== null;

export function startStandardClass(): void {
  pendingList = [];
}

/** For @Model under standard decorators: the fields of the class being decorated. */
export function takeStandardFields(metadata: unknown): PendingField[] {
  if (isObject(metadata)) {
    const taken = pendingByMetadata.get(metadata) ?? [];
    pendingByMetadata.delete(metadata);
    return taken;
  }
  const taken = pendingList;
  pendingList = [];
  return taken;
}

function isFieldContext(value: unknown): value is ClassMemberDecoratorContext {
  return typeof value === 'object' && value !== null && typeof (value as { kind?: unknown }).kind === 'string';
}

/**
 * A Field factory applied as a decorator (`@Field.string` without its call) gets the
 * arguments of a decorator: `(prototype, key)` or `(undefined, context)`. Its result
 * would then be used as the property's descriptor or initializer and the field silently
 * dropped, so the factories refuse it: this is the property's name in that case.
 */
export function decoratorCallName(args: readonly unknown[]): string | undefined {
  const [target, key] = args;
  if (isObject(target) && (typeof key === 'string' || typeof key === 'symbol')) return String(key);
  if (target === undefined && isFieldContext(key)) {
    takeStandardFields(key.metadata); // dropped: the class will not be defined
    return String(key.name);
  }
  return undefined;
}

/** The decorator a Field factory returns (field.ts): it tells the two proposals apart by its arguments. */
export function fieldDecorator<T>(declaration: FieldDeclaration, label: string): FieldDecorator<T> {
  const decorator = (target: unknown, key: unknown): void => {
    if (isFieldContext(key)) return declareStandard(declaration, label, key);
    if (typeof key === 'string' || typeof key === 'symbol') return declareLegacy(declaration, label, target, key);
    throw new SchemaError(
      `${label}: not applied to a class property (decorate a property, or pass it to defineModel's fields)`,
    );
  };
  declarations.set(decorator, declaration);
  return decorator;
}

function declareLegacy(d: FieldDeclaration, label: string, target: unknown, key: string | symbol): void {
  const owner =
    typeof target === 'function'
      ? target.name
      : ((target as { constructor?: { name?: string } } | null)?.constructor?.name ?? '?');
  if (typeof key !== 'string') throw new SchemaError(`${label} on ${owner}: symbol properties cannot be fields`);
  if (typeof target === 'function')
    throw new SchemaError(`${label} on static ${owner}.${key}: fields are instance properties`);
  const problem =
    typeof target !== 'object' || target === null ? 'not applied to a class property' : declarationProblem(d);
  if (problem) throw new SchemaError(`${label} on ${owner}.${key}: ${problem}`);
  declareOn(
    target as object,
    [{ name: key, designType: Reflect.getMetadata('design:type', target as object, key), declaredBy: 'legacy', ...d }],
    owner,
  );
}

function declareStandard(d: FieldDeclaration, label: string, context: ClassMemberDecoratorContext): void {
  const name = String(context.name);
  const problem =
    context.kind !== 'field'
      ? `fields are plain properties, not ${context.kind === 'accessor' ? 'an' : 'a'} ${context.kind}`
      : typeof context.name !== 'string'
        ? 'symbol properties cannot be fields'
        : context.private
          ? 'private (#) properties cannot be fields'
          : context.static
            ? 'fields are instance properties, not static ones'
            : declarationProblem(d);
  if (problem) {
    takeStandardFields(context.metadata); // dropped: the class will not be defined
    throw new SchemaError(`${label} on ${name}: ${problem}`);
  }
  const field: PendingField = { name, designType: undefined, declaredBy: 'standard', ...d };
  if (isObject(context.metadata))
    pendingByMetadata.set(context.metadata, [...(pendingByMetadata.get(context.metadata) ?? []), field]);
  else pendingList.push(field);
}

/** What can be checked before the model is known (resolve-field.ts checks it again for defineModel's fields, with the rest). */
export function declarationProblem(d: FieldDeclaration): string | undefined {
  if (!d.options || typeof d.options !== 'object') return 'options must be an object';
  if (d.target !== undefined && typeof d.target !== 'function')
    return 'the target must be a function returning the model class, e.g. () => Customer';
  return undefined;
}
