import type { Knex } from 'knex';
import type { Dialect } from '../db/dialect';
import { inverseOf, relationOf } from '../model/relations';
import { ID_COLUMN } from '../model/schema';
import type { Condition, PathCondition } from './domain';

type Builder = Knex.QueryBuilder;
type LeafCondition = Extract<Condition, { kind: 'leaf' }>;

/** The escape character proxorm uses in LIKE patterns on both databases. */
export const LIKE_ESCAPE = '\\';

/**
 * Adds a condition tree to a knex builder as one parenthesised WHERE group. Values are
 * always bound; column names come from the schema only.
 *
 * Null semantics are two-valued, as in Odoo: `[f, '!=', v]`, `not in`, `not like` and
 * every negated leaf match rows where f IS NULL, so a `'!'` term is the exact
 * complement of its operand.
 */
export function applyCondition(qb: Builder, cond: Condition, table: string, dialect: Dialect): void {
  switch (cond.kind) {
    case 'const':
      qb.whereRaw(cond.value ? '1 = 1' : '1 = 0');
      return;
    case 'and':
      qb.where((b) => {
        for (const c of cond.children) b.andWhere((s) => applyCondition(s, c, table, dialect));
      });
      return;
    case 'or':
      qb.where((b) => {
        for (const c of cond.children) b.orWhere((s) => applyCondition(s, c, table, dialect));
      });
      return;
    case 'leaf':
      applyLeaf(qb, cond, `${table}.${cond.field.column}`, dialect);
      return;
    case 'path':
      applyPath(qb, cond, table, dialect);
  }
}

/**
 * A dotted path as a subquery: many2one `f IN (SELECT id FROM target WHERE sub)`,
 * one2many `id IN (SELECT inverse FROM target WHERE sub)`, many2many
 * `id IN (SELECT col1 FROM rel WHERE col2 IN (SELECT id FROM target WHERE sub))`.
 * Negated, a NULL many2one counts as "no related record matches".
 */
function applyPath(qb: Builder, cond: PathCondition, table: string, dialect: Dialect): void {
  const { owner, field, target } = cond;
  const matching = (b: Builder) => {
    b.select(`${target.table}.${ID_COLUMN}`).from(target.table);
    applyCondition(b, cond.sub, target.table, dialect);
  };
  let column: string;
  let sub: (b: Builder) => void;
  if (field.type === 'many2one') {
    column = `${table}.${field.column}`;
    sub = matching;
  } else if (field.type === 'one2many') {
    const inverse = `${target.table}.${inverseOf(owner, field).column}`;
    column = `${table}.${ID_COLUMN}`;
    sub = (b) => {
      b.select(inverse).from(target.table).whereNotNull(inverse);
      applyCondition(b, cond.sub, target.table, dialect);
    };
  } else {
    const rel = relationOf(owner, field);
    column = `${table}.${ID_COLUMN}`;
    sub = (b) => b.select(`${rel.table}.${rel.column1}`).from(rel.table).whereIn(`${rel.table}.${rel.column2}`, matching);
  }
  if (!cond.negated) qb.whereIn(column, sub);
  else qb.where((b) => b.whereNotIn(column, sub).orWhereNull(column));
}

function applyLeaf(qb: Builder, leaf: LeafCondition, col: string, dialect: Dialect): void {
  const { op, negated } = leaf;
  const value = op.endsWith('like') ? leaf.value : bindValue(leaf, dialect);
  if (op === '=' && value === null) {
    if (negated) qb.whereNotNull(col);
    else qb.whereNull(col);
    return;
  }
  // base: the predicate on non-null rows; matchesNull: whether the leaf also takes NULL rows.
  let base: ((b: Builder) => void) | undefined;
  let matchesNull = false;
  switch (op) {
    case 'in': {
      const list = value as unknown[];
      const nonNull = list.filter((v) => v !== null);
      matchesNull = nonNull.length < list.length;
      if (nonNull.length > 0) {
        base = (b) => dialect.whereIn(b, col, nonNull);
      }
      break;
    }
    case 'like': case 'ilike': case '=like': case '=ilike': {
      const raw = op.startsWith('=');
      const pattern = raw ? (value as string) : `%${escapeLike(value as string)}%`;
      const sql = op.endsWith('ilike') ? dialect.ilikeSql : dialect.likeSql;
      base = (b) => b.whereRaw(sql, [col, pattern, LIKE_ESCAPE]);
      break;
    }
    default:
      base = (b) => b.where(col, op, value as Knex.Value);
  }
  const whereBase = (b: Builder) => (base ? b.where(base) : b.whereRaw('1 = 0'));
  if (!negated) {
    qb.where((b) => {
      whereBase(b);
      if (matchesNull) b.orWhereNull(col);
    });
  } else if (matchesNull) {
    qb.where((b) => {
      if (base) b.whereNot(base);
      b.whereNotNull(col);
    });
  } else {
    qb.where((b) => {
      if (base) b.whereNot(base);
      else b.whereRaw('1 = 1');
      b.orWhereNull(col);
    });
  }
}

/** Domain values are canonical JS values: convert them as a write would. */
function bindValue(leaf: LeafCondition, dialect: Dialect): unknown {
  const conv = (v: unknown) => (v === null ? null : dialect.toDb(leaf.field, v));
  return Array.isArray(leaf.value) ? leaf.value.map(conv) : conv(leaf.value);
}

/** `like` / `ilike` match the value as a substring: its own % and _ are literal. */
function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => LIKE_ESCAPE + c);
}
