import type { StatementLimits } from '../../dialect';

/**
 * What one statement may hold on PostgreSQL (query/limits.ts keeps every statement within it).
 *
 * - Bound parameters: the protocol counts them in 16 bits, 65,535 a statement (IN lists
 *   are one array parameter, so only multi-row INSERTs come near it).
 * - Bytes: a protocol message (the statement's text, or its bound values) is at most
 *   1 GB less one byte (PQ_LARGE_MESSAGE_LIMIT).
 * - Depth: PostgreSQL checks its stack against max_stack_depth (2 MB by default) while it
 *   parses and plans an expression, and has no other limit on nesting. PostgreSQL 15 with
 *   the default ran 1,570 alternating and/or groups and 843 nested many2one subqueries;
 *   `nesting` admits 999 of the first and 249 of the second (a subquery is 4 units), a margin
 *   (__tests__/limits.test.ts runs the deepest admitted).
 */
export const POSTGRES_LIMITS: StatementLimits = {
  exprDepth: Infinity,
  parserDepth: Infinity,
  nesting: 1000,
  subqueryDepth: Infinity,
  statementBytes: 1_073_741_823,
  boundValues: 65_535,
  tableReferences: Infinity,
  plannerTerms: Infinity,
  names: {
    nesting: 'max_stack_depth',
    statementBytes: "PostgreSQL's 1 GB message limit",
    boundValues: "PostgreSQL's 65,535 bound parameters",
  },
};

/**
 * Bytes a bound value adds to the Bind message pg sends (its length word and its text;
 * an array, an IN list, as PostgreSQL's array literal, each element quoted and escaped).
 */
export function valueBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return 4 + Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number' || typeof value === 'bigint') return 4 + String(value).length;
  if (typeof value === 'boolean') return 5;
  if (value instanceof Date) return 4 + 29;
  if (Buffer.isBuffer(value)) return 4 + value.length;
  if (Array.isArray(value)) {
    let n = 6;
    // An element is quoted (2), its quotes and backslashes escaped (at most doubled), a comma.
    for (const v of value as unknown[]) n += 2 * valueBytes(v) - 8 + 3;
    return n;
  }
  // Other objects do not reach here (values are checked against their field first).
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- see above
  return 4 + Buffer.byteLength(String(value), 'utf8');
}
