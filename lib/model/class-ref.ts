/**
 * A class as a value: what `@Model` decorates, what `defineModel` returns and what a
 * relation's target thunk gives (`() => Customer`). Abstract classes fit; a class whose
 * constructor is private or protected does not (TypeScript gives it no construct
 * signature), which a model class never needs: proxorm never calls a model's constructor.
 */
export type ClassRef = abstract new (...args: never[]) => unknown;

/** A class's prototype, typed (TypeScript types it `any` on a construct signature). */
export function prototypeOf(cls: ClassRef): object {
  const proto: unknown = cls.prototype;
  return proto as object;
}
