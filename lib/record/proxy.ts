import { ValidationError } from '../errors';
import type { ModelSchema } from '../model/schema';
import type { RecordSetBase } from './recordset';

/**
 * The Proxy handler that makes `record.field` a Promise of the field's value. Field
 * names win over nothing: @Field rejects names that recordset members use
 * (RESERVED_NAMES), so a property is either a field or a member, never both.
 * Records are read-only: assignment points to write().
 */
const handlers = new WeakMap<ModelSchema, ProxyHandler<RecordSetBase<unknown>>>();

export function handlerFor(schema: ModelSchema): ProxyHandler<RecordSetBase<unknown>> {
  let handler = handlers.get(schema);
  if (!handler) {
    const fields = schema.fields;
    const readOnly = (prop: string | symbol): never => {
      throw new ValidationError(`${schema.name}.${String(prop)}: records are read-only; use write({ ... })`);
    };
    handler = {
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
      set: (_t, prop) => readOnly(prop),
      defineProperty: (_t, prop) => readOnly(prop),
      deleteProperty: (_t, prop) => readOnly(prop),
    };
    handlers.set(schema, handler);
  }
  return handler;
}
