import { prototypeOf, type ClassRef } from './class-ref';
import { SchemaError } from '../errors';
import { OVERRIDABLE_METHODS, RESERVED_NAMES } from './schema';

/**
 * SchemaError when a member declared on the model class (or a model base class it
 * extends) would shadow recordset state or internals: `ids`, `id`, `length`, `model`,
 * `then`, the Environment's handles, private helpers the recordset calls on itself,
 * Object.prototype's members (RESERVED_NAMES, the names a field may not take either).
 * The public methods above may be overridden by methods. Only the prototype is looked
 * at: property initializers run in a constructor, which records never call (README,
 * "Methods on models").
 * The walk ends at proxorm's own prototypes (BaseModel's, marked with LIBRARY_PROTOTYPE:
 * lib/model cannot import lib/record) or at Object.prototype.
 */
export function checkClassMembers(model: string, cls: ClassRef): void {
  for (
    let p: object | null = prototypeOf(cls);
    p && p !== Object.prototype && !isLibraryPrototype(p);
    p = Object.getPrototypeOf(p) as object | null
  ) {
    const owner = (p as { constructor?: { name?: string } }).constructor?.name ?? '?';
    // Recordset calls iterate `this` (filtered, mapped, sorted): the iterator is state too.
    if (Object.getOwnPropertySymbols(p).includes(Symbol.iterator)) {
      throw new SchemaError(
        `@Model "${model}": ${owner}[Symbol.iterator] would shadow the recordset's own iteration; remove it`,
      );
    }
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name === 'constructor' || !RESERVED_NAMES.has(name)) continue;
      const desc = Object.getOwnPropertyDescriptor(p, name) as PropertyDescriptor;
      if (OVERRIDABLE_METHODS.has(name)) {
        if (typeof desc.value === 'function') continue;
        throw new SchemaError(
          `@Model "${model}": ${owner}.${name} overrides the recordset method "${name}"; it can only be overridden by a method`,
        );
      }
      throw new SchemaError(
        `@Model "${model}": ${owner}.${name} would shadow the recordset's own "${name}"; rename the member`,
      );
    }
  }
}

/** Prototypes of proxorm's own classes (BaseModel, RecordSetBase) mark themselves with this. */
export const LIBRARY_PROTOTYPE: unique symbol = Symbol('proxorm.libraryPrototype');

function isLibraryPrototype(p: object): boolean {
  return Object.prototype.hasOwnProperty.call(p, LIBRARY_PROTOTYPE);
}
