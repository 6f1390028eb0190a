import type { Dialect } from '../db/dialect';
import type { Condition, PathCondition } from './domain';
import { childrenOf } from './shape';

/**
 * What the SQL where.ts writes for a (shaped) condition costs against each of
 * StatementLimits, measured before it is built. Meant as upper bounds: a measure may
 * exceed what the database counts, and should never fall short of it. The constants
 * are those of the SQL where.ts writes, calibrated against SQLite 3.53 and MariaDB
 * 10.11 (alternating and/or, negated leaves, IN lists, likes, dotted paths of each
 * relation type: each accepted up to the depth the database runs, or fewer);
 * __tests__/limits.test.ts runs the deepest domains admitted.
 */
export interface ConditionMeasure {
  /** SQLite's expression-tree height of the clause (subqueries included, as SQLite counts them). */
  readonly h: number;
  /** Largest sum of heights resolved inside subqueries of the clause (SQLite adds it to `h`). */
  readonly sub: number;
  /** Parser stack entries at the clause's deepest point. */
  readonly p: number;
  /** Nesting in groups (StatementLimits.nesting). */
  readonly n: number;
  /** SELECTs nested in the clause. */
  readonly s: number;
  /** Bound values (an IN list is one: SQLite binds it as one JSON array). */
  readonly binds: number;
  /** Table references: a subquery's FROM, SQLite's json_each of an IN list. */
  readonly refs: number;
  /** Equality leaves on columns without an index joined by AND at the clause's top (SQLite's planner weighs one automatic index each). */
  readonly eq: number;
  /** The largest `eq` of a subquery inside the clause. */
  readonly eqSub: number;
  /** Upper bound of the clause's bytes, text and values (as Dialect.valueBytes counts them). */
  readonly bytes: number;
}

type Shape = Pick<ConditionMeasure, 'h' | 'sub' | 'p' | 'n' | 's' | 'binds' | 'refs'>;

/** Every measure is built here, with one shape of object (the tree may have 100,000 nodes). */
function make(
  h: number,
  sub: number,
  p: number,
  n: number,
  s: number,
  binds: number,
  refs: number,
  eq: number,
  eqSub: number,
  bytes: number,
): ConditionMeasure {
  return { h, sub, p, n, s, binds, refs, eq, eqSub, bytes };
}

/** A plain predicate, `t.c = ?`: a qualified column is 2 high, the comparison 3; 3 parser entries (`t . c`). */
const PREDICATE: Shape = { h: 3, sub: 0, p: 3, n: 1, s: 0, binds: 1, refs: 0 };
/** `proxorm_like(t.c, ?, ?)` / `LOWER(t.c) LIKE LOWER(?) ESCAPE ?`: a function call is 2 parser entries more. */
const LIKE: Shape = { ...PREDICATE, p: 5, n: 2, binds: 2 };
/** `t.c IS NULL`, `1 = 1`: nothing bound. */
const NO_VALUE: Shape = { ...PREDICATE, binds: 0 };
/**
 * An IN list: SQLite's `t.c IN (SELECT value FROM json_each(?))` (a shallow subquery: 1
 * more to resolve, 15 parser entries, one table reference), MySQL's `t.c IN (?, ...)`.
 * Joined by OR it is a group of its own.
 */
const IN_LIST: Shape = { h: 3, sub: 1, p: 15, n: 1, s: 0, binds: 1, refs: 1 };
/** What a leaf that also takes or refuses NULL adds: `(not (pred) or t.c is null)`. */
const NULL_GROUP = { h: 2, p: 3, n: 2 };
/** What a subquery `t.c IN (SELECT t2.id FROM t2 WHERE w)` adds in parser entries and nesting units. */
const SUBQUERY = { p: 16, n: 4 };
/** Bytes of SQL text a subquery adds, besides identifiers. */
const SUBQUERY_TEXT = 64;

/** Measures a shaped condition (shape.ts) compiled on `table`. Iterative. */
export function measureCondition(root: Condition, rootTable: string, dialect: Dialect): ConditionMeasure {
  interface Frame {
    readonly node: Condition;
    readonly table: string;
    readonly kids: readonly Condition[];
    next: number;
    readonly out: ConditionMeasure[];
  }
  const frame = (node: Condition, table: string): Frame => ({ node, table, kids: childrenOf(node), next: 0, out: [] });
  const stack: Frame[] = [frame(root, rootTable)];
  for (;;) {
    const f = stack[stack.length - 1];
    if (f.next < f.kids.length) {
      const kid = f.kids[f.next++];
      const table = f.node.kind === 'path' ? f.node.target.table : f.table;
      if (kid.kind === 'leaf') f.out.push(leafMeasure(kid, table, f.node.kind === 'or', dialect));
      else if (kid.kind === 'const') f.out.push(constMeasure());
      else stack.push(frame(kid, table));
      continue;
    }
    stack.pop();
    const { node } = f;
    const m =
      node.kind === 'and' || node.kind === 'or'
        ? chainMeasure(node.kind, f.out)
        : node.kind === 'path'
          ? pathMeasure(node, f.out[0], f.table)
          : node.kind === 'leaf'
            ? leafMeasure(node, f.table, false, dialect)
            : constMeasure();
    const parent = stack[stack.length - 1];
    if (!parent) return m;
    parent.out.push(m);
  }
}

function constMeasure(): ConditionMeasure {
  return make(2, 0, NO_VALUE.p, NO_VALUE.n, 0, 0, 0, 0, 0, 8);
}

function leafMeasure(
  leaf: Extract<Condition, { kind: 'leaf' }>,
  table: string,
  inOr: boolean,
  dialect: Dialect,
): ConditionMeasure {
  const list = leaf.op === 'in' ? (leaf.value as readonly unknown[]) : undefined;
  const like = leaf.op.endsWith('like');
  let values = 0;
  if (list) for (const v of list) values += dialect.valueBytes(v) + 2;
  // A like pattern is the value with its % _ \ escaped, between two %; then the escape character.
  else if (like) values = 2 * dialect.valueBytes(leaf.value) + 8;
  else values = dialect.valueBytes(leaf.value);
  const grouped = leaf.negated || (list !== undefined && list.includes(null));
  const base: Shape = list ? IN_LIST : like ? LIKE : leaf.value === null ? NO_VALUE : PREDICATE;
  // In an OR group, an IN list that is not in a group already is one of its own.
  const own = list && inOr && !grouped ? 1 : 0;
  // The column appears up to three times (predicate, NOT, IS NULL), each qualified.
  const bytes = 3 * (3 * (table.length + leaf.field.column.length) + 8) + 48 + values;
  const indexed = leaf.field.unique || leaf.field.index || leaf.field.column === 'id';
  const eq = leaf.op === '=' && !leaf.negated && leaf.value !== null && !indexed ? 1 : 0;
  return grouped
    ? make(
        base.h + NULL_GROUP.h,
        base.sub,
        base.p + NULL_GROUP.p,
        base.n + NULL_GROUP.n,
        0,
        base.binds,
        base.refs,
        0,
        0,
        bytes,
      )
    : make(base.h, base.sub, base.p + own, base.n + own, 0, base.binds, base.refs, eq, 0, bytes);
}

/** `(c1 OP c2 OP ... ck)`: SQLite builds it left-deep, one level per operator. */
function chainMeasure(kind: 'and' | 'or', kids: readonly ConditionMeasure[]): ConditionMeasure {
  let { h, p } = kids[0];
  let sub = 0,
    n = 0,
    s = 0,
    binds = 0,
    refs = 0,
    eq = 0,
    eqSub = 0,
    bytes = 2;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i];
    if (i > 0) {
      h = Math.max(h, k.h) + 1;
      p = Math.max(p, 2 + k.p);
    }
    sub = Math.max(sub, k.sub);
    n = Math.max(n, k.n);
    s = Math.max(s, k.s);
    binds += k.binds;
    refs += k.refs;
    eq += k.eq;
    eqSub = Math.max(eqSub, k.eqSub);
    bytes += k.bytes + 8;
  }
  // Only terms joined by AND up to the WHERE clause's top reach the planner one by one.
  return make(h, sub, p + 1, n + 1, s, binds, refs, kind === 'and' ? eq : 0, eqSub, bytes);
}

/** where.ts's applyPath: one subquery (two for a many2many), negated as `(c NOT IN (...) OR c IS NULL)`. */
function pathMeasure(cond: PathCondition, w: ConditionMeasure, table: string): ConditionMeasure {
  const names = 3 * (table.length + cond.target.table.length + cond.field.column.length) + 64;
  const select = (where: ConditionMeasure): ConditionMeasure =>
    make(
      Math.max(where.h, 2) + 1,
      where.h + where.sub,
      SUBQUERY.p + where.p,
      SUBQUERY.n + where.n,
      1 + where.s,
      where.binds,
      where.refs + 1,
      0,
      Math.max(where.eq, where.eqSub),
      where.bytes + SUBQUERY_TEXT + names,
    );
  let m: ConditionMeasure;
  if (cond.field.type === 'many2one') m = select(w);
  else if (cond.field.type === 'one2many') {
    // `inverse IS NOT NULL AND w`
    m = select(
      make(
        Math.max(3, w.h) + 1,
        w.sub,
        Math.max(3, 2 + w.p),
        Math.max(1, w.n),
        w.s,
        w.binds,
        w.refs,
        w.eq,
        w.eqSub,
        w.bytes + names,
      ),
    );
  } else m = select(select(w));
  if (!cond.negated) return m;
  return make(
    m.h + NULL_GROUP.h,
    m.sub,
    m.p + NULL_GROUP.p,
    m.n + NULL_GROUP.n,
    m.s,
    m.binds,
    m.refs,
    m.eq,
    m.eqSub,
    m.bytes + names,
  );
}
