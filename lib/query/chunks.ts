import type { Dialect } from '../db/dialect';
import type { Key } from '../model/keys';
import { ValidationError } from '../errors';
import { fmt, statementBudget } from './limits';

/**
 * How the writes of statements.ts split what they send (ids, rows, link pairs) into
 * statements that fit the dialect's limits, by count and by bytes. The split is
 * computed in full before the first statement is sent, so what cannot fit at all is
 * an error with nothing sent.
 */

/** Bytes of SQL text per identifier and punctuation around it, an upper bound (utf8: 3 bytes a code unit). */
export function textBytes(...names: readonly string[]): number {
  let n = 64;
  for (const s of names) n += 3 * s.length + 8;
  return n;
}

/**
 * Consecutive runs of `items`, each at most `maxItems` items and at most the statement
 * budget less `fixedBytes` (the statement's own text and the values each statement
 * repeats) by `bytesOf`. An item that alone does not fit is `tooLarge(bytes, room)`.
 */
export function chunked<T>(
  items: readonly T[],
  maxItems: number,
  dialect: Dialect,
  fixedBytes: number,
  bytesOf: (item: T) => number,
  tooLarge: (bytes: number, room: number) => Error,
): T[][] {
  const room = statementBudget(dialect.limits) - fixedBytes;
  if (room <= 0) throw tooLarge(fixedBytes, statementBudget(dialect.limits));
  const out: T[][] = [];
  let current: T[] = [];
  let used = 0;
  for (const item of items) {
    const bytes = bytesOf(item);
    if (bytes > room) throw tooLarge(bytes + fixedBytes, room + fixedBytes);
    if (current.length >= maxItems || used + bytes > room) {
      out.push(current);
      current = [];
      used = 0;
    }
    current.push(item);
    used += bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Key lists of at most `maxIds` keys a statement, within the statement's bytes. An empty
 * list is one empty chunk when `keepEmpty` (for statements that run even so). A string
 * key counts twice: an exact key test may repeat the list (Dialect.whereKeyIn).
 */
export function idChunks<K extends Key>(
  dialect: Dialect,
  ids: readonly K[],
  maxIds: number,
  fixedBytes: number,
  keepEmpty = false,
): K[][] {
  if (ids.length === 0) return keepEmpty ? [[]] : [];
  const bytesOf = (id: K) => (typeof id === 'string' ? 2 * dialect.valueBytes(id) + 4 : dialect.valueBytes(id) + 2);
  return chunked(ids, maxIds, dialect, fixedBytes, bytesOf, (bytes, room) =>
    tooLargeError('keys', 'a statement', 'one key', bytes, room, dialect),
  );
}

/**
 * The error for values that cannot fit in one statement: a ValidationError naming the
 * dialect's limit, never a value. E.g. where "item.create", statement "an INSERT", what
 * "one record".
 */
export function tooLargeError(
  where: string,
  statement: string,
  what: string,
  bytes: number,
  room: number,
  dialect: Dialect,
): ValidationError {
  const name = dialect.limits.names.statementBytes ?? 'its limit';
  return new ValidationError(
    `${where}: ${statement} of ${fmt(bytes)} bytes would be needed for ${what}, more than ${dialect.name} accepts in one statement ` +
      `(${fmt(room)} with proxorm's margin; ${name} is ${fmt(dialect.limits.statementBytes)}); store less in one record or raise ${name}`,
  );
}
