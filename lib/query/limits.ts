import type { Knex } from 'knex';
import type { Dialect, StatementLimits } from '../db/dialect';
import { DomainError } from '../errors';
import type { Condition } from './domain';
import { measureCondition } from './measure';

/**
 * Refuses, with a DomainError before any statement is sent, a search the database's
 * limits (Dialect.limits) would make it reject: too deep, too many values, too many
 * bytes. A search is one statement and is never split (that would change what its
 * limit and offset mean). Messages name the limit, never a value.
 */

/** A statement's byte budget: the dialect's limit less a margin for what the estimates leave out. */
export function statementBudget(limits: StatementLimits): number {
  return Math.floor(limits.statementBytes * 0.98) - 4096;
}

/**
 * Checks a shaped condition (shape.ts) compiled on `table` against every limit but the
 * statement's bytes; returns an upper bound of its bytes, for checkSearchBytes.
 */
export function checkConditionLimits(cond: Condition, table: string, dialect: Dialect): { readonly bytes: number } {
  const m = measureCondition(cond, table, dialect);
  const { limits } = dialect;
  const refuse = (key: Exclude<keyof StatementLimits, 'names'>, what: string, value: number, hint: string) => {
    const limit = limits[key];
    if (value <= limit) return;
    const name = limits.names[key];
    throw new DomainError(
      `domain too large for ${dialect.name}: its SQL would need ${what} of ${fmt(value)}, over the limit of ${fmt(limit)}${name ? ` (${name})` : ''}; ${hint}`,
    );
  };
  const nested = "long flat lists of '&' or '|' are fine, nesting that alternates is not";
  refuse('exprDepth', 'an expression depth', m.h + m.sub, nested);
  // `select ... from ... where` itself holds 7 entries of the parser's stack.
  refuse('parserDepth', 'a parser stack', m.p + 7, nested);
  refuse('nesting', 'a nesting', m.n, nested);
  refuse('subqueryDepth', 'nested subqueries', m.s, 'use shorter dotted paths');
  const fewer = 'use fewer terms (one "in" list rather than many "=" terms)';
  refuse('boundValues', 'a count of bound values', m.binds, fewer);
  refuse('tableReferences', 'a count of table references', m.refs + 1, fewer);
  refuse('plannerTerms', 'a count of equality terms on columns without an index', Math.max(m.eq, m.eqSub), fewer);
  return m;
}

/**
 * Refuses a search statement larger than the dialect accepts (MySQL's max_allowed_packet),
 * before it is sent. `estimate` is an upper bound of the condition's bytes: only when it
 * is near the limit is the statement compiled to count its bytes exactly.
 */
export function checkSearchBytes(qb: Knex.QueryBuilder, dialect: Dialect, estimate: { readonly bytes: number }): void {
  const budget = statementBudget(dialect.limits);
  if (estimate.bytes + 4096 <= budget) return;
  const bytes = statementBytes(qb, dialect);
  if (bytes <= budget) return;
  const name = dialect.limits.names.statementBytes;
  throw new DomainError(
    `statement too large: this search would send ${fmt(bytes)} bytes to ${dialect.name}, over the limit of ` +
      `${fmt(dialect.limits.statementBytes)}${name ? ` (${name})` : ''}; a search is one statement and is never split: ` +
      'narrow the domain (e.g. a shorter "in" list)',
  );
}

/** Bytes of a built statement as the server receives it (values are counted, never copied). */
export function statementBytes(qb: Knex.QueryBuilder, dialect: Dialect): number {
  const { sql, bindings } = qb.toSQL();
  // Each `?` gives way to a value.
  let bytes = Buffer.byteLength(sql, 'utf8') - bindings.length;
  for (const b of bindings) bytes += dialect.valueBytes(b);
  return bytes;
}

export function fmt(n: number): string {
  return n.toLocaleString('en-US');
}
