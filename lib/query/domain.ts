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
  '=',
  '!=',
  '<',
  '<=',
  '>',
  '>=',
  'in',
  'not in',
  'like',
  'not like',
  'ilike',
  'not ilike',
  '=like',
  '=ilike',
] as const;
export type Operator = (typeof OPERATORS)[number];
export type DomainLeaf = readonly [field: string, operator: Operator, value: unknown];
export type DomainTerm = '&' | '|' | '!' | DomainLeaf;
export type Domain = readonly DomainTerm[];

/** The predicate a leaf tests, before negation. */
export type BaseOp = '=' | '<' | '<=' | '>' | '>=' | 'in' | 'like' | 'ilike' | '=like' | '=ilike';

/** A parsed, validated domain with negations pushed down to the leaves. */
export type Condition =
  | { readonly kind: 'and' | 'or'; readonly children: readonly Condition[] }
  | {
      readonly kind: 'leaf';
      readonly field: FieldDef;
      readonly op: BaseOp;
      readonly value: unknown;
      readonly negated: boolean;
    }
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

const NEGATED: Partial<Record<Operator, BaseOp>> = {
  '!=': '=',
  'not in': 'in',
  'not like': 'like',
  'not ilike': 'ilike',
};

/**
 * Validates a domain against a model and returns its condition tree. Every problem is
 * a DomainError naming the offending term; nothing here builds SQL.
 *
 * Iterative, as is normalize: a domain nested 100,000 deep is parsed
 * without recursion, so its depth is never limited by the JS stack. (What a database
 * can run is checked when the condition is compiled: query/limits.ts.)
 */
export function parseDomain(schema: ModelSchema, domain: unknown): Condition {
  if (!Array.isArray(domain)) throw new DomainError(`domain must be an array of terms, got ${describe(domain)}`);
  // Operators still waiting for operands, innermost last, with the operands read so far.
  const open: Array<{ kind: 'and' | 'or' | 'not'; at: number; operands: Tree[] }> = [];
  const top: Tree[] = [];
  for (let pos = 0; pos < domain.length; pos++) {
    const t: unknown = domain[pos];
    if (t === '&' || t === '|' || t === '!') {
      open.push({ kind: t === '&' ? 'and' : t === '|' ? 'or' : 'not', at: pos, operands: [] });
      continue;
    }
    // A complete term: it completes the innermost operator, which may complete the next.
    let done: Tree = leaf(schema, t, pos);
    for (;;) {
      const frame = open[open.length - 1];
      if (!frame) {
        top.push(done);
        break;
      }
      frame.operands.push(done);
      if (frame.operands.length < (frame.kind === 'not' ? 1 : 2)) break;
      open.pop();
      done =
        frame.kind === 'not'
          ? { kind: 'not', child: frame.operands[0] }
          : { kind: frame.kind, children: frame.operands };
    }
  }
  if (open.length > 0) {
    const owner = open[open.length - 1].at;
    throw new DomainError(
      `domain ends early: operator ${JSON.stringify(domain[owner])} at position ${owner} lacks an operand`,
    );
  }
  if (top.length === 0) return { kind: 'const', value: true };
  return normalize(top.length === 1 ? top[0] : { kind: 'and', children: top });
}

function leaf(schema: ModelSchema, t: unknown, at: number): Tree {
  const where = new TermLabel(at, t);
  if (!Array.isArray(t) || t.length !== 3)
    throw new DomainError(`${where}: expected '&', '|', '!' or [field, operator, value]`);
  const [name, op, value] = t as [unknown, unknown, unknown];
  if (typeof name !== 'string') throw new DomainError(`${where}: field name must be a string`);
  if (typeof op !== 'string' || !(OPERATORS as readonly string[]).includes(op)) {
    throw new DomainError(`${where}: unknown operator ${safeJson(op)} (use one of ${OPERATORS.join(', ')})`);
  }
  return pathLeaf(schema, name.split('.'), op as Operator, value, where);
}

/**
 * A leaf on a dotted path: each name but the last must be a relation, followed to its
 * target. Walked in a loop and built from the innermost leaf outwards, so a path of any
 * length needs no recursion.
 */
function pathLeaf(schema: ModelSchema, names: readonly string[], op: Operator, value: unknown, where: TermLabel): Tree {
  const hops: Array<{ owner: ModelSchema; field: FieldDef; target: ModelSchema }> = [];
  let model = schema;
  let inner: Tree;
  for (let i = 0; ; i++) {
    const name = names[i];
    const last = i === names.length - 1;
    const field = name === 'id' ? model.idField : model.fields.get(name);
    if (!field) throw new DomainError(`${where}: unknown field "${name}" on model "${model.name}"`);
    const base = NEGATED[op] ?? (op as BaseOp);
    if (!last) {
      if (!field.target)
        throw new DomainError(
          `${where}: "${name}" on model "${model.name}" is not a relation, cannot follow "${names.slice(i).join('.')}"`,
        );
      const target = targetOf(model, field);
      hops.push({ owner: model, field, target });
      model = target;
      continue;
    }
    if (field.type === 'many2one') {
      if (base !== '=' && base !== 'in')
        throw new DomainError(
          `${where}: a many2one compares with =, !=, in and not in (ids); use a path such as "${name}.name" for the rest`,
        );
    } else if (field.type === 'one2many' || field.type === 'many2many') {
      // ['tags', 'in', ids] reads as ['tags.id', 'in', ids]; its negation is "no such tag".
      // As in Odoo, ['tags', '=', null] is "has no tags" and ['tags', '!=', null] "has some".
      if (base !== '=' && base !== 'in')
        throw new DomainError(`${where}: an x2many compares with =, !=, in and not in (ids)`);
      const target = targetOf(model, field);
      const sub: Condition =
        base === '=' && value === null
          ? { kind: 'const', value: true }
          : {
              kind: 'leaf',
              field: target.idField,
              op: base,
              value: checkValue(target, target.idField, base, value, where),
              negated: false,
            };
      inner = {
        kind: 'path',
        owner: model,
        field,
        target,
        sub,
        negated: base === '=' && value === null ? op === '=' : base !== op,
      };
      break;
    }
    inner = {
      kind: 'leaf',
      field,
      op: base,
      value: checkValue(model, field, base, value, where),
      negated: base !== op,
    };
    break;
  }
  for (let i = hops.length - 1; i >= 0; i--)
    inner = { kind: 'path', ...hops[i], sub: inner as Condition, negated: false };
  return inner;
}

function checkValue(schema: ModelSchema, field: FieldDef, op: BaseOp, value: unknown, where: TermLabel): unknown {
  // A domain value is checked as a value of the field without its size limits (built once: an
  // "in" list may hold 200,000 values). A datetime keeps its milliseconds whatever the
  // field's format: it is compared, not stored (see db/dialects/datetime-text.ts).
  let lenient: FieldDef | undefined;
  const one = (v: unknown): unknown => {
    if (v === null) return null;
    if (field.type === 'json') throw new DomainError(`${where}: json fields can only be compared with null`);
    if ((field.type === 'integer' || field.type === 'float') && typeof v === 'number' && Number.isFinite(v)) return v;
    try {
      lenient ??= {
        ...field,
        required: false,
        size: Number.MAX_SAFE_INTEGER,
        scale: 30,
        precision: 65,
        format: undefined,
      };
      return normalizeValue(schema.name, lenient, v);
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
    case 'like':
    case 'ilike':
    case '=like':
    case '=ilike':
      if (field.type !== 'string' && field.type !== 'text')
        throw new DomainError(`${where}: ${op} applies to string fields only`);
      if (typeof value !== 'string') throw new DomainError(`${where}: ${op} needs a string value`);
      if (!wellFormed(value)) throw new DomainError(`${where}: not well-formed Unicode (lone surrogate)`);
      return value;
    default:
      if (value === null) throw new DomainError(`${where}: ${op} cannot compare with null`);
      if (field.type === 'boolean') throw new DomainError(`${where}: booleans support =, !=, in and not in only`);
      return one(value);
  }
}

/**
 * De Morgan and flattening in one pass: '!' is pushed down to the leaves (so each leaf
 * knows whether it is negated) and nested and/or of the same kind become one list.
 * Iterative: an explicit stack of the and/or nodes being rebuilt. A node of its parent's
 * kind appends to the parent's list directly, so flattening a chain nested N deep
 * (`'|', '|', ..., a, b, c`) costs O(N), not O(N²).
 */
function normalize(root: Tree): Condition {
  interface Frame {
    readonly kind: 'and' | 'or';
    readonly source: readonly Tree[];
    readonly negate: boolean;
    next: number;
    /** The list this node's children go to: its own, or its parent's when of the same kind. */
    readonly children: Condition[];
    readonly merged: boolean;
  }
  const stack: Frame[] = [];
  /** Strips '!' off a term; returns it with the negation it carries, or pushes a frame to rebuild it. */
  const enter = (t: Tree, negate: boolean, parent: Frame | undefined): Condition | undefined => {
    while (t.kind === 'not') {
      negate = !negate;
      t = t.child;
    }
    if (t.kind === 'leaf' || t.kind === 'path') return negate ? { ...t, negated: !t.negated } : t;
    const kind = negate ? (t.kind === 'and' ? 'or' : 'and') : t.kind;
    const merged = parent?.kind === kind;
    stack.push({ kind, source: t.children, negate, next: 0, children: merged ? parent.children : [], merged });
    return undefined;
  };
  const first = enter(root, false, undefined);
  if (first) return first;
  for (;;) {
    const frame = stack[stack.length - 1];
    if (frame.next < frame.source.length) {
      const child = enter(frame.source[frame.next++], frame.negate, frame);
      if (child) frame.children.push(child);
      continue;
    }
    stack.pop();
    const parent = stack[stack.length - 1];
    if (!parent) return { kind: frame.kind, children: frame.children };
    if (!frame.merged) parent.children.push({ kind: frame.kind, children: frame.children });
  }
}

/**
 * Names a term in error messages, `domain term 3 (["qty","=",1])`: built only when a
 * message is, since a term may hold an "in" list of 200,000 values.
 */
class TermLabel {
  constructor(
    private readonly at: number,
    private readonly term: unknown,
  ) {}

  toString(): string {
    return `domain term ${this.at} (${safeJson(this.term)})`;
  }
}

/** A recordset, seen from here (query/ cannot import record/): it prints as model(ids). */
function isRecordsetLike(x: unknown): x is { ids: unknown[]; model: string; toString(): string } {
  return (
    x !== null &&
    typeof x === 'object' &&
    Array.isArray((x as { ids?: unknown }).ids) &&
    typeof (x as { model?: unknown }).model === 'string'
  );
}

function safeJson(v: unknown): string {
  try {
    // A recordset in a term prints as model(ids), not as its Environment.
    const s = JSON.stringify(v, (_k, x: unknown) => (isRecordsetLike(x) ? String(x) : x));
    return s === undefined ? String(v) : s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return describe(v);
  }
}
