import type { ModelSchema, OrderTerm } from './schema';

/**
 * Parses an order specification such as `"amount desc, id"` against a model's fields.
 * Each term is a field name optionally followed by asc/desc. `makeError` builds the
 * error to throw (SchemaError for @Model, ValidationError for search options).
 */
export function parseOrder(schema: ModelSchema, spec: unknown, makeError: (msg: string) => Error): OrderTerm[] {
  if (typeof spec !== 'string' || spec.trim() === '')
    throw makeError(`order must be a non-empty string such as "name desc, id"`);
  return spec.split(',').map((raw) => {
    const parts = raw.trim().split(/\s+/);
    const [field, dir = 'asc'] = parts;
    if (parts.length > 2 || !/^(asc|desc)$/i.test(dir)) throw makeError(`cannot read order term "${raw.trim()}"`);
    const column = field === 'id' ? schema.primaryKey.column : schema.fields.get(field)?.column;
    if (!column) throw makeError(`unknown field "${field}" in order of model "${schema.name}"`);
    return { field, column, direction: dir.toLowerCase() as 'asc' | 'desc' };
  });
}
