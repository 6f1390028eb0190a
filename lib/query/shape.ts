import type { FieldDef } from '../model/field-types';
import type { Condition } from './domain';

/**
 * Most children of one parenthesised and/or group. A longer list (a flat AND of 100,000
 * leaves) is compiled as a balanced tree of groups: SQLite parses `a AND b AND c` as a
 * left-deep tree, one level per operator, so an unsplit list of 1,000 leaves would
 * exceed its expression depth; split, 100,000 leaves are 6 levels of groups.
 */
export const GROUP_FANOUT = 8;

/** The children of a node of the condition tree (a path's only child is its sub-condition). */
export function childrenOf(c: Condition): readonly Condition[] {
  return c.kind === 'and' || c.kind === 'or' ? c.children : c.kind === 'path' ? [c.sub] : [];
}

/**
 * The condition as where.ts compiles it: equality tests of one field merged into one IN
 * list (mergeEqualities), then every and/or list of more than GROUP_FANOUT children
 * made a balanced tree of groups of at most GROUP_FANOUT (associativity: the same rows
 * match). Iterative: the condition may be nested 100,000 deep.
 */
export function shapeCondition(root: Condition): Condition {
  interface Frame {
    readonly node: Condition;
    readonly kids: readonly Condition[];
    next: number;
    readonly out: Condition[];
  }
  const frame = (node: Condition): Frame => ({ node, kids: childrenOf(node), next: 0, out: [] });
  const stack: Frame[] = [frame(root)];
  for (;;) {
    const f = stack[stack.length - 1];
    if (f.next < f.kids.length) {
      stack.push(frame(f.kids[f.next++]));
      continue;
    }
    stack.pop();
    const { node } = f;
    const built: Condition =
      node.kind === 'and' || node.kind === 'or'
        ? group(node.kind, mergeEqualities(node.kind, f.out))
        : node.kind === 'path'
          ? { ...node, sub: f.out[0] }
          : node;
    const parent = stack[stack.length - 1];
    if (!parent) return built;
    parent.out.push(built);
  }
}

/**
 * Equality tests of one field joined by OR are one IN list (`f = 1 OR f = 2 OR f IN (3)`
 * is `f IN (1, 2, 3)`), and so are their negations joined by AND (`f != 1 AND f != 2` is
 * `f NOT IN (1, 2)`): the same rows match, null included (where.ts gives `in` and
 * `not in` the null semantics of the leaves they replace). A list of 100,000 such
 * terms is then one leaf: one bound value on SQLite, and nothing for its planner to weigh.
 */
function mergeEqualities(kind: 'and' | 'or', children: readonly Condition[]): readonly Condition[] {
  const negated = kind === 'and';
  const groups = new Map<FieldDef, { at: number; values: unknown[]; terms: number }>();
  const out: Condition[] = [];
  for (const c of children) {
    if (c.kind === 'leaf' && c.negated === negated && (c.op === '=' || c.op === 'in')) {
      const values = c.op === 'in' ? (c.value as readonly unknown[]) : [c.value];
      const group = groups.get(c.field);
      if (group) {
        for (const v of values) group.values.push(v);
        group.terms++;
        continue; // merged into the field's first term
      }
      groups.set(c.field, { at: out.length, values: [...values], terms: 1 });
    }
    out.push(c);
  }
  if (out.length === children.length) return children;
  for (const [field, { at, values, terms }] of groups) {
    if (terms > 1) out[at] = { kind: 'leaf', field, op: 'in', value: [...new Set(values)], negated };
  }
  return out;
}

/** An and/or of `children` (the child itself when one is left after merging). */
function group(kind: 'and' | 'or', children: readonly Condition[]): Condition {
  return children.length === 1 ? children[0] : balance(kind, children);
}

/** Groups of consecutive children, each a balanced tree of at most GROUP_FANOUT per level. */
function balance(kind: 'and' | 'or', children: readonly Condition[]): Condition {
  if (children.length <= GROUP_FANOUT) return { kind, children };
  let size = 1;
  while (size * GROUP_FANOUT < children.length) size *= GROUP_FANOUT;
  const groups: Condition[] = [];
  for (let i = 0; i < children.length; i += size) {
    const chunk = children.slice(i, i + size);
    groups.push(chunk.length === 1 ? chunk[0] : balance(kind, chunk));
  }
  return { kind, children: groups };
}
