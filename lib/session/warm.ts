import { ValidationError } from '../errors';
import type { FieldDef } from '../model/field-types';
import type { ModelSchema } from '../model/schema';
import { parseDomain, type Condition } from '../query/domain';
import { searchIds } from '../query/statements';
import type { Session } from './session';

/** What a warm did: the records its domain matched, and the statements it sent (the search included). */
export interface WarmResult {
  readonly records: number;
  readonly statements: number;
}

/** A warm checked and ready to run: nothing in it can fail but the database (or the shared cache). */
export interface WarmPlan {
  readonly schema: ModelSchema;
  readonly condition: Condition;
  readonly fields: readonly FieldDef[];
}

/**
 * Checks a warm's domain and fields against `schema` (DomainError, ValidationError), before
 * any statement. The fields loaded are the named ones and the prefetchable ones: a record's
 * entry in the shared cache is its prefetchable fields, and a read of one field loads them
 * all anyway, so a warm loads what a first read would.
 */
export function planWarm(schema: ModelSchema, domain: unknown, fields: unknown, where: string): WarmPlan {
  const condition = parseDomain(schema, domain);
  if (fields !== undefined && (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string')))
    throw new ValidationError(`${where}: fields must be an array of field names`);
  const named = ((fields as string[] | undefined) ?? []).map((name) => {
    const f = schema.fields.get(name);
    if (!f) throw new ValidationError(`${where}: unknown field ${JSON.stringify(name)} of model "${schema.name}"`);
    return f;
  });
  return { schema, condition, fields: [...new Set([...schema.prefetchFields, ...named])] };
}

/**
 * Runs a warm in `session`, outside any transaction (ValidationError inside one: what it
 * loaded would stay in the transaction's layer and never reach the shared cache). One
 * search, then the loader's own batches (prefetch): 1,000 records a statement, the shared
 * cache asked first and filled with the leases of that ask when the model is shared;
 * an x2many field named adds its relation loads. Records the session's cache holds
 * already are not loaded again (nor put in the shared cache).
 */
export async function runWarm(session: Session, plan: WarmPlan, where: string): Promise<WarmResult> {
  const scope = session.scope();
  if (scope.frame !== undefined)
    throw new ValidationError(
      `${where}: not inside a transaction (its loads would not reach the shared cache); use recordset.prefetch() there`,
    );
  const { schema, condition, fields } = plan;
  const ids = await searchIds(scope.executor, schema, condition, { order: [] });
  const loads = ids.length ? await session.loader.prefetch(schema, ids, fields, scope) : 0;
  return { records: ids.length, statements: 1 + loads };
}
