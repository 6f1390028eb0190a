import type { OnDelete } from '../model/field-types';

/**
 * Indexes, unique constraints and foreign keys: what sync wants (…Spec) and what a
 * database has (Existing…), and when the second satisfies the first.
 *
 * Recognition is by columns, never by name: a database made by an older proxorm, by
 * another tool or by hand keeps working whatever its constraints are called. Identifiers
 * compare without case, as both databases compare column names.
 */

/** An index sync wants on a table; `unique` makes it a unique constraint. */
export interface IndexSpec {
  readonly name: string;
  readonly columns: readonly string[];
  readonly unique: boolean;
}

/** A foreign key sync wants: `column` references the key column `targetColumn` of `target`. */
export interface ForeignKeySpec {
  readonly name: string;
  readonly column: string;
  readonly target: string;
  /** The target's primary key column. */
  readonly targetColumn: string;
  /** The rule sync gives a key it creates. */
  readonly onDelete: OnDelete;
  /**
   * The rules an existing key may have (see ruleConflict): the declared one for a
   * many2one; 'cascade' or 'restrict' for a relation table's links.
   */
  readonly accepts: readonly OnDelete[];
}

/** An index as the database reports it (the primary key and unique constraints included). */
export interface ExistingIndex {
  readonly name: string;
  /** In index order; null for a part that is an expression, not a column. */
  readonly columns: ReadonlyArray<string | null>;
  readonly unique: boolean;
  /** Covers only some rows (SQLite's WHERE) or some characters (MySQL's prefix). */
  readonly partial: boolean;
}

/** A foreign key as the database reports it. */
export interface ExistingForeignKey {
  /** '' where the database keeps no name (SQLite). */
  readonly name: string;
  readonly columns: readonly string[];
  readonly target: string;
  /** Referenced columns; empty when the key references the target's primary key implicitly. */
  readonly references: readonly string[];
  /** ON DELETE as the database reports it, upper case: 'NO ACTION', 'RESTRICT', 'CASCADE', 'SET NULL', 'SET DEFAULT'. */
  readonly onDelete: string;
}

export interface TableConstraints {
  readonly indexes: readonly ExistingIndex[];
  readonly foreignKeys: readonly ExistingForeignKey[];
}

const same = (a: string | null, b: string) => a !== null && a.toLowerCase() === b.toLowerCase();
const sameList = (a: ReadonlyArray<string | null>, b: readonly string[]) =>
  a.length === b.length && a.every((x, i) => same(x, b[i]));

/**
 * A unique spec is met by a unique index on exactly its columns (in any order: the
 * same rows are refused); an index spec by any index whose leading columns are its own,
 * since that one serves the same lookups.
 */
export function hasIndex(existing: TableConstraints, spec: IndexSpec): boolean {
  return existing.indexes.some((index) => {
    if (index.partial) return false;
    if (spec.unique) {
      return (
        index.unique &&
        index.columns.length === spec.columns.length &&
        spec.columns.every((c) => index.columns.some((x) => same(x, c)))
      );
    }
    return sameList(index.columns.slice(0, spec.columns.length), spec.columns);
  });
}

/**
 * A foreign key spec is met by a key on exactly its column to the same table's key
 * column (`spec.targetColumn`), whatever its ON DELETE rule: sync does not alter what
 * exists (ruleConflict reports a rule that differs).
 */
export function hasForeignKey(existing: TableConstraints, spec: ForeignKeySpec): boolean {
  return matchingKeys(existing, spec).length > 0;
}

/**
 * An existing key that meets `spec` but whose ON DELETE rule is not one the spec
 * accepts, if any. The cache's relation rules (session/relation-rules.ts) trust the
 * declared rule, so a database that would do something else on a delete is refused.
 * NO ACTION counts as 'restrict': a delete of a referenced row fails either way (they
 * differ only in when a deferred check runs, which proxorm never defers).
 */
export function ruleConflict(existing: TableConstraints, spec: ForeignKeySpec): ExistingForeignKey | undefined {
  return matchingKeys(existing, spec).find((key) => {
    const rule = onDeleteRule(key.onDelete);
    return rule === undefined || !spec.accepts.includes(rule);
  });
}

/** The proxorm rule an ON DELETE clause stands for; undefined for one proxorm has not (SET DEFAULT). */
export function onDeleteRule(sql: string): OnDelete | undefined {
  return RULES[sql.toUpperCase()];
}

const RULES: Readonly<Record<string, OnDelete>> = {
  'NO ACTION': 'restrict',
  RESTRICT: 'restrict',
  CASCADE: 'cascade',
  'SET NULL': 'set null',
};

function matchingKeys(existing: TableConstraints, spec: ForeignKeySpec): ExistingForeignKey[] {
  return existing.foreignKeys.filter(
    (key) =>
      sameList(key.columns, [spec.column]) &&
      same(key.target, spec.target) &&
      (key.references.length === 0 || sameList(key.references, [spec.targetColumn])),
  );
}

/**
 * A foreign key of the database as a DELETE sees it: deleting rows of `target` makes the
 * database change rows of `table` when `onDelete` is CASCADE, SET NULL or SET DEFAULT.
 * Read for every table of the database (Dialect.readDeleteRules), mapped or not.
 */
export interface DeleteRule {
  readonly table: string;
  readonly target: string;
  /** Upper case, as the database reports it: CASCADE, SET NULL, SET DEFAULT, RESTRICT, NO ACTION. */
  readonly onDelete: string;
}

/**
 * The tables whose rows a DELETE from `table` may change through `rules`: the referencing
 * tables of each CASCADE, SET NULL or SET DEFAULT, and, through each CASCADE, what deleting
 * their rows changes in turn. Names compare without case (an over-match only invalidates more).
 */
export function tablesChangedByDelete(rules: readonly DeleteRule[], table: string): Set<string> {
  const changed = new Set<string>();
  const deleted = [table.toLowerCase()];
  const seen = new Set(deleted);
  for (let target = deleted.pop(); target !== undefined; target = deleted.pop()) {
    for (const rule of rules) {
      if (rule.target.toLowerCase() !== target) continue;
      const referencing = rule.table.toLowerCase();
      if (rule.onDelete === 'CASCADE' || rule.onDelete === 'SET NULL' || rule.onDelete === 'SET DEFAULT')
        changed.add(referencing);
      if (rule.onDelete === 'CASCADE' && !seen.has(referencing)) {
        seen.add(referencing);
        deleted.push(referencing);
      }
    }
  }
  return changed;
}
