import { DomainError } from '../errors';
import type { FieldDef } from '../model/field-types';
import { targetOf } from '../model/relations';
import type { ModelSchema } from '../model/schema';
import { describe, normalizeValue, wellFormed } from '../model/values';

/**
 * Odoo's domain language: a list of terms in prefix notation. A leaf is
 * `[field, operator, value]`; `'&'` and `'|'` take the next two terms, `'!'` the next
 * one; consecutive terms at the top level are joined by AND.
 */
export const OPERATORS = [
  '=', '!=', '<', '<=', '>', '>=', 'in', 'not in', 'like', 'not like', 'ilike', 'not ilike', '=like', '=ilike',
] as const;
export type Operator = (typeof OPERATORS)[number];
export type DomainLeaf = readonly [field: string, operator: Operator, value: unknown];
export type DomainTerm = '&' | '|' | '!' | DomainLeaf;
export type Domain = readonly DomainTerm[];

/** The predicate a leaf tests, before negation. */
export type BaseOp = '=' | '<' | '<=' | '>' | '>=' | 'in' | 'like' | 'ilike' | '=like' | '=ilike';

/** The field "id": every model has it, it is not declared. */
const ID_FIELD: FieldDef = {
  name: 'id', type: 'integer', column: 'id', required: false, default: undefined,
  index: false, unique: true, prefetch: false, size: 0, precision: 0, scale: 0,
};

/** A parsed, validated domain with negations pushed down to the leaves. */
export type Condition =
  | { readonly kind: 'and' | 'or'; readonly children: readonly Condition[] }
  | { readonly kind: 'leaf'; readonly field: FieldDef; readonly op: BaseOp; readonly value: unknown; readonly negated: boolean }
  | PathCondition
  | { readonly kind: 'const'; readonly value: boolean };

/**
 * A dotted path: "the record's `field` relates to some record of `target` that meets
 * `sub`". Negated: to none. (`['customer.name', '=', 'x']` is a path over a leaf.)
 */
export interface PathCondition {
  readonly kind: 'path';
  readonly owner: ModelSchema;
  readonly field: FieldDef;
  readonly target: ModelSchema;
  readonly sub: Condition;
  readonly negated: boolean;
}

type Tree =
  | { kind: 'and' | 'or'; children: Tree[] }
  | { kind: 'not'; child: Tree }
  | { kind: 'leaf'; field: FieldDef; op: BaseOp; value: unknown; negated: boolean }
  | PathCondition;

const NEGATED: Partial<Record<Operator, BaseOp>> = { '!=': '=', 'not in': 'in', 'not like': 'like', 'not ilike': 'ilike' };

/**
 * Validates a domain against a model and returns its condition tree. Every problem is
 * a DomainError naming the offending term; nothing here builds SQL.
 */
export function parseDomain(schema: ModelSchema, domain: unknown): Condition {
  if (!Array.isArray(domain)) throw new DomainError(`domain must be an array of terms, got ${describe(domain)}`);
  let pos = 0;
  /** Reads one term; `owner` is the position of the operator that needs it. */
  const term = (owner: number): Tree => {
    const at = pos;
    if (pos >= domain.length) {
      throw new DomainError(`domain ends early: operator ${JSON.stringify(domain[owner])} at position ${owner} lacks an operand`);
    }
    const t: unknown = domain[pos++];
    if (t === '&' || t === '|') return { kind: t === '&' ? 'and' : 'or', children: [term(at), term(at)] };
    if (t === '!') return { kind: 'not', child: term(at) };
    return leaf(schema, t, at);
  };
  const top: Tree[] = [];
  while (pos < domain.length) top.push(term(-1));
  if (top.length === 0) return { kind: 'const', value: true };
  return simplify(pushNot(top.length === 1 ? top[0] : { kind: 'and', children: top }, false));
}

function leaf(schema: ModelSchema, t: unknown, at: number): Tree {
  const where = `domain term ${at} (${safeJson(t)})`;
  if (!Array.isArray(t) || t.length !== 3) throw new DomainError(`${where}: expected '&', '|', '!' or [field, operator, value]`);
  const [name, op, value] = t as [unknown, unknown, unknown];
  if (typeof name !== 'string') throw new DomainError(`${where}: field name must be a string`);
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    throw new DomainError(`${where}: unknown operator ${safeJson(op)} (use one of ${OPERATORS.join(', ')})`);
  }
  return pathLeaf(schema, name.split('.'), op as Operator, value, where);
}

/** A leaf on `names[0]`, following relations for the rest of a dotted path. */
function pathLeaf(schema: ModelSchema, names: string[], op: Operator, value: unknown, where: string): Tree {
  const [name, ...rest] = names;
  const field = name === 'id' ? ID_FIELD : schema.fields.get(name);
  if (!field) throw new DomainError(`${where}: unknown field "${name}" on model "${schema.name}"`);
  const base = NEGATED[op] ?? (op as BaseOp);
  if (rest.length === 0 && field.type === 'many2one') {
    if (base !== '=' && base !== 'in') throw new DomainError(`${where}: a many2one compares with =, !=, in and not in (ids); use a path such as "${name}.name" for the rest`);
  } else if (rest.length === 0 && (field.type === 'one2many' || field.type === 'many2many')) {
    // ['tags', 'in', ids] reads as ['tags.id', 'in', ids]; its negation is "no such tag".
    // As in Odoo, ['tags', '=', null] is "has no tags" and ['tags', '!=', null] "has some".
    if (base !== '=' && base !== 'in') throw new DomainError(`${where}: an x2many compares with =, !=, in and not in (ids)`);
    if (base === '=' && value === null) {
      const target = targetOf(schema, field);
      return { kind: 'path', owner: schema, field, target, sub: { kind: 'const', value: true }, negated: op === '=' };
    }
    return path(schema, field, ['id'], base, value, where, base !== op);
  } else if (rest.length > 0) {
    if (!field.target) throw new DomainError(`${where}: "${name}" on model "${schema.name}" is not a relation, cannot follow "${names.join('.')}"`);
    return path(schema, field, rest, op, value, where, false);
  }
  return { kind: 'leaf', field, op: base, value: checkValue(schema, field, base, value, where), negated: base !== op };
}

function path(owner: ModelSchema, field: FieldDef, rest: string[], op: Operator, value: unknown, where: string, negated: boolean): Tree {
  const target = targetOf(owner, field);
  const sub = simplify(pushNot(pathLeaf(target, rest, op, value, where), false));
  return { kind: 'path', owner, field, target, sub, negated };
}

function checkValue(schema: ModelSchema, field: FieldDef, op: BaseOp, value: unknown, where: string): unknown {
  const one = (v: unknown): unknown => {
    if (v === null) return null;
    if (field.type === 'json') throw new DomainError(`${where}: json fields can only be compared with null`);
    if ((field.type === 'integer' || field.type === 'float') && typeof v === 'number' && Number.isFinite(v)) return v;
    try {
      return normalizeValue(schema.name, { ...field, required: false, size: Number.MAX_SAFE_INTEGER, scale: 30, precision: 65 }, v);
    } catch (e) {
      throw new DomainError(`${where}: ${(e as Error).message}`);
    }
  };
  switch (op) {
    case '=':
      return one(value);
    case 'in':
      if (!Array.isArray(value)) throw new DomainError(`${where}: "in" needs an array value`);
      return value.map(one);
    case 'like': case 'ilike': case '=like': case '=ilike':
      if (field.type !== 'string' && field.type !== 'text') throw new DomainError(`${where}: ${op} applies to string fields only`);
      if (typeof value !== 'string') throw new DomainError(`${where}: ${op} needs a string value`);
      if (!wellFormed(value)) throw new DomainError(`${where}: not well-formed Unicode (lone surrogate)`);
      return value;
    default:
      if (value === null) throw new DomainError(`${where}: ${op} cannot compare with null`);
      if (field.type === 'boolean') throw new DomainError(`${where}: booleans support =, !=, in and not in only`);
      return one(value);
  }
}

/** De Morgan: '!' is pushed down to the leaves, so each leaf knows whether it is negated. */
function pushNot(t: Tree, negate: boolean): Tree {
  switch (t.kind) {
    case 'not':
      return pushNot(t.child, !negate);
    case 'leaf':
    case 'path':
      return negate ? { ...t, negated: !t.negated } : t;
    default: {
      const kind = negate ? (t.kind === 'and' ? 'or' : 'and') : t.kind;
      return { kind, children: t.children.map((c) => pushNot(c, negate)) };
    }
  }
}

/** Flattens nested and/or of the same kind. */
function simplify(t: Tree): Condition {
  if (t.kind === 'leaf' || t.kind === 'path') return t;
  if (t.kind === 'not') throw new Error('unreachable: negations are pushed down');
  const children: Condition[] = [];
  for (const c of t.children.map(simplify)) {
    if (c.kind === t.kind) children.push(...c.children);
    else children.push(c);
  }
  return { kind: t.kind, children };
}

function safeJson(v: unknown): string {
  try {
    // A recordset in a term prints as model(ids), not as its Environment.
    const s = JSON.stringify(v, (_k, x: unknown) =>
      x !== null && typeof x === 'object' && Array.isArray((x as { ids?: unknown }).ids) && typeof (x as { model?: unknown }).model === 'string'
        ? String(x)
        : x,
    );
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return describe(v);
  }
}
