import type { Knex } from 'knex';
import type { Dialect } from '../db/dialect';
import { inverseOf, relationOf } from '../model/relations';
import type { Condition, PathCondition } from './domain';
import { checkConditionLimits } from './limits';
import { shapeCondition } from './shape';

type Builder = Knex.QueryBuilder;
type LeafCondition = Extract<Condition, { kind: 'leaf' }>;

/** The escape character proxorm uses in LIKE patterns on both databases. */
export const LIKE_ESCAPE = '\\';

/** How a clause joins the clauses before it in its group. */
type Bool = 'and' | 'or';

/**
 * Adds a condition tree to a knex builder as one WHERE clause. Values are always
 * bound; column names come from the schema only.
 *
 * Null semantics are two-valued, as in Odoo: `[f, '!=', v]`, `not in`, `not like` and
 * every negated leaf match rows where f IS NULL, so a `'!'` term is the exact
 * complement of its operand.
 *
 * Before any SQL is built, the condition is shaped (shape.ts: OR-ed equality tests of
 * one field become one IN list, long and/or lists a balanced tree of small groups) and
 * measured against the dialect's limits (measure.ts): what the database
 * could not run is a DomainError here, before a statement is sent (query/limits.ts).
 * Only then does compilation recurse, to a depth those limits bound. Returns an upper
 * bound of the condition's bytes (for limits.checkSearchBytes).
 */
export function applyCondition(
  qb: Builder,
  cond: Condition,
  table: string,
  dialect: Dialect,
): { readonly bytes: number } {
  const shaped = shapeCondition(cond);
  const size = checkConditionLimits(shaped, table, dialect);
  apply(qb, shaped, table, dialect, 'and');
  return size;
}

function apply(qb: Builder, cond: Condition, table: string, dialect: Dialect, bool: Bool): void {
  switch (cond.kind) {
    case 'const':
      raw(qb, bool, cond.value ? '1 = 1' : '1 = 0');
      return;
    case 'and':
    case 'or': {
      const kind = cond.kind;
      group(qb, bool, (b) => {
        for (const c of cond.children) apply(b, c, table, dialect, kind);
      });
      return;
    }
    case 'leaf':
      applyLeaf(qb, cond, `${table}.${cond.field.column}`, dialect, bool);
      return;
    case 'path':
      applyPath(qb, cond, table, dialect, bool);
  }
}

/** A parenthesised group of clauses. (knex ignores the bool of a group's first clause.) */
function group(qb: Builder, bool: Bool, fn: (b: Builder) => void): void {
  if (bool === 'or') qb.orWhere(fn);
  else qb.where(fn);
}

/** `col IS NULL` (`yes`) or `col IS NOT NULL`. */
function isNull(qb: Builder, bool: Bool, col: string, yes: boolean): void {
  if (yes && bool === 'or') qb.orWhereNull(col);
  else if (yes) qb.whereNull(col);
  else if (bool === 'or') qb.orWhereNotNull(col);
  else qb.whereNotNull(col);
}

function raw(qb: Builder, bool: Bool, sql: string, bindings: readonly Knex.RawBinding[] = []): void {
  if (bool === 'or') qb.orWhereRaw(sql, bindings);
  else qb.whereRaw(sql, bindings);
}

/**
 * A dotted path as a subquery: many2one `f IN (SELECT id FROM target WHERE sub)`,
 * one2many `id IN (SELECT inverse FROM target WHERE sub)`, many2many
 * `id IN (SELECT col1 FROM rel WHERE col2 IN (SELECT id FROM target WHERE sub))`.
 * Negated, a NULL many2one counts as "no related record matches".
 */
function applyPath(qb: Builder, cond: PathCondition, table: string, dialect: Dialect, bool: Bool): void {
  const { owner, field, target } = cond;
  const matching = (b: Builder) => {
    b.select(`${target.table}.${target.primaryKey.column}`).from(target.table);
    apply(b, cond.sub, target.table, dialect, 'and');
  };
  let column: string;
  let sub: (b: Builder) => void;
  if (field.type === 'many2one') {
    column = `${table}.${field.column}`;
    sub = matching;
  } else if (field.type === 'one2many') {
    const inverse = `${target.table}.${inverseOf(owner, field).column}`;
    column = `${table}.${owner.primaryKey.column}`;
    sub = (b) => {
      b.select(inverse).from(target.table).whereNotNull(inverse);
      apply(b, cond.sub, target.table, dialect, 'and');
    };
  } else {
    const rel = relationOf(owner, field);
    column = `${table}.${owner.primaryKey.column}`;
    sub = (b) => {
      b.select(`${rel.table}.${rel.column1}`).from(rel.table).whereIn(`${rel.table}.${rel.column2}`, matching);
    };
  }
  if (cond.negated) {
    group(qb, bool, (b) => {
      b.whereNotIn(column, sub).orWhereNull(column);
    });
  } else if (bool === 'or') qb.orWhereIn(column, sub);
  else qb.whereIn(column, sub);
}

/**
 * A leaf, with as few parentheses as its meaning needs: a plain predicate is added as
 * it is; one that must also take (or refuse) NULL rows is a group.
 */
function applyLeaf(qb: Builder, given: LeafCondition, col: string, dialect: Dialect, bool: Bool): void {
  const leaf = storableLeaf(given, dialect);
  const { op, negated } = leaf;
  const value = op.endsWith('like') ? leaf.value : bindValue(leaf, dialect);
  if (op === '=' && value === null) {
    isNull(qb, bool, col, !negated);
    return;
  }
  // base: the predicate on non-null rows (joined with `bool`); matchesNull: whether the
  // leaf also takes NULL rows.
  let base: ((b: Builder, bool: Bool) => void) | undefined;
  let matchesNull = false;
  switch (op) {
    case 'in': {
      const list = value as unknown[];
      const nonNull = list.filter((v) => v !== null);
      matchesNull = nonNull.length < list.length;
      if (nonNull.length > 0) {
        // The dialect adds its IN with AND: joined by OR, it needs a group of its own.
        base = (b, bl) => {
          if (bl === 'or') {
            b.orWhere((x) => {
              dialect.whereIn(x, col, nonNull);
            });
          } else dialect.whereIn(b, col, nonNull);
        };
      }
      break;
    }
    case 'like':
    case 'ilike':
    case '=like':
    case '=ilike': {
      const pattern = op.startsWith('=') ? trailingEscapeLiteral(value as string) : `%${escapeLike(value as string)}%`;
      const sql = op.endsWith('ilike') ? dialect.ilikeSql : dialect.likeSql;
      base = (b, bl) => raw(b, bl, sql, [col, pattern, LIKE_ESCAPE]);
      break;
    }
    default: {
      const placeholder = dialect.valueSql(leaf.field, value);
      base = (b, bl) => {
        if (placeholder !== '?') raw(b, bl, `?? ${op} ${placeholder}`, [col, value as Knex.Value]);
        else if (bl === 'or') b.orWhere(col, op, value as Knex.Value);
        else b.where(col, op, value as Knex.Value);
      };
    }
  }
  const pred = base;
  if (!negated) {
    // f matches, or (for an IN list holding null) f IS NULL.
    if (!pred) {
      if (matchesNull) isNull(qb, bool, col, true);
      else raw(qb, bool, '1 = 0');
    } else if (!matchesNull) pred(qb, bool);
    else
      group(qb, bool, (b) => {
        pred(b, 'and');
        b.orWhereNull(col);
      });
  } else if (matchesNull) {
    // NOT (f matches) AND f IS NOT NULL.
    if (!pred) isNull(qb, bool, col, false);
    else {
      group(qb, bool, (b) => {
        b.whereNot((x) => pred(x, 'and')).whereNotNull(col);
      });
    }
  } else if (!pred) {
    raw(qb, bool, '1 = 1');
  } else {
    // NOT (f matches) OR f IS NULL.
    group(qb, bool, (b) => {
      b.whereNot((x) => pred(x, 'and')).orWhereNull(col);
    });
  }
}

/**
 * The leaf with its string values as the database can hold them, and the same meaning:
 * a string holding a character no row can hold (Dialect.unstorableAt: PostgreSQL's
 * U+0000) equals no stored value and contains no stored value's pattern, so `=` and the
 * likes with it match nothing (an "in" list drops it). Compared by order, it stands
 * between its prefix (the part before that character) and every string the prefix
 * continues with another character: `< v` and `<= v` are `<= prefix`, `> v` and `>= v`
 * are `> prefix` (exact where strings compare by code point, as on the tables proxorm
 * creates). Negation applies on top, unchanged.
 */
function storableLeaf(leaf: LeafCondition, dialect: Dialect): LeafCondition {
  const at = (v: unknown) => (typeof v === 'string' ? dialect.unstorableAt(v) : -1);
  switch (leaf.op) {
    case 'in': {
      const list = leaf.value as unknown[];
      return list.some((v) => at(v) >= 0) ? { ...leaf, value: list.filter((v) => at(v) < 0) } : leaf;
    }
    case '=':
    case 'like':
    case 'ilike':
    case '=like':
    case '=ilike':
      return at(leaf.value) >= 0 ? { ...leaf, op: 'in', value: [] } : leaf;
    default: {
      const cut = at(leaf.value);
      if (cut < 0) return leaf;
      const prefix = (leaf.value as string).slice(0, cut);
      return { ...leaf, op: leaf.op === '<' || leaf.op === '<=' ? '<=' : '>', value: prefix };
    }
  }
}

/** Domain values are canonical JS values: convert them as a write would. */
function bindValue(leaf: LeafCondition, dialect: Dialect): unknown {
  const conv = (v: unknown) => (v === null ? null : dialect.toDb(leaf.field, v));
  return Array.isArray(leaf.value) ? leaf.value.map(conv) : conv(leaf.value);
}

/**
 * A raw pattern (=like, =ilike) whose last character is an escape with nothing after it:
 * that escape is a literal character (as MySQL and proxorm's SQLite functions read it;
 * PostgreSQL refuses such a pattern), so it is written escaped. An even run of escapes at
 * the end is escaped escapes already.
 */
function trailingEscapeLiteral(pattern: string): string {
  let run = 0;
  while (run < pattern.length && pattern[pattern.length - 1 - run] === LIKE_ESCAPE) run++;
  return run % 2 === 1 ? pattern + LIKE_ESCAPE : pattern;
}

/** `like` / `ilike` match the value as a substring: its own % and _ are literal. */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => LIKE_ESCAPE + c);
}
