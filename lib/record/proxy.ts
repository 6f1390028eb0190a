import { ValidationError } from '../errors';
import type { ModelSchema } from '../model/schema';
import type { RecordSetBase } from './recordset';

/**
 * The Proxy handler that makes `record.field` a Promise of the field's value (one per
 * model: makeRecordSet caches it). Field names win over nothing: @Field rejects names
 * that recordset members use (RESERVED_NAMES), and @Model rejects class members that
 * would shadow recordset state (model/members.ts), so every other property (a
 * recordset member, a method or getter of the model class) is looked up on the target,
 * whose prototype chain holds both, with the Proxy as `this`.
 * Records are read-only: assignment points to write(). Their only own property on show
 * is `ids` (Object.keys, spread, Object.assign, deep-equal helpers): the Environment's
 * handles the target holds are internals, never copied out of a record.
 */
export function makeHandler(schema: ModelSchema): ProxyHandler<RecordSetBase<unknown>> {
  const fields = schema.fields;
  const readOnly = (prop: string | symbol): never => {
    throw new ValidationError(`${schema.name}.${String(prop)}: records are read-only; use write({ ... })`);
  };
  return {
    get(target, prop, receiver) {
      if (typeof prop === 'string') {
        const field = fields.get(prop);
        if (field) return target.readField(field);
      }
      return Reflect.get(target, prop, receiver) as unknown;
    },
    has(target, prop) {
      return (typeof prop === 'string' && fields.has(prop)) || Reflect.has(target, prop);
    },
    // The target's other own properties are configurable, so leaving them out keeps the Proxy invariants.
    ownKeys: (target) => Reflect.ownKeys(target).filter((key) => key === 'ids'),
    set: (_t, prop) => readOnly(prop),
    defineProperty: (_t, prop) => readOnly(prop),
    deleteProperty: (_t, prop) => readOnly(prop),
  };
}
