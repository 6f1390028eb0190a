import { createHash } from 'node:crypto';
import { MAX_NAME_LENGTH } from '../model/schema';

/**
 * Names sync() derives for indexes, unique constraints and foreign keys.
 *
 * Contract:
 * - A name is `<table>_<columns joined by _>_<kind>`, lower-cased: knex's default, so the
 *   databases created before this file existed keep their names.
 * - No name is longer than MAX_NAME_LENGTH (PostgreSQL's 63, the smallest limit of the
 *   databases supported or planned). A longer one keeps its first characters and ends
 *   with a hash of what it names, so it is stable: the same on every dialect, in every
 *   process, and unchanged when a dialect is added.
 * - `distinct` asks for the hashed form even when the default fits: sync uses it when two
 *   different constraints would get the same default name (`a_b` + `c` and `a` + `b_c`).
 * - A composite primary key (relation tables) is `<table>_pkey`, knex's default, fitted
 *   the same way.
 *
 * Names only decide what a new constraint is called: sync recognises existing ones by
 * their columns, so a database whose constraints carry other names keeps working.
 */

/** What a derived name is for; the suffix of knex's default names. */
export type ConstraintKind = 'index' | 'unique' | 'foreign';

const HASH_LENGTH = 10;

export function constraintName(
  table: string,
  columns: readonly string[],
  kind: ConstraintKind,
  distinct = false,
): string {
  // The hash covers table, columns and kind apart: names that read the same but stand
  // for different constraints get different hashes.
  const what = [table.toLowerCase(), columns.map((c) => c.toLowerCase()), kind];
  return fit(`${table}_${columns.join('_')}_${kind}`.toLowerCase(), what, distinct);
}

/** The name of a composite primary key (relation tables): knex's `<table>_pkey`, fitted. */
export function primaryKeyName(table: string): string {
  return fit(`${table}_pkey`, [table.toLowerCase(), 'pkey'], false);
}

function fit(name: string, what: unknown, distinct: boolean): string {
  if (name.length <= MAX_NAME_LENGTH && !distinct) return name;
  const hash = createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, HASH_LENGTH);
  return `${name.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1)}_${hash}`;
}
